# The running device: ties the evaluator, outbox, buttons and MQTT link together.
#
# One loop, no asyncio (run()): every turn polls the buttons and ticks the
# evaluator (`_ui`), lets `_sender` and `_heartbeat` act when their time has
# come, then gives the link up to 10 ms on its socket (firmware/link.py,
# select.poll). Nothing in the loop waits on the network, so a press is
# recorded (on flash) whatever the link is doing. `_sender` publishes the
# outbox over QoS1 and drops a record only when the host's signed ack says
# it is committed. `_heartbeat` publishes status; the last will tells the
# host when the device vanishes.
#
# firmware/main.py hands run() what touches the board: `step`, the Wi-Fi
# watcher (None when the network is always there), which rejoins without
# blocking and returns None while up, else why not (for the screen); and
# `feed`, the hardware watchdog's, called once a turn, after the turn.
# `boot`, (reset cause, boot count), goes into every heartbeat.
import binascii
import gc

from firmware import hostmsg
from protocol import wire as messages
from protocol.compat import const
from protocol.errors import ProtocolError

FW_VERSION = "0.1.0"
_INFLIGHT = const(8)  # ratings published but not yet acked by the host
_RESEND_MS = const(15000)  # resend a rating whose host ack has not come
_UI_PERIOD_MS = const(10)
_HOST_SILENT_MS = const(10000)  # an unacked rating this old: treat the host as away
_SEND_EVERY_MS = const(1000)  # look at the outbox at least this often
_RETRY_MS = const(100)  # the link's send buffer was full: try again this soon
_RATING = const(0)  # App.topics
_STATUS = const(1)
_SESSION = const(2)
_ACK = const(3)
# The last idle message (who serves at the window), kept on flash so that
# after a power cut the device knows it before the network is back: a press
# right after boot is then an offline rating, not lost. Written only when
# it changes by more than its host time (hostd sends one after every
# session): a few writes a day, not one a rating (README, "Device life").
_IDLE_FILE = const("idle.msg")


class App:
    def __init__(
        self,
        config,
        evaluator,
        outbox,
        buttons,
        clock,
        ticks_ms,
        ticks_diff,
        link_class,
        ssl=None,
        rx=None,
        parts_file=None,
        tx=None,
        boot=(0, 0),
    ):
        self.config = config
        self.evaluator = evaluator
        self.outbox = outbox
        self.buttons = buttons
        self.clock = clock
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff
        self.started_ms = ticks_ms()
        self.boot = boot  # (machine.reset_cause(), or 6 after a crash; boot count)
        # Needed here only: imported here, so that firmware/main.py can give
        # these two modules' heap back once the App is built.
        from protocol import credentials, topics

        hall, device = config.hall, config.device_id
        # rating, status, session, ack (_RATING ...): one tuple, not four
        # names in the qstr pool
        self.topics = tuple(
            topics.topic(hall, device, leaf)
            for leaf in (topics.RATING, topics.STATUS, topics.SESSION, topics.ACK)
        )
        self.inflight = {}  # seq -> ticks when last published
        self.waiting_since = None  # ticks since when published ratings wait for an ack
        now = ticks_ms()
        self.wake = True  # new rating or ack: look at the outbox now
        self.send_at = now  # ticks of the next look at the outbox
        self.beat_at = now  # ticks of the next heartbeat (at once on connect)
        self.rejected = 0  # host messages that failed verification
        # Session and idle bitmaps go to flash (firmware/hostmsg.py), not the
        # heap: into `parts_file`, open for "w+b" (main.py opens it early).
        parts_file = parts_file or open("parts.bin", "w+b")
        self.session_parts = hostmsg.PartStore(parts_file, hostmsg.SESSION_BASE)
        self.idle_parts = hostmsg.PartStore(parts_file, hostmsg.IDLE_BASE)
        self.link = link_class(
            config.broker_host,
            config.broker_port,
            device,
            user=device,
            password=credentials.mqtt_password(config.key),
            keepalive=config.heartbeat_s * 2,
            will=(self.topics[_STATUS], self._status(messages.OFFLINE), 1, False),
            ssl=ssl,
            on_message=self._on_message,
            on_connect=self._on_connect,
            max_payload=messages.MAX_HOST_MESSAGE,
            rx=rx,
            tx=tx,
        )
        self.link.subscribe(self.topics[_SESSION], 1)
        self.link.subscribe(self.topics[_ACK], 1)
        self._idle_key = None  # crc of the kept idle message, less its host time
        try:
            with open(_IDLE_FILE, "rb") as f:
                kept = bytearray(f.read())
        except OSError:
            kept = None
        if kept:
            self._on_message(None, memoryview(kept))  # checked as if it came now (HMAC)

    def _status(self, state):
        cfg = self.config
        uptime = self.ticks_diff(self.ticks_ms(), self.started_ms) // 1000
        gc.collect()  # report the heap that is really free, not uncollected garbage
        return messages.sign(
            cfg.key,
            [
                messages.VERSION,
                messages.STATUS,
                cfg.device_id,
                state,
                FW_VERSION,
                self.outbox.depth(),
                gc.mem_free(),
                self.clock.synced,
                uptime,
                self.outbox.next_seq,
                self.boot[0],
                self.boot[1],
            ],
        )

    def _on_connect(self):
        self.inflight = {}  # whatever was in flight is resent on this connection
        self.waiting_since = None
        self.wake = True
        self.beat_at = self.ticks_ms()

    def _on_message(self, topic, payload):
        cfg = self.config
        kind = hostmsg.kind_of(payload)
        try:
            if kind == messages.SESSION or kind == messages.IDLE:
                gc.collect()  # drawing a screen: start from a clean heap
                fields, start, end = hostmsg.verify(payload, (cfg.key,), cfg.device_id)
            else:
                fields = messages.decode(payload, (cfg.key,), cfg.device_id, messages.MAX_HOST_MESSAGE, False)
        except ProtocolError:
            self.rejected += 1
            return
        kind = fields[1]
        if kind == messages.ACK:
            seq = fields[3]
            self.inflight.pop(seq, None)
            self.waiting_since = self.ticks_ms() if self.inflight else None
            self.outbox.ack(seq)
            self.clock.sync(fields[5])
            self.evaluator.outbox_changed()
            self.wake = True
        elif kind == messages.SESSION:
            self.clock.sync(fields[12])
            if self.evaluator.wants_session(fields):
                fields[13] = self._store(self.session_parts, payload, start, end)
                self.evaluator.on_session(fields)
        elif kind == messages.IDLE:
            # topic None: the kept message, replayed at boot; its time is old.
            if topic is not None:
                self.clock.sync(fields[8])
            if self.evaluator.revoked:
                return  # on_idle would ignore it
            # The same screen as the last one (hostd sends one after every
            # session, differing in host time alone): its bitmaps are on
            # flash already, nothing is written.
            key = binascii.crc32(payload[start:end], binascii.crc32(repr(fields[3:8])))
            if key == self._idle_key:
                fields[9] = self.evaluator.idle_parts
            else:
                fields[9] = self._store(self.idle_parts, payload, start, end)
                self._idle_key = key
                if topic is not None:
                    try:
                        with open(_IDLE_FILE, "wb") as f:
                            f.write(payload)  # torn by a power cut: its HMAC fails, nothing shown
                    except OSError:
                        pass  # flash full: the next boot waits for the host
            self.evaluator.on_idle(fields)
        else:
            self.rejected += 1

    def _store(self, store, payload, start, end):
        try:
            return store.store(payload, start, end)
        except OSError:  # flash full or failing: show the text fallbacks
            return []

    def _ui(self, why):
        evaluator = self.evaluator
        index = self.buttons.poll()
        if index is not None:
            before = self.outbox.next_seq
            evaluator.press(index)
            if self.outbox.next_seq != before:
                self.wake = True
                print("rating: stored seq %d" % before)  # on the console, for hall IT
        evaluator.tick()
        # The broker refusing our login (not authorised) means hostd
        # revoked this device: show 设备已停用 until it lets us in again.
        revoked = self.link.refusal in (4, 5)  # CONNACK: bad user name or password, not authorised
        if revoked != evaluator.revoked:
            evaluator.set_revoked(revoked)
        # The broker being up is not enough: hostd may be down behind it. A
        # rating published but unacked for a while means nobody is committing,
        # so the device falls back to taking unsessioned ratings.
        waiting = self.waiting_since
        reachable = self.link.connected and (
            waiting is None or self.ticks_diff(self.ticks_ms(), waiting) < _HOST_SILENT_MS
        )
        if why != evaluator.display.why:
            print("offline: %s" % why if why else "offline: the network is back")
        if reachable != evaluator.online or why != evaluator.display.why:
            evaluator.set_online(reachable, why)

    def _sender(self, now):
        """Publish what the outbox holds and is not in flight (or was sent
        _RESEND_MS ago without a host ack): on a new rating or ack, else
        every _SEND_EVERY_MS."""
        if not self.wake and self.ticks_diff(now, self.send_at) < 0:
            return
        self.wake = False
        self.send_at = self.ticks_ms() + _SEND_EVERY_MS
        link = self.link
        if not link.connected or not self.outbox.depth():
            return
        for seq, wire in self.outbox.peek(_INFLIGHT):
            sent = self.inflight.get(seq)
            if sent is not None and self.ticks_diff(now, sent) < _RESEND_MS:
                continue
            if not link.publish(self.topics[_RATING], wire, 1):
                if link.connected:  # the send buffer is full: soon, not in a second
                    self.send_at = now + _RETRY_MS
                break
            if self.waiting_since is None:
                self.waiting_since = now
            self.inflight[seq] = now

    def _heartbeat(self, now):
        if self.ticks_diff(now, self.beat_at) < 0:
            return
        self.beat_at = now + self.config.heartbeat_s * 1000
        if self.link.connected and not self.link.publish(
            self.topics[_STATUS], self._status(messages.ONLINE), 1
        ):
            self.beat_at = now + _RETRY_MS

    def run(self, step=None, feed=None):
        """The device's loop, forever."""
        link = self.link
        ticks_ms = self.ticks_ms
        why = ""  # why the network is down (the Wi-Fi watcher's words), or ""
        while True:
            self._ui(why)
            now = ticks_ms()
            if step is not None:
                why = step() or ""
                link.set_network(not why)
            self._sender(now)
            self._heartbeat(now)
            link.step(_UI_PERIOD_MS)
            if feed is not None:
                feed()  # a whole turn done: the loop makes progress
