# Outbox numbers on a file-backed littlefs image; prints one JSON object.
#
#   micropython -X heapsize=100K outbox_bench.py IMAGE [BLOCKS] [APPENDS] [FULL]
#
# IMAGE must be a new file. APPENDS (default 500) are timed one by one;
# then the outbox is filled to 1,000 and to FULL (default 10,000) pending
# records and reopened, timing the open and measuring the heap it holds.
import binascii
import gc
import hashlib
import json
import os
import sys
import time

from blockdev import mount


def make_wire(seq):
    """A rating shaped like protocol.messages.sign output (~162 bytes)."""
    body = b'[1,"R","gz-tianhe-zwfw-w012",%d,"s-20260705-%06d",5,[],1,"A0042",1795248000,true' % (seq, seq)
    return body + b',"' + binascii.hexlify(hashlib.sha256(body).digest()) + b'"]'


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def fill_to(box, pending):
    while box.depth() < pending:
        box.append(make_wire)


def reopen(box, Outbox, capacity):
    box.close()
    box = None
    gc.collect()
    before = gc.mem_alloc()
    t0 = time.ticks_us()
    box = Outbox("outbox", capacity=capacity)
    open_us = time.ticks_diff(time.ticks_us(), t0)
    gc.collect()
    return box, open_us, gc.mem_alloc() - before, gc.mem_alloc()


def main():
    image = sys.argv[1]
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    appends = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    full = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    mount(image, "/flash", block_count=blocks)
    os.chdir("/flash")
    from firmware.outbox import Outbox

    capacity = max(full, 1000)
    box = Outbox("outbox", capacity=capacity)
    times = []
    for _ in range(appends):
        t0 = time.ticks_us()
        seq = box.append(make_wire)
        times.append(time.ticks_diff(time.ticks_us(), t0))
        box.ack(seq)  # steady state: the host keeps up
    times.sort()
    ack_t0 = time.ticks_us()
    extra = box.append(make_wire)
    box.ack(extra)
    result = {
        "wire_bytes": len(make_wire(box.next_seq)),
        "appends": appends,
        "append_median_us": percentile(times, 0.5),
        "append_p95_us": percentile(times, 0.95),
        "append_max_us": times[-1],
        "append_ack_pair_us": time.ticks_diff(time.ticks_us(), ack_t0),
    }
    fill_to(box, 1000)
    box, open_us, delta, total = reopen(box, Outbox, capacity)
    result["open_1000_ms"] = open_us // 1000
    result["heap_outbox_1000_bytes"] = delta
    result["heap_in_use_1000_bytes"] = total
    t0 = time.ticks_ms()
    fill_to(box, full)
    result["fill_to_full_ms"] = time.ticks_diff(time.ticks_ms(), t0)
    box, open_us, delta, total = reopen(box, Outbox, capacity)
    result["pending_full"] = box.depth()
    result["open_full_ms"] = open_us // 1000
    result["heap_outbox_full_bytes"] = delta
    result["heap_in_use_full_bytes"] = total
    t0 = time.ticks_us()
    box.peek(8)
    result["peek8_us"] = time.ticks_diff(time.ticks_us(), t0)
    fs = os.statvfs("/flash")
    result["flash_blocks"] = fs[2]
    result["flash_blocks_used"] = fs[2] - fs[3]
    result["next_seq"] = box.next_seq
    box.close()
    print(json.dumps(result))


main()
