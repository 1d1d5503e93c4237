# Flash wear of the device's own writes, counted per block; prints one JSON object.
#
#   micropython -X heapsize=100K flash_wear.py IMAGE BLOCKS RATINGS SCREENS DAYS PER_DAY [FILL]
#
# On a new littlefs image of BLOCKS 4 KB blocks (MicroPython's VfsLfs2, as
# the ESP32 mounts its data partition), through the simulator's file block
# device with counters of what littlefs asks of each block (a subclass here:
# counters in the board's own module would cost the simulated device heap
# and qstrs that an ESP32 does not spend):
#   rating   RATINGS times the firmware's Outbox append then ack (a segment
#            file is deleted once all its records are acked), as a rating
#            the host acks at once;
#   screen   SCREENS times a session's bitmaps stored by the firmware's
#            PartStore into parts.bin (item, staff and QR parts of a real
#            session's sizes, ~3 KB of base64);
#   days     DAYS days of PER_DAY ratings and PER_DAY screens interleaved, on
#            the same image; then the erase count of every block;
#   beat     RATINGS heartbeats by the firmware's App (its real _heartbeat and
#            status; a stand-in for the MQTT link, the radio here), a
#            heartbeat period apart on App's clock;
#   idle     RATINGS idle messages through the App's own message handler, the
#            same screen each time with a newer host time, as hostd sends one
#            after every session (the first one stores its bitmaps and is
#            kept on flash for the next boot; the rest must write nothing);
#   raw      baselines on the same image: the same rating bytes appended to
#            one plain file (write + flush), RATINGS times; the same screen
#            bytes rewritten in place in another (seek 0, write, flush),
#            SCREENS times;
#   fill     with FILL (a record count), a new image is filled with pending
#            ratings until the outbox refuses one (OutboxFull): the records a
#            device holds offline, and the bytes of flash they take.
# Erases are what wears NOR flash out (~100,000 cycles a sector).
import binascii
import gc
import hashlib
import json
import os
import sys
from array import array

import vfs
from blockdev import FileBlockDevice
from micropython import const

_ERASE = const(6)  # the block device ioctl littlefs erases a block with


class Counting(FileBlockDevice):
    def __init__(self, path, block_count):
        super().__init__(path, block_count=block_count)
        self.reads = array("I", bytes(4 * block_count))
        self.programs = array("I", bytes(4 * block_count))
        self.erases = array("I", bytes(4 * block_count))

    def readblocks(self, block, buf, offset=0):
        self.reads[block] += 1
        super().readblocks(block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        self.programs[block] += 1
        super().writeblocks(block, buf, offset)

    def ioctl(self, op, arg):
        if op == _ERASE:
            self.erases[arg] += 1
        return super().ioctl(op, arg)


def mount(image, block_count):
    """A new littlefs on a counting block device, at /flash."""
    dev = Counting(image, block_count)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/flash")
    return dev


def make_wire(seq):
    """A rating as protocol.messages.sign makes it (~160 bytes)."""
    body = b'[1,"R","gz-tianhe-zwfw-w012",%d,"s-20260705-%06d",2,[1,3],1,"A0042",1795248000,true' % (seq, seq)
    return body + b',"' + binascii.hexlify(hashlib.sha256(body).digest()) + b'"]'


def session_parts():
    """A session's parts list as hostd sends it: [["item",W,H,"b64"],...]."""
    out = b"["
    for i, (name, w, h) in enumerate(((b"item", 296, 40), (b"staff", 192, 24), (b"qr", 37, 37))):
        raw = bytes((x * 37 + i) & 0xFF for x in range(((w + 7) >> 3) * h))
        out += b'%s["%s",%d,%d,"%s"]' % (b"," if i else b"", name, w, h, binascii.b2a_base64(raw).strip())
    return out + b"]"


class _Link:
    """The MQTT link's interface as App uses it; publishes go nowhere."""

    connected = True
    refusal = 0

    def __init__(self, *args, **kwargs):
        self.sent = 0

    def subscribe(self, topic, qos=1):
        pass

    def publish(self, topic, payload, qos=1, retain=False):
        self.sent += 1
        return True


class _Config:
    device_id = "gz-tianhe-zwfw-w012"
    hall = "gz-tianhe"
    window = "W12"
    key = b"0123456789abcdef0123456789abcdef"
    broker_host = "127.0.0.1"
    broker_port = 1883
    heartbeat_s = 30
    response_interval_ms = 3000
    session_ttl_s = 120
    thanks_ms = 3000


class _Pin:
    def __call__(self, level=None):
        return 0

    def value(self, level=None):
        return 0


class _Spi:
    def write(self, buf):
        pass


def idle_wire(host_time):
    """A signed idle message: a staff member on duty, window and staff bitmaps."""
    from protocol import wire

    parts = [
        [n, w, h, binascii.b2a_base64(bytes(((w + 7) >> 3) * h)).strip().decode()]
        for n, w, h in (("window", 300, 40), ("staff", 175, 20))
    ]
    fields = [1, "I", _Config.device_id, "W12", "staff-42", "张晓明", "0042", True, host_time, parts]
    return wire.sign(_Config.key, fields)


def heartbeats(count, box, parts_file, idles=None):
    """`count` heartbeats by the firmware's own App; returns the link's publish
    count. With `idles` (a function called with App's message handler), it
    then runs that."""
    from firmware.app import App
    from firmware.clock import Clock
    from firmware.display import Display
    from firmware.evaluator import Evaluator
    from firmware.panel import ST7789

    now = [0]

    def ticks():
        return now[0]

    def ticks_diff(a, b):
        return a - b

    display = Display(ST7789(_Spi(), _Pin(), sleep_ms=lambda ms: None))
    clock = Clock(ticks, 0, rtc=lambda: 1795248000)
    evaluator = Evaluator(_Config, display, box, clock, ticks)
    app = App(_Config, evaluator, box, None, clock, ticks, ticks_diff, _Link, None, None, parts_file)
    for _ in range(count):
        now[0] += _Config.heartbeat_s * 1000
        app._heartbeat(now[0])
    if idles is not None:
        idles(app)
    return app.link.sent


def totals(dev):
    return sum(dev.erases), sum(dev.programs), sum(dev.reads)


def main():
    image, blocks, ratings, screens, days, per_day = sys.argv[1:7]
    blocks, ratings, screens, days, per_day = (int(v) for v in (blocks, ratings, screens, days, per_day))
    fill = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    here = os.getcwd()
    if fill:  # made now, while the heap is whole: its 4 KB erase buffer needs a contiguous run
        FileBlockDevice(image + ".fill", block_count=blocks).file.close()
    dev = mount(image, blocks)
    os.chdir("/flash")
    from firmware.hostmsg import SESSION_BASE, PartStore
    from firmware.outbox import Outbox, OutboxFull

    out = {"blocks": blocks, "block_bytes": 4096}
    box = Outbox("outbox")
    parts_file = open("parts.bin", "w+b")
    store = PartStore(parts_file, SESSION_BASE)
    payload = session_parts()
    out["screen_bytes"] = len(payload)
    out["rating_bytes"] = len(make_wire(1))

    def rating():
        seq = box.append(make_wire)
        box.ack(seq)

    def screen():
        store.store(payload, 0, len(payload))

    idle_counts = []

    def idles(app):
        for i in range(ratings + 1):
            message = memoryview(bytearray(idle_wire(1795248000 + 60 * i)))
            if i == 1:  # after the first: it is on flash, its bitmaps too
                idle_counts.append(totals(dev))
            app._on_message("idle", message)
        idle_counts.append(totals(dev))
        # Taken, not refused: who serves is known, and the message is kept.
        idle_counts.append((app.rejected, app.evaluator.staff_id, os.stat("idle.msg")[6]))

    before = totals(dev)
    sent = heartbeats(ratings, box, parts_file)
    after = totals(dev)
    out["beat"] = {"count": sent, "erases": after[0] - before[0], "programs": after[1] - before[1]}
    gc.collect()
    heartbeats(0, box, parts_file, idles)
    first, last, taken = idle_counts
    out["idle"] = {"count": ratings, "erases": last[0] - first[0], "programs": last[1] - first[1]}
    out["idle_taken"] = {"rejected": taken[0], "staff": taken[1], "kept_bytes": taken[2]}
    gc.collect()

    for name, count, step in (("rating", ratings, rating), ("screen", screens, screen)):
        before = totals(dev)
        for _ in range(count):
            step()
        after = totals(dev)
        out[name] = {
            "count": count,
            "erases": after[0] - before[0],
            "programs": after[1] - before[1],
            "reads": after[2] - before[2],
        }
        gc.collect()

    for _day in range(days):
        for _ in range(per_day):
            rating()
            screen()
    erases = sorted(dev.erases)
    total = sum(erases)
    wire = make_wire(1)
    raw_file = open("raw.bin", "wb")
    raw_screen = open("raw_screen.bin", "w+b")

    def raw_rating():
        raw_file.write(wire)
        raw_file.flush()

    def raw_screen_write():
        raw_screen.seek(0)
        raw_screen.write(payload)
        raw_screen.flush()

    for name, count, step in (("raw_rating", ratings, raw_rating), ("raw_screen", screens, raw_screen_write)):
        before = totals(dev)
        for _ in range(count):
            step()
        after = totals(dev)
        out[name] = {"count": count, "erases": after[0] - before[0], "programs": after[1] - before[1]}
    raw_file.close()
    raw_screen.close()
    out["days"] = {
        "days": days,
        "per_day": per_day,
        "ratings_before": ratings,
        "screens_before": screens,
        "erases_total": total,
        "erase_max": erases[-1],
        "erase_mean": total / blocks,
        "erase_median": erases[blocks // 2],
        "blocks_never_erased": sum(1 for e in erases if e == 0),
    }
    parts_file.close()
    box.close()

    if fill:
        os.chdir(here)
        vfs.umount("/flash")
        dev = mount(image + ".fill", blocks)
        os.chdir("/flash")
        box = Outbox("outbox", capacity=fill)
        held = 0
        refused = None
        while held < fill + 1:
            try:
                box.append(make_wire)
                held += 1
            except OutboxFull as e:
                refused = str(e)
                break
        stat = os.statvfs("/flash")
        out["fill"] = {
            "capacity": fill,
            "held": held,
            "refused": refused,
            "free_bytes": stat[0] * stat[3],
            "total_bytes": stat[0] * stat[2],
        }
    print(json.dumps(out))


main()
