# Drive a flash outbox on a littlefs image and print JSON lines.
#
#   micropython outbox_run.py IMAGE BLOCKS CAPACITY OP [OP ...]
#
# OPs: append:N  ack:SEQ  ack:A-B  peek:LIMIT  state  drain  fill  torn:N
#   append:N  appends N records, prints {"appended": [seqs]} (N <= 500) or
#             the first and last seq
#   drain     peek(8)/ack until empty, checking every wire; prints the seqs
#   fill      appends until OutboxFull; prints how many and the depth
#   torn:N    closes the outbox, adds the first N bytes of a record to the
#             newest segment file (a write cut by power loss), reopens
import binascii
import gc
import hashlib
import json
import os
import sys
import time

import heap_margin
from blockdev import mount

WIRE_SIZE = 160  # a real signed rating is 150-170 bytes


def make_wire(seq):
    """Even seqs end like a signed message (packed on flash), odd ones do not."""
    body = b'[1,"R","dev-test-0001",%d,"s-%08d",5,[],1,"A0042",1795248000,true' % (seq, seq)
    if seq % 2 == 0:
        return body + b',"' + binascii.hexlify(hashlib.sha256(body).digest()) + b'"]'
    return body + b',"' + b"x" * (WIRE_SIZE - 4 - len(body)) + b'"]'


def emit(**kw):
    print(json.dumps(kw))


def state(box):
    names = sorted(os.listdir(box.directory))
    emit(next_seq=box.next_seq, depth=box.depth(), full=box.full(), files=names)


def drain(box):
    count = bad = 0
    first = last = None
    ordered = True
    while box.depth():
        batch = box.peek(8)
        if not batch:
            break
        for seq, wire in batch:
            if wire != make_wire(seq):
                bad += 1
            if not box.ack(seq):
                bad += 1
            if last is not None and seq <= last:
                ordered = False
            if first is None:
                first = seq
            last = seq
            count += 1
    emit(drained=count, first=first, last=last, ordered=ordered, bad=bad, depth=box.depth())


def append(box, n):
    if n <= 500:
        emit(appended=[box.append(make_wire) for _ in range(n)])
        return
    first = box.append(make_wire)
    contiguous = True
    last = first
    for _ in range(n - 1):
        seq = box.append(make_wire)
        contiguous = contiguous and seq == last + 1
        last = seq
    emit(appended_first=first, appended_last=last, contiguous=contiguous)


def tear(box, n):
    from firmware.outbox import Outbox

    box.close()
    newest = max(int(name[1:]) for name in os.listdir(box.directory) if name[0] == "s")
    record = b"\x52\x4f\xa0\x00" + bytes([box.next_seq & 255, box.next_seq >> 8, 0, 0]) + b"\xee" * 200
    with open("%s/s%d" % (box.directory, newest), "ab") as f:
        f.write(record[:n])
    emit(torn=newest, bytes=n)
    return Outbox(box.directory, capacity=box.capacity)


def run(box, op):
    name, _, arg = op.partition(":")
    if name == "torn":
        return tear(box, int(arg))
    if name == "append":
        append(box, int(arg))
    elif name == "ack":
        if "-" in arg:
            a, b = arg.split("-")
            emit(acked=[box.ack(s) for s in range(int(a), int(b) + 1)])
        else:
            emit(acked=[box.ack(int(arg))])
    elif name == "peek":
        batch = box.peek(int(arg))
        emit(peek=[s for s, _ in batch], ok=all(w == make_wire(s) for s, w in batch))
    elif name == "state":
        state(box)
    elif name == "drain":
        drain(box)
    elif name == "fill":
        from firmware.outbox import OutboxFull

        n = 0
        t0 = time.ticks_ms()
        try:
            while True:
                box.append(make_wire)
                n += 1
        except OutboxFull as e:
            emit(
                filled=n,
                depth=box.depth(),
                full=box.full(),
                error=str(e),
                ms=time.ticks_diff(time.ticks_ms(), t0),
            )
    else:
        raise ValueError(op)
    return box


def main():
    image, blocks, capacity = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mount(image, "/flash", block_count=blocks)
    os.chdir("/flash")
    from firmware.outbox import Outbox

    gc.collect()
    t0 = time.ticks_ms()
    box = Outbox("outbox", capacity=capacity)
    emit(opened_ms=time.ticks_diff(time.ticks_ms(), t0), next_seq=box.next_seq, depth=box.depth())
    for op in sys.argv[4:]:
        box = run(box, op)
        heap_margin.note()
    box.close()
    heap_margin.report()


main()
