# Cut the power at every block write of a scenario, one cut per pass.
#
#   micropython outbox_cutsweep.py WORKDIR
#
# A base image holds 249 records with 1..248 acked. The scenario then seals
# segment s1 (record 250), starts s251, drains s1 (deleting it and its ack
# log) and acks the newest segment empty. Pass N lets N block writes reach
# the image, drops the rest, then remounts and checks. Prints one JSON line
# per failing pass and a summary line.
import json
import sys

import vfs
from blockdev import FileBlockDevice

BLOCKS = 64
SCENARIO = (
    ("append",),
    ("append",),
    ("ack", 249),
    ("ack", 250),
    ("ack", 251),
    ("append",),
    ("ack", 252),
    ("append",),
    ("append",),
    ("ack", 254),
)


def make_wire(seq):
    body = b'[1,"R","dev-sweep",%d,null,5,[],1,"A1",1795248000,true' % seq
    return body + b',"' + (b"%064x" % (seq * 40503))[-64:] + b'"]'


def copy(src, dst):
    with open(src, "rb") as a, open(dst, "wb") as b:
        while True:
            chunk = a.read(4096)
            if not chunk:
                break
            b.write(chunk)


def mounted(path, fmt=False):
    dev = FileBlockDevice(path, block_count=BLOCKS)
    if fmt:
        vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/flash")
    return dev


def build_base(path):
    from firmware.outbox import Outbox

    mounted(path, fmt=True)
    box = Outbox("/flash/outbox")
    for _ in range(249):
        box.append(make_wire)
    for seq in range(1, 249):
        box.ack(seq)
    box.close()
    vfs.umount("/flash")


def one_pass(base, work, cut):
    """Run the scenario with `cut` writes of power; return (problems, done)."""
    from firmware.outbox import Outbox

    copy(base, work)
    dev = mounted(work)
    box = Outbox("/flash/outbox")
    must, may, gone, returned = {249}, set(), set(), set()
    dev.power_left = cut
    finished = True
    for step in SCENARIO:
        seq = box.next_seq if step[0] == "append" else step[1]
        try:
            if step[0] == "append":
                seq = box.append(make_wire)
            else:
                box.ack(seq)
        except Exception:
            pass
        if dev.power_left == 0:  # cut before or during this call
            may.add(seq)
            must.discard(seq)
            finished = False
            break
        if step[0] == "append":
            must.add(seq)
            returned.add(seq)
        else:
            must.discard(seq)
            gone.add(seq)
    try:
        box.close()
    except Exception:
        pass
    vfs.umount("/flash")
    mounted(work)
    box = Outbox("/flash/outbox")
    present = set()
    bad = 0
    for seq, wire in box.peek(50):
        present.add(seq)
        bad += wire != make_wire(seq)
    problems = []
    if bad:
        problems.append("bad wires")
    if must - present:
        problems.append("lost %s" % sorted(must - present))
    if present & gone:
        problems.append("resurrected %s" % sorted(present & gone))
    if present - must - may:
        problems.append("phantom %s" % sorted(present - must - may))
    if returned and box.next_seq <= max(returned):
        problems.append("next_seq %d reuses" % box.next_seq)
    if box.depth() != len(present):
        problems.append("depth %d" % box.depth())
    box.close()
    vfs.umount("/flash")
    return problems, finished


def main():
    workdir = sys.argv[1]
    base, work = workdir + "/base.img", workdir + "/work.img"
    build_base(base)
    cut = 0
    failures = 0
    while True:
        problems, finished = one_pass(base, work, cut)
        if problems:
            failures += 1
            print(json.dumps({"cut": cut, "problems": problems}))
        if finished:
            break
        cut += 1
    print(json.dumps({"passes": cut + 1, "failures": failures}))


main()
