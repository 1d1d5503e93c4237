# A firmware Link under test: prints one JSON line per event for tests/test_link.py.
# Usage: micropython link_agent.py '<json config>'
# config: host, port, client_id, keepalive, user, password, will [t, payload, qos, retain],
#   subscribe [topics], backoff_min_ms, backoff_max_ms, duration_s,
#   publish_on_connect topic (publishes "hello <n>" QoS1 on every connect),
#   publish_timeout_ms (for those publishes),
#   probe_when_down (one publish per outage, timed), quit_on (payload that ends the run)
import asyncio
import gc
import hashlib
import json
import sys
from time import ticks_diff, ticks_ms

import binascii

from firmware.link import Link

cfg = json.loads(sys.argv[1])
T0 = ticks_ms()


def emit(ev, **fields):
    fields["ev"] = ev
    fields["t"] = ticks_diff(ticks_ms(), T0)
    print(json.dumps(fields))


state = {"quit": False, "connects": 0}


def on_message(topic, payload):
    digest = binascii.hexlify(hashlib.sha256(payload).digest()).decode()
    emit("rx", topic=topic, len=len(payload), sha=digest, head=bytes(payload[:32]).decode(),
         free=gc.mem_free())
    if payload == cfg.get("quit_on", "").encode():
        state["quit"] = True


def on_connect():
    state["connects"] += 1
    emit("connected", n=state["connects"])


will = cfg.get("will")
link = Link(cfg["host"], cfg["port"], cfg.get("client_id", "dev1"),
            user=cfg.get("user"), password=cfg.get("password"),
            keepalive=cfg.get("keepalive", 30),
            will=(will[0], will[1].encode(), will[2], will[3]) if will else None,
            on_message=on_message, on_connect=on_connect,
            backoff_min_ms=cfg.get("backoff_min_ms", 500),
            backoff_max_ms=cfg.get("backoff_max_ms", 30000),
            log=lambda line: emit("log", msg=line))
for topic in cfg.get("subscribe", ()):
    link.subscribe(topic, 1)


async def publish_on_connect(n):
    ok = await link.publish(cfg["publish_on_connect"], "hello %d" % n, 1,
                            timeout_ms=cfg.get("publish_timeout_ms", 5000))
    emit("published", n=n, ok=ok)


async def watch():
    seen = 0
    was_up = False
    deadline = cfg.get("duration_s", 10) * 1000
    while not state["quit"] and ticks_diff(ticks_ms(), T0) < deadline:
        if link.connected and not was_up:
            was_up = True
            if cfg.get("publish_on_connect") and state["connects"] > seen:
                seen = state["connects"]
                asyncio.create_task(publish_on_connect(seen))
            if cfg.get("measure_heap"):
                await asyncio.sleep_ms(300)  # let SUBACK arrive
                gc.collect()
                emit("heap", alloc=gc.mem_alloc(), free=gc.mem_free())
        elif not link.connected and was_up:
            was_up = False
            emit("down", stats=link.stats)
            if cfg.get("probe_when_down"):
                began = ticks_ms()
                ok = await link.publish("probe/offline", b"x", 1)
                emit("offline_publish", ok=ok, ms=ticks_diff(ticks_ms(), began))
        await asyncio.sleep_ms(10)
    link.close()
    await asyncio.sleep_ms(200)
    emit("end", stats=link.stats, suback_failures=link.suback_failures)


async def main():
    runner = asyncio.create_task(link.run())
    await watch()
    await asyncio.sleep_ms(100)
    runner.cancel()


asyncio.run(main())
