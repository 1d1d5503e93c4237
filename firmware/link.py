# The device's MQTT 3.1.1 client: QoS0/1 publish and subscribe, keepalive,
# reconnect with backoff and jitter, on one non-blocking socket.
#
# No asyncio: the caller's loop calls step(timeout_ms) over and over (see
# firmware/app.py). step() runs the link's timers (connect deadline, backoff,
# ping, silent broker), waits on the socket with select.poll for at most
# timeout_ms, and reads and writes what the socket allows. Nothing blocks
# longer than that, so a press never waits on the network. Packets are
# built and parsed in firmware/mqtt_packet.py.
import select
import socket
from time import sleep_ms, ticks_add, ticks_diff, ticks_ms

from firmware import mqtt_packet as mp
from protocol.compat import const

_STABLE_MS = const(10000)  # a connection that lived this long resets the backoff
_CONNECT_TIMEOUT_MS = const(10000)  # TCP + CONNECT + CONNACK, upper bound
_STALL_MS = const(5000)  # bytes that could not be written for this long: the link is dead
_OUT_SIZE = const(1152)  # the send buffer by default: a rating (up to 1 KB) with its header
_HEAD_SIZE = const(5)  # fixed header: type byte + up to 4 length bytes
_CONTROL = const(64)  # largest inbound packet other than PUBLISH we read
_IN = const(0x0001)  # select.POLLIN
_OUT = const(0x0004)  # select.POLLOUT
_BROKEN = const(0x0018)  # select.POLLERR | select.POLLHUP
# States of the connection.
_DOWN = const(0)  # no socket: waiting for the next attempt
_OPENING = const(1)  # TCP connect and CONNECT sent, waiting for CONNACK
_UP = const(2)  # connected
_CLOSED = const(3)  # close() was called
_NO_NETWORK = const(4)  # no network under the link (Wi-Fi down): no attempt until it is back
# Link.stats: counters in a list, by these indices (names: STATS.split()).
# A dict's keys would be eleven more names in the device's qstr pool.
STATS = (
    "attempts connects refused disconnects published acked received timeouts oversized"
    " suback_failures handler_errors"
)
_ATTEMPTS = const(0)
_CONNECTS = const(1)
_REFUSED = const(2)
_DISCONNECTS = const(3)
_PUBLISHED = const(4)
_ACKED = const(5)
_RECEIVED = const(6)
_TIMEOUTS = const(7)
_OVERSIZED = const(8)
_SUBACK_FAILURES = const(9)
_HANDLER_ERRORS = const(10)


class Link:
    def __init__(
        self,
        host,
        port,
        client_id,
        user=None,
        password=None,
        keepalive=30,
        will=None,
        ssl=None,
        on_message=None,
        on_connect=None,
        clean_session=True,
        backoff_min_ms=500,
        backoff_max_ms=30000,
        rand=None,
        log=print,
        max_payload=mp.MAX_PAYLOAD,
        rx=None,
        on_puback=None,
        puback_ms=5000,
        tx=None,
    ):
        if not 0 < keepalive <= 0xFFFF:  # 0 would leave reads without a deadline
            raise ValueError("keepalive must be 1..65535 seconds")
        if not 0 < backoff_min_ms <= backoff_max_ms:
            raise ValueError("need 0 < backoff_min_ms <= backoff_max_ms")
        if will is not None and len(will) != 4:
            raise ValueError("will is (topic, payload, qos, retain)")
        # Inbound PUBLISH bodies (topic, packet id, payload) are read into
        # `rx` when given (a buffer the caller allocated early, while the heap
        # was whole; payloads up to len(rx) - mp.TOPIC_ROOM), else into a
        # bytearray of the body's size (payloads up to max_payload).
        # on_message gets a memoryview, valid only during the call. A longer
        # body drops the connection (Oversized) before any of it is read.
        self._rx = rx
        self.max_body = len(rx) if rx is not None else max_payload + mp.TOPIC_ROOM
        self.host = host
        self.port = port
        self._connect_packet = mp.connect(client_id, keepalive, clean_session, user, password, will)
        self.keepalive = keepalive
        self.on_message = on_message
        self.on_connect = on_connect
        self.on_puback = on_puback  # on_puback(pid): the broker has the QoS1 publish pid
        self.puback_ms = puback_ms  # a PUBACK later than this is not counted
        self._ssl = ssl
        self._bmin = backoff_min_ms
        self._bmax = backoff_max_ms
        self._base = backoff_min_ms
        # A lambda, not a named function: no name in the qstr pool (README, "Device heap").
        self._rand = rand or (lambda: __import__("random").getrandbits(16) / 65536)
        self._log = log or (lambda line: None)
        self.connected = False
        self.refusal = 0  # last CONNACK return code that refused us (0: none)
        self.suback_failures = []  # topic filters the broker refused (SUBACK 0x80)
        self.stats = [0] * (_HANDLER_ERRORS + 1)  # by index: STATS
        self._topics = []  # [(topic_filter, qos)], re-sent on every connect
        # Packet id -> ticks_ms when a QoS1 publish was written (awaiting its
        # PUBACK), or the list of topic filters a SUBSCRIBE asked for (SUBACK).
        self._pending = {}
        self._pid = 0
        self._state = _DOWN
        self._sock = None
        self._poller = select.poll()
        self._due = ticks_ms()  # down: the next attempt (the first at once); up: the next ping
        self._since = 0  # ticks when the current attempt or connection began
        self._last_rx = 0  # ticks of the last byte from the broker
        # Bytes to send: _out[_sent:_queued], in `tx` when given (allocated
        # early, as `rx`), else in a buffer of _OUT_SIZE.
        self._out = tx if tx is not None else bytearray(_OUT_SIZE)
        self._queued = 0
        self._sent = 0
        self._stalled = 0  # ticks since when queued bytes wait for the socket
        self._head = bytearray(_HEAD_SIZE)  # the fixed header being read
        self._body = None  # memoryview the body is read into, once the header is whole
        self._got = 0  # bytes of the header (while _body is None), then of the body
        self._control = bytearray(_CONTROL)

    # ---- public API -------------------------------------------------------

    def subscribe(self, topic, qos=1):
        """Remember a subscription; it is sent now if connected and on every reconnect."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        for i in range(len(self._topics)):
            if self._topics[i][0] == topic:
                self._topics[i] = (topic, qos)
                break
        else:
            self._topics.append((topic, qos))
        if self.connected:
            self._send_subscribe([(topic, qos)])

    def publish(self, topic, payload, qos=1, retain=False):
        """Queue a PUBLISH. Returns its packet id (QoS1; on_puback(pid) follows
        when the broker has it), 1 (QoS0), or 0 when it cannot go: not
        connected, or the send buffer has no room for it."""
        if isinstance(payload, str):
            payload = payload.encode()
        head = mp.publish_header(topic, len(payload), qos, retain, 0)  # checks qos
        queued = self._queued if self._sent < self._queued else 0
        if not self.connected or len(head) + len(payload) > len(self._out) - queued:
            return 0
        pid = 1
        if qos:
            pid = self._next_pid()
            head[-2] = pid >> 8
            head[-1] = pid & 0xFF
            self._pending[pid] = ticks_ms()
        self._queue(head, False)
        self._queue(payload)
        self.stats[_PUBLISHED] += 1
        return pid

    def pending(self, pid):
        """True while the QoS1 publish `pid` waits for its PUBACK."""
        return pid in self._pending

    def set_network(self, up):
        """The network under the link came or went (Wi-Fi): when it goes, the
        connection ends now, and no attempt is made until it is back; then
        the first at once. A state, not a flag: no attribute more."""
        state = self._state
        if up:
            if state == _NO_NETWORK:
                self._state = _DOWN
                self._due = ticks_ms()
        elif state != _NO_NETWORK and state != _CLOSED:
            if self._sock is not None:
                self._lost("the network is gone")
            self._state = _NO_NETWORK

    def step(self, timeout_ms):
        """Run the link for up to `timeout_ms`: timers, then wait on the socket
        and read/write what it allows. Call it again and again."""
        now = ticks_ms()
        self._timers(now)
        sock = self._sock
        if sock is None:
            if self._state == _DOWN:
                timeout_ms = max(0, min(timeout_ms, ticks_diff(self._due, now)))
            sleep_ms(timeout_ms)
            return
        if self._state == _UP:  # wake for the next ping or the silence deadline
            timeout_ms = max(0, min(timeout_ms, ticks_diff(self._due, now)))
        self._poller.modify(sock, _IN | _OUT if self._sent < self._queued else _IN)
        for _, event in self._poller.ipoll(timeout_ms):  # one socket: one event at most
            try:
                if event & _OUT or (event & _BROKEN and self._sent < self._queued):
                    self._flush()
                if event & (_IN | _BROKEN) and self._sock is not None:
                    self._read()
            except mp.Oversized as e:
                self.stats[_OVERSIZED] += 1
                self._lost(str(e))
            except Exception as e:  # OSError, EOFError, ValueError, MemoryError
                if self._state == _UP:
                    self._lost("read failed: %r" % e)
                else:
                    self._log("link: cannot connect to %s:%d (%r)" % (self.host, self.port, e))
                    self._lost(None)
            break

    def close(self):
        """Stop: DISCONNECT (so no will is published) and close the socket."""
        if self.connected:
            self._sent = self._queued = 0
            self._queue(mp.DISCONNECT_PACKET)
            try:
                self._flush()
            except Exception:
                pass
        self._drop("closed by the device")
        self._state = _CLOSED

    # ---- connection lifecycle ---------------------------------------------

    def _delay(self, base):
        """Backoff in [base, 1.5*base), or [0.75*max, max] once at the ceiling."""
        delay = base + int(self._rand() * base) // 2
        if delay > self._bmax:
            delay = self._bmax - int(self._rand() * self._bmax) // 4
        return delay

    def _connect_timeout(self):
        return min(_CONNECT_TIMEOUT_MS, max(2000, self.keepalive * 1500))

    def _timers(self, now):
        state = self._state
        if state == _DOWN:
            if ticks_diff(now, self._due) >= 0:
                self._open(now)
            return
        if state == _CLOSED or state == _NO_NETWORK:
            return
        if state == _OPENING:
            if ticks_diff(now, self._since) >= self._connect_timeout():
                self._log("link: no CONNACK from %s:%d in time" % (self.host, self.port))
                self._lost(None)
            return
        if self._sent < self._queued and ticks_diff(now, self._stalled) >= _STALL_MS:
            self._lost("send stalled %d ms" % _STALL_MS)
            return
        silent = ticks_diff(now, self._last_rx)
        if silent >= self.keepalive * 1500:
            self.stats[_TIMEOUTS] += 1
            self._lost("no packet from the broker in %d ms" % silent)
            return
        if ticks_diff(now, self._due) >= 0:
            self._due = ticks_add(now, self.keepalive * 500)
            self._queue(mp.PINGREQ_PACKET)
        pending = self._pending
        if pending:
            for pid in [
                p
                for p, at in pending.items()
                if isinstance(at, int) and ticks_diff(now, at) >= self.puback_ms
            ]:
                del pending[pid]  # no PUBACK: the caller resends

    def _open(self, now):
        """Start a TCP connect and queue CONNECT; CONNACK comes through step()."""
        self.stats[_ATTEMPTS] += 1
        self._since = now
        self._state = _OPENING
        self._sent = self._queued = 0
        self._got = 0
        self._body = None
        try:
            address = socket.getaddrinfo(self.host, self.port)[0][-1]
            sock = socket.socket()
            sock.setblocking(False)
            try:
                sock.connect(address)
            except OSError as e:
                if e.errno != 115 and e.errno != 119:  # EINPROGRESS (Linux, lwIP)
                    sock.close()
                    raise
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
            self._sock = sock
            self._poller.register(sock, _IN)
            self._queue(self._connect_packet)
        except Exception as e:  # OSError: anything the network does
            self._log("link: cannot connect to %s:%d (%r)" % (self.host, self.port, e))
            self._lost(None)

    def _up(self):
        """CONNACK accepted: one connected session begins."""
        now = ticks_ms()
        self._state = _UP
        self.connected = True
        self.refusal = 0
        self.stats[_CONNECTS] += 1
        self._since = now
        self._last_rx = now
        self._due = ticks_add(now, self.keepalive * 500)
        self._log("link: connected to %s:%d" % (self.host, self.port))
        if self._topics:
            self._send_subscribe(self._topics)
        if self.on_connect:
            try:
                self.on_connect()
            except Exception as e:
                self._log("link: on_connect failed: %r" % e)

    def _lost(self, reason):
        """The connection or the attempt failed: drop it and schedule the next."""
        was_up = self._state == _UP
        lived = ticks_diff(ticks_ms(), self._since)
        if reason is not None:
            self._drop(reason)
        else:
            self._close_socket()
        if was_up and lived >= _STABLE_MS:
            self._base = self._bmin
        self._due = ticks_add(ticks_ms(), self._delay(self._base))
        self._base = min(self._base * 2, self._bmax)

    def _drop(self, reason):
        """End the current connection; what was in flight is forgotten."""
        if self.connected:
            self.connected = False
            self.stats[_DISCONNECTS] += 1
            self._log("link: down (%s)" % reason)
        self._pending = {}
        self._close_socket()

    def _close_socket(self):
        sock = self._sock
        self._sock = None
        self._state = _DOWN
        self._sent = self._queued = 0
        if sock is not None:
            try:
                self._poller.unregister(sock)
            except Exception:
                pass
            try:
                sock.close()
            except Exception:
                pass

    # ---- sending ----------------------------------------------------------

    def _next_pid(self):
        while True:
            self._pid = self._pid % 0xFFFF + 1  # packet ids are 1..65535
            if self._pid not in self._pending:
                return self._pid

    def _queue(self, data, flush=True):
        """Append whole packets to the send buffer (so they never interleave)
        and write what the socket takes now. Header and payload leave in one
        write: two would meet Nagle's algorithm and the broker's delayed ACK."""
        if self._sent == self._queued:
            self._sent = self._queued = 0
            self._stalled = ticks_ms()
        end = self._queued + len(data)
        if end > len(self._out):
            raise ValueError("packet larger than the send buffer")
        self._out[self._queued : end] = data
        self._queued = end
        if flush and self._state == _UP:
            try:
                self._flush()
            except Exception as e:
                self._lost("send failed: %r" % e)

    def _flush(self):
        n = self._sock.write(memoryview(self._out)[self._sent : self._queued])
        if n:  # None: the socket takes nothing now
            self._sent += n
            self._stalled = ticks_ms()

    def _send_subscribe(self, topics):
        pid = self._next_pid()
        self._pending[pid] = [t for t, _ in topics]
        self._queue(mp.subscribe(pid, topics))

    # ---- receiving --------------------------------------------------------

    def _read(self):
        """Read what the socket has, packet by packet, into the header, then
        the body buffer; dispatch each whole packet."""
        sock = self._sock
        while sock is self._sock:
            body = self._body
            if body is None:
                n = sock.readinto(memoryview(self._head)[self._got : self._got + 1])
            else:
                n = sock.readinto(body[self._got :])
            if n is None:
                return
            if not n:
                raise EOFError("broker closed the connection")
            self._last_rx = ticks_ms()
            self._got += n
            if body is None:
                self._header()
            elif self._got == len(body):
                self._body = None
                self._got = 0
                self._dispatch(self._head[0], body)

    def _header(self):
        """The fixed header so far: once its length is whole, size the body."""
        head = self._head
        got = self._got
        if got < 2 or head[got - 1] & 0x80:
            if got == _HEAD_SIZE:
                raise ValueError("remaining length longer than 4 bytes")
            return
        kind = head[0]
        n = mp.decode_length(head, 1)[0]
        if kind & 0xF0 == mp.PUBLISH:
            mp.check_publish(kind, n, self.max_body)
            rx = self._rx
            buf = rx if rx is not None and n <= len(rx) else bytearray(n)
        elif n <= _CONTROL:
            buf = self._control
        else:
            raise ValueError("packet 0x%02x of %d bytes" % (kind, n))
        self._got = 0
        if n:
            self._body = memoryview(buf)[:n]
        else:
            self._dispatch(kind, b"")

    def _dispatch(self, kind, body):
        if self._state == _OPENING:
            if kind != mp.CONNACK or len(body) != 2:
                raise ValueError("expected CONNACK, got 0x%02x" % kind)
            code = mp.parse_connack(body)[1]
            if not code:
                self._up()
                return
            self.refusal = code
            self.stats[_REFUSED] += 1
            self._log("link: broker refused: %s (code %d)" % (mp.refusal(code), code))
            self._lost(None)
            if code != 3:  # credentials, client id: retrying soon won't help
                self._base = self._bmax
                self._due = ticks_add(ticks_ms(), self._delay(self._bmax))
            return
        if kind & 0xF0 == mp.PUBLISH:
            pid, topic, payload = mp.parse_publish(kind, body)
            self.stats[_RECEIVED] += 1
            if self.on_message:
                try:
                    self.on_message(topic, payload)
                except Exception as e:  # a bad handler must not wedge the link
                    self.stats[_HANDLER_ERRORS] += 1
                    self._log("link: on_message failed on %s: %r" % (topic, e))
            if pid and self._sock is not None:
                self._queue(mp.puback(pid))
            return
        kind &= 0xF0
        if kind == mp.PUBACK:
            pid = mp.parse_pid(body)
            if isinstance(self._pending.get(pid), int):
                del self._pending[pid]
                self.stats[_ACKED] += 1
                if self.on_puback:
                    self.on_puback(pid)
        elif kind == mp.SUBACK:
            topics = self._pending.pop(mp.parse_pid(body), None) or ()
            if isinstance(topics, int):  # a PUBACK's id: not ours
                topics = ()
            for i in range(2, len(body)):
                if body[i] == mp.SUBACK_FAILURE:
                    self.stats[_SUBACK_FAILURES] += 1
                    failed = topics[i - 2] if i - 2 < len(topics) else "?"
                    self.suback_failures.append(failed)
                    self._log("link: broker refused subscription %s" % failed)
        elif kind != mp.PINGRESP:
            raise ValueError("unexpected packet 0x%02x" % kind)
