"""Protocol-level devices for the fleet and storm benchmarks: many per process.

Each is what the firmware is on the wire (firmware/app.py, firmware/link.py):
MQTT 3.1.1 with its own login (device id, protocol.credentials.mqtt_password
of its key), clean session, keepalive twice the heartbeat, a signed
"offline" status as its last will; it subscribes to its session and ack
topics at QoS1, sends a signed status every heartbeat (the first at once),
keeps at most 8 ratings in flight and resends one unacked after 15 s with
the same bytes. An ack counts only when its HMAC verifies under the
device's key and names a rating in flight. A worker process runs its share
of the devices on one asyncio loop (aiomqtt: paho driven by the loop), and
answers the orchestrator's questions on a pipe.

Modes: "fleet": a device rates every `rate_every_s` (seconds, jittered) if
it is a rater; "storm": every device starts with an outbox of `outbox`
signed ratings and sends them all.
"""

import asyncio
import random
import time

import aiomqtt

from protocol import credentials, messages, topics
from protocol.errors import ProtocolError
from protocol.host.signing import HostMac

INFLIGHT = 8  # firmware/app.py _INFLIGHT
RESEND_S = 15.0  # firmware/app.py _RESEND_MS
FIRMWARE = "bench"


def rating(device, seq):
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        None,
        5 if seq % 10 else 2,
        [] if seq % 10 else [1],
        1,
        "0042",
        1796000000 + seq,
        True,
    ]


class Device:
    def __init__(self, hall, device, key, mac, heartbeat_s, outbox=0, rater=False, rate_every_s=2.0):
        self.hall, self.id, self.key, self.mac = hall, device, key, mac
        self.heartbeat_s, self.rater, self.rate_every_s = heartbeat_s, rater, rate_every_s
        self.topic = {leaf: topics.topic(hall, device, leaf) for leaf in topics.LEAVES}
        self.outbox = {}  # seq -> signed bytes, until acked
        self.next_seq = 1
        for _ in range(outbox):
            self._press()
        self.sent = {}  # seq -> monotonic time last published
        self.first = {}  # seq -> monotonic time first published
        self.latencies = []  # seconds, first publish to verified ack, since the last report
        self.timeline = []  # (monotonic time of the ack, latency): for looking into spikes
        self.acked = set()
        self.screens = 0  # session / idle messages received
        self.screen_at = 0.0  # time.monotonic() of the last one (the same clock in every process)
        self.bad = 0  # host messages that did not verify
        self.resends = 0
        self.duplicate_acks = 0
        self.connected = False
        self.connects = 0
        self.wake = asyncio.Event()

    def _press(self):
        seq = self.next_seq
        self.next_seq += 1
        self.outbox[seq] = messages.sign(self.key, rating(self.id, seq), self.mac)

    def status(self, state):
        fields = [messages.VERSION, messages.STATUS, self.id, state, FIRMWARE, len(self.outbox), 60000, True]
        return messages.sign(self.key, fields + [int(time.monotonic()), self.next_seq, 1, 1], self.mac)

    async def run(self, port, gate, stopping):
        will = aiomqtt.Will(self.topic[topics.STATUS], self.status(messages.OFFLINE), qos=1)
        password = credentials.mqtt_password(self.key)
        while not stopping.is_set():
            try:
                async with gate:  # how many connect at once (the storm: all)
                    client = aiomqtt.Client(
                        "127.0.0.1",
                        port,
                        identifier=self.id,
                        username=self.id,
                        password=password,
                        protocol=aiomqtt.ProtocolVersion.V311,
                        clean_session=True,
                        keepalive=self.heartbeat_s * 2,
                        will=will,
                        timeout=60,
                        max_inflight_messages=INFLIGHT + 2,
                    )
                    await client.__aenter__()
                try:
                    await client.subscribe([(self.topic[topics.SESSION], 1), (self.topic[topics.ACK], 1)])
                    self.connected, self.sent = True, {}  # what was in flight goes again
                    self.connects += 1
                    tasks = [
                        asyncio.ensure_future(self._receive(client)),
                        asyncio.ensure_future(self._heartbeat(client)),
                        asyncio.ensure_future(self._sender(client)),
                    ]
                    if self.rater:
                        tasks.append(asyncio.ensure_future(self._rater()))
                    stop = asyncio.ensure_future(stopping.wait())
                    done, _ = await asyncio.wait(tasks + [stop], return_when=asyncio.FIRST_COMPLETED)
                    for task in tasks + [stop]:
                        task.cancel()
                    for task in done:
                        if task is not stop and task.exception() is not None:
                            raise task.exception()  # type: ignore[misc]
                finally:
                    self.connected = False
                    try:
                        await client.__aexit__(None, None, None)
                    except Exception:
                        pass
            except (aiomqtt.MqttError, OSError):
                self.connected = False
                await asyncio.sleep(0.5 + random.random())

    async def _receive(self, client):
        async for message in client.messages:
            payload = bytes(message.payload)  # type: ignore[arg-type]
            if message.topic.value == self.topic[topics.ACK]:
                try:
                    fields = messages.decode(
                        payload, (self.key,), self.id, messages.MAX_HOST_MESSAGE, mac=self.mac
                    )
                except ProtocolError:
                    self.bad += 1
                    continue
                seq = fields[3]
                if fields[1] == messages.ACK and seq in self.acked:
                    self.duplicate_acks += 1  # a resend's ack: hostd answered "duplicate"
                elif fields[1] == messages.ACK and seq in self.outbox:
                    del self.outbox[seq]
                    self.sent.pop(seq, None)
                    self.acked.add(seq)
                    self.latencies.append(time.monotonic() - self.first[seq])
                    self.timeline.append((time.monotonic(), self.latencies[-1]))
                    self.wake.set()
            else:
                self.screens += 1
                self.screen_at = time.monotonic()

    async def _heartbeat(self, client):
        # The first at once, as the firmware sends it on connect; then at a
        # random phase: devices that connected in the same second do not beat
        # together ever after (a hall's devices were not all switched on at once).
        await client.publish(self.topic[topics.STATUS], self.status(messages.ONLINE), qos=1)
        await asyncio.sleep(self.heartbeat_s * random.random())
        while True:
            await client.publish(self.topic[topics.STATUS], self.status(messages.ONLINE), qos=1)
            await asyncio.sleep(self.heartbeat_s * (0.9 + 0.2 * random.random()))

    async def _rater(self):
        await asyncio.sleep(random.random() * self.rate_every_s)
        while True:
            self._press()
            self.wake.set()
            await asyncio.sleep(self.rate_every_s * (0.5 + random.random()))

    async def _sender(self, client):
        while True:
            now = time.monotonic()
            for seq in sorted(self.outbox)[:INFLIGHT]:
                sent = self.sent.get(seq)
                if sent is not None and now - sent < RESEND_S:
                    continue
                if sent is not None or seq in self.first:
                    self.resends += 1
                self.first.setdefault(seq, now)
                self.sent[seq] = now
                asyncio.ensure_future(client.publish(self.topic[topics.RATING], self.outbox[seq], qos=1))
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), 1.0)
            except asyncio.TimeoutError:
                pass


def report(devices):
    """What the orchestrator asks for: counts, and the latencies since the last report."""
    latencies = []
    for d in devices:
        latencies += d.latencies
        d.latencies = []
    return {
        "devices": len(devices),
        "connected": sum(d.connected for d in devices),
        "connects": sum(d.connects for d in devices),
        "screens": [d.screens for d in devices],
        "screen_at": [d.screen_at for d in devices],
        "acked": sum(len(d.acked) for d in devices),
        "pending": sum(len(d.outbox) for d in devices),
        "bad": sum(d.bad for d in devices),
        "resends": sum(d.resends for d in devices),
        "duplicate_acks": sum(d.duplicate_acks for d in devices),
        "latencies": latencies,
        "timeline": [point for d in devices for point in d.timeline],
    }


async def _main(port, hall, shares, options, pipe):
    mac = HostMac()
    devices = [
        Device(
            hall,
            device,
            bytes.fromhex(key),
            mac,
            options["heartbeat_s"],
            outbox=options.get("outbox", 0),
            rater=rater,
            rate_every_s=options.get("rate_every_s", 2.0),
        )
        for device, key, rater in shares
    ]
    stopping = asyncio.Event()
    gate = asyncio.Semaphore(options.get("connect_at_once") or len(devices))
    loop = asyncio.get_running_loop()
    if options.get("wait_for_go"):  # all at once: every worker ready first, then "go"
        pipe.send("ready")
        await loop.run_in_executor(None, pipe.recv)
    runs = [asyncio.ensure_future(d.run(port, gate, stopping)) for d in devices]
    while True:
        question = await loop.run_in_executor(None, pipe.recv)
        if question == "report":
            pipe.send(report(devices))
        elif question == "stop":
            stopping.set()
            await asyncio.wait(runs, timeout=30)
            pipe.send(report(devices))
            return


def worker(port, hall, shares, options, pipe):
    """A worker process: `shares` = [(device, key hex, rater)]."""
    asyncio.run(_main(port, hall, shares, options, pipe))
