# Baseline for the outbox append: the raw littlefs file append on the same
# kind of image. Prints one JSON object.
#
#   micropython -X heapsize=100K bench_raw_append.py IMAGE [BLOCKS] [APPENDS]
#
# Each append writes one rating-sized record (the same bytes outbox_bench.py
# makes) to one open file and flushes it (littlefs sync: on flash), which is
# the least a durable append can do.
import binascii
import hashlib
import json
import os
import sys
import time

from blockdev import mount


def make_wire(seq):
    body = b'[1,"R","gz-tianhe-zwfw-w012",%d,"s-20260705-%06d",5,[],1,"A0042",1795248000,true' % (seq, seq)
    return body + b',"' + binascii.hexlify(hashlib.sha256(body).digest()) + b'"]'


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    image = sys.argv[1]
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    appends = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    mount(image, "/flash", block_count=blocks)
    os.chdir("/flash")
    times = []
    f = open("raw.log", "ab")
    for seq in range(1, appends + 1):
        wire = make_wire(seq)
        t0 = time.ticks_us()
        f.write(wire)
        f.flush()
        times.append(time.ticks_diff(time.ticks_us(), t0))
    f.close()
    times.sort()
    print(
        json.dumps(
            {
                "appends": appends,
                "append_median_us": percentile(times, 0.5),
                "append_p95_us": percentile(times, 0.95),
                "append_max_us": times[-1],
                "file_bytes": os.stat("raw.log")[6],
            }
        )
    )


main()
