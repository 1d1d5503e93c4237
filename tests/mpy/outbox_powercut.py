# The two halves of the power-cut test (tests/test_powercut.py).
#
#   micropython outbox_powercut.py IMAGE BLOCKS work SEED
#       appends and acks ratings until it is killed, printing one line per
#       step, each with a single write: "B s" before append (s = next_seq),
#       "A s" after append returned s, "K s" before ack(s), "k s" after
#       ack(s) returned True. "R next_seq depth" once the outbox is open.
#   micropython outbox_powercut.py IMAGE BLOCKS check
#       mounts without formatting and prints one JSON object: next_seq,
#       depth, the pending seqs, and how many wires did not match.
import json
import os
import random
import sys

from blockdev import mount


def make_wire(seq):
    body = b'[1,"R","dev-cut",%d,null,%d,[],1,"A1",1795248000,true' % (seq, seq % 5 + 1)
    tail = b"%064x" % (seq * 2654435761)  # a signature-like hex tail
    return body + b',"' + tail[-64:] + b'"]'


def say(line):
    sys.stdout.write(line + "\n")  # one write(2): a kill never splits it


def work(box, seed):
    random.seed(seed)
    say("R %d %d" % (box.next_seq, box.depth()))
    while True:
        roll = random.getrandbits(4)
        if box.depth() < 300 and roll < 12:
            say("B %d" % box.next_seq)
            seq = box.append(make_wire)
            say("A %d" % seq)
            continue
        batch = box.peek(8)
        if not batch:
            continue
        if roll & 1:  # usually the oldest, sometimes out of order
            batch = batch[random.getrandbits(3) % len(batch) :]
        for seq, _ in batch[: 1 + random.getrandbits(2)]:
            say("K %d" % seq)
            if box.ack(seq):
                say("k %d" % seq)


def check(box):
    pending = []
    bad = 0
    for seq, wire in box.peek(100000):
        pending.append(seq)
        if wire != make_wire(seq):
            bad += 1
    print(
        json.dumps(
            {
                "next_seq": box.next_seq,
                "depth": box.depth(),
                "pending": pending,
                "bad": bad,
                "files": len(os.listdir(box.directory)),
            }
        )
    )


def main():
    image, blocks, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        os.stat(image)
        fresh = False
    except OSError:
        fresh = True
    try:
        mount(image, "/flash", block_count=blocks, format_if_needed=fresh)
    except OSError as e:
        print(json.dumps({"mount_failed": str(e)}))
        return
    os.chdir("/flash")
    from firmware.outbox import Outbox

    box = Outbox("outbox")
    if mode == "work":
        work(box, int(sys.argv[4]))
    else:
        check(box)


main()
