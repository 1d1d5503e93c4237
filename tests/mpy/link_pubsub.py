# Publish, receive, measure: heap of an idle connected Link, allocations during a
# publish and a receive, concurrent QoS1 publishes, QoS1 round-trip time.
# Usage: micropython link_pubsub.py <port> <rtt_count>
# Prints JSON lines; "ready" lines ask the test to publish to t/in (small, then large).
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
from firmware.link import STATS, Link  # noqa: E402

gc.collect()
after_import = gc.mem_alloc()
got = []
acked = set()  # packet ids the broker acknowledged
mark = [0, 0]  # [allocation baseline, allocated when the message arrived]


def on_message(topic, payload):
    mark[1] = gc.mem_alloc() - mark[0]
    got.append((topic, len(payload), bytes(payload[:16])))


link = None


def run_until(done, ms, what):
    began = ticks_ms()
    while not done():
        if ticks_diff(ticks_ms(), began) > ms:
            raise SystemExit("%s: not within %d ms" % (what, ms))
        link.step(10)


def run_for(ms):
    began = ticks_ms()
    while ticks_diff(ticks_ms(), began) < ms:
        link.step(10)


def publish(topic, payload):
    """QoS1 publish; True once its PUBACK came."""
    pid = link.publish(topic, payload, 1)
    if pid:
        run_until(lambda: not link.pending(pid), 6000, "PUBACK")
    return pid in acked


def receive(what):
    count = len(got)
    gc.collect()
    mark[0] = gc.mem_alloc()
    gc.disable()  # no frees: mem_alloc growth bounds the peak from above
    emit("ready", what=what)
    run_until(lambda: len(got) > count, 10000, "message")
    run_for(50)  # PUBACK goes out
    total = gc.mem_alloc() - mark[0]
    gc.enable()
    topic, size, head = got[-1]
    emit(
        "received",
        what=what,
        topic=topic,
        len=size,
        head=head.decode(),
        alloc_at_callback=mark[1],
        alloc_total=total,
    )


def main():
    global link
    gc.collect()
    baseline = gc.mem_alloc()
    link = Link(
        "127.0.0.1", PORT, "bench1", keepalive=30, on_message=on_message, log=None, on_puback=acked.add
    )
    link.subscribe("t/in", 1)
    run_until(lambda: link.connected, 5000, "connect")
    run_for(300)  # SUBACK
    gc.collect()
    idle = gc.mem_alloc()
    rx = len(link._rx) if link._rx is not None else 0  # a caller's receive buffer, counted apart
    emit(
        "heap",
        code=after_import - before_import,
        idle_link=idle - baseline - rx,
        rx_buffer=rx,
        free=gc.mem_free(),
    )

    gc.collect()
    base = gc.mem_alloc()
    gc.disable()
    ok = publish("t/out", b"p" * 200)
    grown = gc.mem_alloc() - base
    gc.enable()
    emit("publish", ok=ok, alloc=grown)

    receive("small")
    receive("large")

    pids = [link.publish("t/out", "c%d" % i, 1) for i in range(20)]
    run_until(lambda: not [p for p in pids if link.pending(p)], 6000, "20 PUBACKs")
    emit("concurrent", ok=[p in acked for p in pids], acked=link.stats[STATS.split().index("acked")])

    times = []
    for i in range(RTT_COUNT):
        began = ticks_us()
        if not publish("t/rtt", b"r"):
            emit("rtt_fail", i=i)
            break
        times.append(ticks_diff(ticks_us(), began))
    times.sort()
    gc.collect()
    emit(
        "rtt",
        n=len(times),
        median_us=times[len(times) // 2] if times else -1,
        max_us=times[-1] if times else -1,
        free=gc.mem_free(),
    )
    link.close()
    run_for(100)
    emit("end", stats=dict(zip(STATS.split(), link.stats)))


main()
