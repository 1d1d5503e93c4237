# Publish, receive, measure: heap of an idle connected Link, allocations during a
# publish and a receive, concurrent QoS1 publishes, QoS1 round-trip time.
# Usage: micropython link_pubsub.py <port> <rtt_count>
# Prints JSON lines; "ready" lines ask the test to publish to t/in (small, then large).
import asyncio
import gc
import json
import sys
from time import ticks_diff, ticks_ms, ticks_us

PORT = int(sys.argv[1])
RTT_COUNT = int(sys.argv[2])


def emit(ev, **fields):
    fields["ev"] = ev
    print(json.dumps(fields))


gc.collect()
before_import = gc.mem_alloc()
from firmware.link import Link  # noqa: E402

gc.collect()
after_import = gc.mem_alloc()
got = []
arrived = asyncio.Event()
mark = [0, 0]  # [allocation baseline, allocated when the message arrived]


def on_message(topic, payload):
    mark[1] = gc.mem_alloc() - mark[0]
    got.append((topic, len(payload), bytes(payload[:16])))
    arrived.set()


link = None


async def wait_connected():
    began = ticks_ms()
    while not link.connected:
        if ticks_diff(ticks_ms(), began) > 5000:
            raise SystemExit("not connected in 5 s")
        await asyncio.sleep_ms(10)


async def receive(what):
    arrived.clear()
    gc.collect()
    mark[0] = gc.mem_alloc()
    gc.disable()  # no frees: mem_alloc growth bounds the peak from above
    emit("ready", what=what)
    await asyncio.wait_for_ms(arrived.wait(), 10000)
    await asyncio.sleep_ms(50)  # PUBACK goes out
    total = gc.mem_alloc() - mark[0]
    gc.enable()
    topic, size, head = got[-1]
    emit("received", what=what, topic=topic, len=size, head=head.decode(),
         alloc_at_callback=mark[1], alloc_total=total)


async def main():
    global link
    await asyncio.sleep_ms(10)  # the event loop and its poller exist now
    gc.collect()
    baseline = gc.mem_alloc()
    link = Link("127.0.0.1", PORT, "bench1", keepalive=30, on_message=on_message, log=None)
    link.subscribe("t/in", 1)
    runner = asyncio.create_task(link.run())
    await wait_connected()
    await asyncio.sleep_ms(300)  # SUBACK
    gc.collect()
    idle = gc.mem_alloc()
    rx = len(link._rx) if link._rx is not None else 0  # a caller's receive buffer, counted apart
    emit("heap", code=after_import - before_import, idle_link=idle - baseline - rx,
         rx_buffer=rx, free=gc.mem_free())

    gc.collect()
    base = gc.mem_alloc()
    gc.disable()
    ok = await link.publish("t/out", b"p" * 200, 1)
    grown = gc.mem_alloc() - base
    gc.enable()
    emit("publish", ok=ok, alloc=grown)

    await receive("small")
    await receive("large")

    results = await asyncio.gather(*[link.publish("t/out", "c%d" % i, 1) for i in range(20)])
    emit("concurrent", ok=results, acked=link.stats["acked"])

    times = []
    for i in range(RTT_COUNT):
        began = ticks_us()
        if not await link.publish("t/rtt", b"r", 1):
            emit("rtt_fail", i=i)
            break
        times.append(ticks_diff(ticks_us(), began))
    times.sort()
    gc.collect()
    emit("rtt", n=len(times), median_us=times[len(times) // 2] if times else -1,
         max_us=times[-1] if times else -1, free=gc.mem_free())
    link.close()
    await asyncio.sleep_ms(100)
    emit("end", stats=link.stats)
    runner.cancel()


asyncio.run(main())
