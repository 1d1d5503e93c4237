# The device's MQTT 3.1.1 client on asyncio streams: QoS0/1 publish and
# subscribe, keepalive, reconnect with backoff and jitter.
# Nothing here blocks the event loop, so a press never waits on the network.
# Runs on the MicroPython unix port and the ESP32 (uses time.ticks_ms and
# asyncio.wait_for_ms). Packets are built in firmware/mqtt_packet.py.
import asyncio
from time import ticks_add, ticks_diff, ticks_ms

from firmware import mqtt_packet as mp
from protocol.compat import const

_STABLE_MS = const(10000)  # a connection that lived this long resets the backoff
_CONNECT_TIMEOUT_MS = const(10000)  # TCP + CONNECT + CONNACK, upper bound
_CLOSE_TIMEOUT_MS = const(1000)  # sending DISCONNECT on close()
_COALESCE = const(1024)  # payloads up to this go out in one write with their header


def _default_rand():
    import random

    return random.getrandbits(16) / 65536


class Link:
    def __init__(self, host, port, client_id, user=None, password=None, keepalive=30,
                 will=None, ssl=None, on_message=None, on_connect=None,
                 clean_session=True, backoff_min_ms=500, backoff_max_ms=30000, rand=None,
                 log=print, max_payload=mp.MAX_PAYLOAD, rx=None):
        if not 0 < keepalive <= 0xFFFF:  # 0 would leave reads without a deadline
            raise ValueError("keepalive must be 1..65535 seconds")
        if not 0 < backoff_min_ms <= backoff_max_ms:
            raise ValueError("need 0 < backoff_min_ms <= backoff_max_ms")
        if will is not None and len(will) != 4:
            raise ValueError("will is (topic, payload, qos, retain)")
        # Inbound payloads are read into `rx` when given (a buffer the caller
        # allocated early, while the heap was whole), else into a bytearray
        # of the payload's size. on_message gets a memoryview, valid only
        # during the call. Longer payloads drop the connection (Oversized).
        self._rx = rx
        self.max_payload = len(rx) if rx is not None else max_payload
        self.host = host
        self.port = port
        self._connect_packet = mp.connect(client_id, keepalive, clean_session, user, password, will)
        self.keepalive = keepalive
        self.on_message = on_message
        self.on_connect = on_connect
        self._ssl = ssl
        self._bmin = backoff_min_ms
        self._bmax = backoff_max_ms
        self._rand = rand or _default_rand
        self._log = log or (lambda line: None)
        self.connected = False
        self.refusal = 0  # last CONNACK return code that refused us (0: none)
        self.suback_failures = []  # topic filters the broker refused (SUBACK 0x80)
        self.stats = {"attempts": 0, "connects": 0, "refused": 0, "disconnects": 0,
                      "published": 0, "acked": 0, "received": 0, "timeouts": 0,
                      "oversized": 0, "suback_failures": 0, "handler_errors": 0}
        self._topics = []  # [(topic_filter, qos)], re-sent on every connect
        self._sub_pending = {}  # packet id -> list of topic filters awaiting SUBACK
        self._inflight = {}  # packet id -> [Event, acked, sent] for QoS1 publishes
        self._pid = 0
        self._last_rx = 0  # ticks_ms of the last byte that started or ended a packet
        self._reader = None
        self._writer = None
        self._drain_lock = asyncio.Lock()  # one task at a time waits on the socket
        self._down = asyncio.Event()  # set when the current connection is over
        self._wake = asyncio.Event()  # cuts a backoff pause short on close()
        self._closed = False

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
            asyncio.create_task(self._send_subscribe([(topic, qos)]))

    async def publish(self, topic, payload, qos=1, retain=False, timeout_ms=5000):
        """QoS1: True once the broker's PUBACK arrives. QoS0: True once written.
        False when not connected, timed out, or the connection dropped."""
        if isinstance(payload, str):
            payload = payload.encode()
        head = mp.publish_header(topic, len(payload), qos, retain, 0)  # checks qos
        if not self.connected:
            return False
        if qos == 0:
            try:
                return await asyncio.wait_for_ms(self._send(head, payload), timeout_ms)
            except asyncio.TimeoutError:
                self._drop("publish stalled %d ms" % timeout_ms)
                return False
        pid = self._next_pid()
        head[-2] = pid >> 8
        head[-1] = pid & 0xFF
        waiter = [asyncio.Event(), False, False]  # [done, acked, fully written]
        inflight = self._inflight
        inflight[pid] = waiter
        try:
            await asyncio.wait_for_ms(self._publish(head, payload, waiter), timeout_ms)
        except asyncio.TimeoutError:
            if not waiter[2]:  # cut off mid-write: the stream is no longer framed
                self._drop("publish stalled %d ms" % timeout_ms)
        finally:
            inflight.pop(pid, None)
        return waiter[1]

    async def run(self):
        """Forever: connect, serve, and reconnect with backoff until close()."""
        base = self._bmin
        while not self._closed:
            code = await self._open()
            if code == 0:
                began = ticks_ms()
                await self._serve()
                if ticks_diff(ticks_ms(), began) >= _STABLE_MS:
                    base = self._bmin
            elif code > 0 and code != 3:  # credentials, client id: retrying soon won't help
                base = self._bmax
            if self._closed:
                break
            await self._pause(self._delay(base))
            base = min(base * 2, self._bmax)

    def close(self):
        """Stop run(): DISCONNECT (so no will is published) and close the socket."""
        self._closed = True
        self._drop("closed")
        self._wake.set()

    # ---- connection lifecycle ---------------------------------------------

    def _delay(self, base):
        """Backoff in [base, 1.5*base), or [0.75*max, max] once at the ceiling."""
        delay = base + int(self._rand() * base) // 2
        if delay > self._bmax:
            delay = self._bmax - int(self._rand() * self._bmax) // 4
        return delay

    async def _pause(self, ms):
        self._wake.clear()
        try:
            await asyncio.wait_for_ms(self._wake.wait(), ms)
        except asyncio.TimeoutError:
            pass

    def _connect_timeout(self):
        return min(_CONNECT_TIMEOUT_MS, max(2000, self.keepalive * 1500))

    async def _open(self):
        """TCP connect, CONNECT, CONNACK. Return 0, a refusal code, or -1."""
        self.stats["attempts"] += 1
        try:
            code = await asyncio.wait_for_ms(self._handshake(), self._connect_timeout())
        except asyncio.TimeoutError:
            self._log("link: no CONNACK from %s:%d in time" % (self.host, self.port))
            code = -1
        except Exception as e:  # OSError, EOFError, ValueError: anything the network does
            self._log("link: cannot connect to %s:%d (%r)" % (self.host, self.port, e))
            code = -1
        if code:
            self._close_socket()
        return code

    async def _handshake(self):
        if self._ssl is None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl)
        self._reader = reader
        self._writer = writer
        writer.write(self._connect_packet)
        await writer.drain()
        kind = (await reader.readexactly(1))[0]
        if kind != mp.CONNACK or await mp.read_length(reader) != 2:
            raise ValueError("expected CONNACK, got 0x%02x" % kind)
        code = mp.parse_connack(await reader.readexactly(2))[1]
        if code:
            self.refusal = code
            self.stats["refused"] += 1
            self._log("link: broker refused: %s (code %d)" % (mp.REFUSALS.get(code, "?"), code))
        return code

    async def _serve(self):
        """One connected session: subscribe, read, ping, until it drops."""
        self._down.clear()
        self.connected = True
        self.refusal = 0
        self.stats["connects"] += 1
        self._log("link: connected to %s:%d" % (self.host, self.port))
        if self._closed:  # close() came during the handshake
            self._drop("closed")
        self._last_rx = ticks_ms()
        reader = asyncio.create_task(self._read_loop())
        watchdog = asyncio.create_task(self._keepalive_loop())
        if self._topics:
            await self._send_subscribe(self._topics)
        if self.on_connect and self.connected:
            try:
                self.on_connect()
            except Exception as e:
                self._log("link: on_connect failed: %r" % e)
        await self._down.wait()
        reader.cancel()
        watchdog.cancel()
        if self._closed and self._writer:
            try:
                self._writer.write(mp.DISCONNECT_PACKET)
                await asyncio.wait_for_ms(self._drain(), _CLOSE_TIMEOUT_MS)
            except Exception:
                pass
        self._close_socket()

    def _drop(self, reason):
        """End the current connection (from any task); release waiting publishes."""
        if not self.connected:
            return
        self.connected = False
        self.stats["disconnects"] += 1
        self._log("link: down (%s)" % reason)
        waiting = self._inflight
        self._inflight = {}
        for waiter in waiting.values():
            waiter[0].set()
        self._sub_pending = {}
        self._down.set()

    def _close_socket(self):
        writer = self._writer
        self._reader = None
        self._writer = None
        if writer is not None:
            try:
                writer.close()
            except Exception:
                pass

    # ---- sending ----------------------------------------------------------

    def _next_pid(self):
        while True:
            self._pid = self._pid % 0xFFFF + 1  # packet ids are 1..65535
            if self._pid not in self._inflight and self._pid not in self._sub_pending:
                return self._pid

    async def _drain(self):
        async with self._drain_lock:
            await self._writer.drain()

    async def _send(self, packet, payload=None):
        """Write one whole packet; False (and the connection dropped) on failure."""
        writer = self._writer
        if writer is None or not self.connected:
            return False
        try:
            # Whole packets per write() call, so concurrent senders never interleave.
            # Header and a small payload go in one write: two would meet Nagle's
            # algorithm and the broker's delayed ACK (40 ms per publish).
            if payload and len(payload) <= _COALESCE:
                packet.extend(payload)
                payload = None
            writer.write(packet)
            if payload:
                writer.write(payload)
            async with self._drain_lock:
                await writer.drain()
            return True
        except Exception as e:
            self._drop("send failed: %r" % e)
            return False

    async def _publish(self, head, payload, waiter):
        if not await self._send(head, payload):
            return
        waiter[2] = True
        self.stats["published"] += 1
        await waiter[0].wait()

    async def _send_subscribe(self, topics):
        pid = self._next_pid()
        self._sub_pending[pid] = [t for t, _ in topics]
        await self._send(mp.subscribe(pid, topics))

    async def _keepalive_loop(self):
        """PINGREQ every keepalive/2; the connection is dead when nothing at all
        has come from the broker for 1.5 x keepalive. This is the deadline of
        every read in _read_loop, without a timer task per packet."""
        period = self.keepalive * 500
        limit = self.keepalive * 1500
        next_ping = ticks_add(ticks_ms(), period)
        while True:
            now = ticks_ms()
            silent = ticks_diff(now, self._last_rx)
            if silent >= limit:
                self.stats["timeouts"] += 1
                self._drop("no packet from the broker in %d ms" % silent)
                return
            to_ping = ticks_diff(next_ping, now)
            if to_ping <= 0:
                next_ping = ticks_add(now, period)
                if not await self._send(mp.PINGREQ_PACKET):
                    return
                continue
            await asyncio.sleep_ms(min(to_ping, limit - silent))

    # ---- receiving --------------------------------------------------------

    async def _read_loop(self):
        # Reads wait without a timer of their own: _keepalive_loop drops the
        # connection (and run() cancels this task) when the broker falls silent.
        try:
            reader = self._reader
            while True:
                kind = (await reader.readexactly(1))[0]  # idle wait is here
                self._last_rx = ticks_ms()
                packet = await mp.read_body(reader, kind, self._rx, self.max_payload)
                self._last_rx = ticks_ms()
                await self._dispatch(kind, packet[0], packet[1], packet[2])
                packet = None
        except mp.Oversized as e:
            self.stats["oversized"] += 1
            self._drop(str(e))
        except Exception as e:  # EOFError, OSError, ValueError, MemoryError
            self._drop("read: %r" % e)

    async def _dispatch(self, kind, pid, topic, body):
        kind &= 0xF0
        if kind == mp.PUBLISH:
            self.stats["received"] += 1
            if self.on_message:
                try:
                    self.on_message(topic, body)
                except Exception as e:  # a bad handler must not wedge the link
                    self.stats["handler_errors"] += 1
                    self._log("link: on_message failed on %s: %r" % (topic, e))
            body = None
            if pid:
                await self._send(mp.puback(pid))
        elif kind == mp.PUBACK:
            waiter = self._inflight.pop(mp.parse_pid(body), None)
            if waiter:
                self.stats["acked"] += 1
                waiter[1] = True
                waiter[0].set()
        elif kind == mp.SUBACK:
            topics = self._sub_pending.pop(mp.parse_pid(body), None) or ()
            for i in range(2, len(body)):
                if body[i] == mp.SUBACK_FAILURE:
                    self.stats["suback_failures"] += 1
                    failed = topics[i - 2] if i - 2 < len(topics) else "?"
                    self.suback_failures.append(failed)
                    self._log("link: broker refused subscription %s" % failed)
        elif kind != mp.PINGRESP:
            raise ValueError("unexpected packet 0x%02x" % kind)
