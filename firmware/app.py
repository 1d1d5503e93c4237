# The running device: ties the evaluator, outbox, buttons and MQTT link together.
#
# Three asyncio tasks share one loop. `_ui` polls the buttons and ticks the
# evaluator; it never awaits the network, so a press is recorded (on flash)
# whatever the link is doing. `_sender` drains the outbox over QoS1 and drops
# a record only when the host's signed ack says it is committed. `_heartbeat`
# publishes status; the last will tells the host when the device vanishes.
import asyncio
import gc

from firmware import hostmsg
from protocol import credentials, topics
from protocol import wire as messages
from protocol.compat import const
from protocol.errors import ProtocolError

FW_VERSION = "0.1.0"
_INFLIGHT = const(8)  # ratings published but not yet acked by the host
_RESEND_MS = const(15000)  # resend a rating whose host ack has not come
_UI_PERIOD_MS = const(10)
_HOST_SILENT_MS = const(10000)  # an unacked rating this old: treat the host as away


class App:
    def __init__(self, config, evaluator, outbox, buttons, clock, ticks_ms, ticks_diff, link_class,
                 ssl=None, rx=None, parts_file=None):
        self.config = config
        self.evaluator = evaluator
        self.outbox = outbox
        self.buttons = buttons
        self.clock = clock
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff
        self.started_ms = ticks_ms()
        hall, device = config.hall, config.device_id
        self.rating_topic = topics.topic(hall, device, topics.RATING)
        self.status_topic = topics.topic(hall, device, topics.STATUS)
        self.session_topic = topics.topic(hall, device, topics.SESSION)
        self.ack_topic = topics.topic(hall, device, topics.ACK)
        self.inflight = {}  # seq -> ticks when last published
        self.waiting_since = None  # ticks since when published ratings wait for an ack
        self.wake = asyncio.Event()  # new rating or ack: look at the outbox now
        self.beat = asyncio.Event()  # connected: say hello at once
        self.rejected = 0  # host messages that failed verification
        # Session and idle bitmaps go to flash (firmware/hostmsg.py), not the
        # heap: into `parts_file`, open for "w+b" (main.py opens it early).
        parts_file = parts_file or open("parts.bin", "w+b")
        self.session_parts = hostmsg.PartStore(parts_file, hostmsg.SESSION_BASE)
        self.idle_parts = hostmsg.PartStore(parts_file, hostmsg.IDLE_BASE)
        self.link = link_class(
            config.broker_host, config.broker_port, device,
            user=device, password=credentials.mqtt_password(config.key),
            keepalive=config.heartbeat_s * 2,
            will=(self.status_topic, self._status(messages.OFFLINE), 1, False),
            ssl=ssl, on_message=self._on_message, on_connect=self._on_connect,
            max_payload=messages.MAX_HOST_MESSAGE, rx=rx,
        )
        self.link.subscribe(self.session_topic, 1)
        self.link.subscribe(self.ack_topic, 1)

    def _status(self, state):
        cfg = self.config
        uptime = self.ticks_diff(self.ticks_ms(), self.started_ms) // 1000
        gc.collect()  # report the heap that is really free, not uncollected garbage
        return messages.sign(cfg.key, [
            messages.VERSION, messages.STATUS, cfg.device_id, state, FW_VERSION,
            self.outbox.depth(), gc.mem_free(), self.clock.synced, uptime,
            self.outbox.next_seq,
        ])

    def _on_connect(self):
        self.inflight = {}  # whatever was in flight is resent on this connection
        self.waiting_since = None
        self.wake.set()
        self.beat.set()

    def _on_message(self, topic, payload):
        cfg = self.config
        kind = hostmsg.kind_of(payload)
        try:
            if kind == messages.SESSION or kind == messages.IDLE:
                gc.collect()  # drawing a screen: start from a clean heap
                fields, start, end = hostmsg.verify(payload, (cfg.key,), cfg.device_id)
            else:
                fields = messages.decode(payload, (cfg.key,), cfg.device_id,
                                         messages.MAX_HOST_MESSAGE, False)
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
            self.wake.set()
        elif kind == messages.SESSION:
            self.clock.sync(fields[12])
            if self.evaluator.wants_session(fields):
                fields[13] = self._store(self.session_parts, payload, start, end)
                self.evaluator.on_session(fields)
        elif kind == messages.IDLE:
            self.clock.sync(fields[8])
            if not self.evaluator.revoked:  # revoked: on_idle ignores it
                fields[9] = self._store(self.idle_parts, payload, start, end)
                self.evaluator.on_idle(fields)
        else:
            self.rejected += 1

    def _store(self, store, payload, start, end):
        try:
            return store.store(payload, start, end)
        except OSError:  # flash full or failing: show the text fallbacks
            return []

    async def _ui(self):
        evaluator = self.evaluator
        while True:
            index = self.buttons.poll()
            if index is not None:
                before = self.outbox.next_seq
                evaluator.press(index)
                if self.outbox.next_seq != before:
                    self.wake.set()
            evaluator.tick()
            # The broker refusing our login (not authorised) means hostd
            # revoked this device: show 设备已停用 until it lets us in again.
            revoked = self.link.refusal in (4, 5)  # CONNACK: bad user name or password, not authorised
            if revoked != evaluator.revoked:
                evaluator.set_revoked(revoked)
            reachable = self._host_reachable()
            if reachable != evaluator.online:
                evaluator.set_online(reachable)
            await asyncio.sleep_ms(_UI_PERIOD_MS)

    def _host_reachable(self):
        # The broker being up is not enough: hostd may be down behind it. A
        # rating published but unacked for a while means nobody is committing,
        # so the device falls back to taking unsessioned ratings.
        if not self.link.connected:
            return False
        waiting = self.waiting_since
        return waiting is None or self.ticks_diff(self.ticks_ms(), waiting) < _HOST_SILENT_MS

    async def _sender(self):
        while True:
            if self.link.connected and self.outbox.depth():
                now = self.ticks_ms()
                for seq, wire in self.outbox.peek(_INFLIGHT):
                    sent = self.inflight.get(seq)
                    if sent is not None and self.ticks_diff(now, sent) < _RESEND_MS:
                        continue
                    if not await self.link.publish(self.rating_topic, wire, 1):
                        break
                    if self.waiting_since is None:
                        self.waiting_since = now
                    self.inflight[seq] = now
            self.wake.clear()
            try:
                await asyncio.wait_for_ms(self.wake.wait(), 1000)
            except asyncio.TimeoutError:
                pass

    async def _heartbeat(self):
        while True:
            if self.link.connected:
                await self.link.publish(self.status_topic, self._status(messages.ONLINE), 1)
            self.beat.clear()
            try:
                await asyncio.wait_for(self.beat.wait(), self.config.heartbeat_s)
            except asyncio.TimeoutError:
                pass

    async def run(self):
        await asyncio.gather(self.link.run(), self._ui(), self._sender(), self._heartbeat())
