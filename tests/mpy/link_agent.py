# A firmware Link under test: prints one JSON line per event for tests/test_link.py.
# Usage: micropython link_agent.py '<json config>'
# config: host, port, client_id, keepalive, user, password, will [t, payload, qos, retain],
#   subscribe [topics], backoff_min_ms, backoff_max_ms, duration_s,
#   publish_on_connect topic (publishes "hello <n>" QoS1 on every connect),
#   publish_timeout_ms (for those publishes),
#   probe_when_down (one publish per outage, timed), quit_on (payload that ends the run)
import binascii
import gc
import hashlib
import json
import sys
from time import ticks_diff, ticks_ms

from firmware.link import STATS, Link

cfg = json.loads(sys.argv[1])
T0 = ticks_ms()


def emit(ev, **fields):
    fields["ev"] = ev
    fields["t"] = ticks_diff(ticks_ms(), T0)
    print(json.dumps(fields))


state = {"quit": False, "connects": 0}


def on_message(topic, payload):
    digest = binascii.hexlify(hashlib.sha256(payload).digest()).decode()
    emit(
        "rx", topic=topic, len=len(payload), sha=digest, head=bytes(payload[:32]).decode(), free=gc.mem_free()
    )
    if payload == cfg.get("quit_on", "").encode():
        state["quit"] = True


def on_connect():
    state["connects"] += 1
    emit("connected", n=state["connects"])


will = cfg.get("will")
link = Link(
    cfg["host"],
    cfg["port"],
    cfg.get("client_id", "dev1"),
    user=cfg.get("user"),
    password=cfg.get("password"),
    keepalive=cfg.get("keepalive", 30),
    will=(will[0], will[1].encode(), will[2], will[3]) if will else None,
    on_message=on_message,
    on_connect=on_connect,
    backoff_min_ms=cfg.get("backoff_min_ms", 500),
    backoff_max_ms=cfg.get("backoff_max_ms", 30000),
    puback_ms=cfg.get("publish_timeout_ms", 5000),
    log=lambda line: emit("log", msg=line),
)
for topic in cfg.get("subscribe", ()):
    link.subscribe(topic, 1)


acked = []  # packet ids the broker acknowledged (on_puback)
link.on_puback = acked.append
waiting = []  # [n, pid, ticks published] of the publishes awaiting their PUBACK


def check_publishes():
    """A publish is ok once its PUBACK came; not ok when it timed out or the
    connection dropped first."""
    timeout = cfg.get("publish_timeout_ms", 5000)
    for item in list(waiting):
        n, pid, began = item
        if pid in acked:
            ok = True
        elif not link.pending(pid) or ticks_diff(ticks_ms(), began) >= timeout:
            ok = False
        else:
            continue
        waiting.remove(item)
        emit("published", n=n, ok=ok)


def run_for(ms):
    began = ticks_ms()
    while ticks_diff(ticks_ms(), began) < ms:
        link.step(10)
        check_publishes()


def main():
    seen = 0
    was_up = False
    deadline = cfg.get("duration_s", 10) * 1000
    while not state["quit"] and ticks_diff(ticks_ms(), T0) < deadline:
        if link.connected and not was_up:
            was_up = True
            if cfg.get("publish_on_connect") and state["connects"] > seen:
                seen = state["connects"]
                pid = link.publish(cfg["publish_on_connect"], "hello %d" % seen, 1)
                if pid:
                    waiting.append([seen, pid, ticks_ms()])
                else:
                    emit("published", n=seen, ok=False)
            if cfg.get("measure_heap"):
                run_for(300)  # let SUBACK arrive
                gc.collect()
                emit("heap", alloc=gc.mem_alloc(), free=gc.mem_free())
        elif not link.connected and was_up:
            was_up = False
            emit("down", stats=dict(zip(STATS.split(), link.stats)))
            if cfg.get("probe_when_down"):
                began = ticks_ms()
                ok = link.publish("probe/offline", b"x", 1) != 0
                emit("offline_publish", ok=ok, ms=ticks_diff(ticks_ms(), began))
        link.step(10)
        check_publishes()
    link.close()
    run_for(200)
    emit("end", stats=dict(zip(STATS.split(), link.stats)), suback_failures=link.suback_failures)


main()
