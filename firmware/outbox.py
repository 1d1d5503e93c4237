# The flash outbox: signed ratings wait here until the host acks them.
#
# Format (one directory on littlefs, e.g. /flash/outbox):
#   s<first>  segment file: up to _SEG_RECORDS records with the contiguous
#             seqs first, first+1, ... Each record is a 12-byte header
#             <magic u16, length u16, seq u32, crc32 u32> and `length` stored
#             bytes. The CRC covers the first 8 header bytes and the stored
#             bytes. Magic "RO": the wire message as is. Magic "SO": the
#             message with its '"<64 hex>"]' signature tail kept as 32 raw
#             bytes (35 bytes less per rating; peek rebuilds the exact wire).
#   a<first>  ack log of segment s<first>: 8-byte entries <seq u32, seq^0xFFFFFFFF>.
#
# Why it survives a power cut at any instant:
# - littlefs is copy-on-write: a file's new data becomes visible only when the
#   file is synced (flush/close), atomically. append() writes one record and
#   syncs before it returns; ack() writes one entry and syncs. A cut before the
#   sync leaves the old file; after it, the new one.
# - Even so, each record carries a length, its own seq and a CRC, and a scan
#   stops at the first record that does not check. Nothing after a bad record
#   is read as data, and the next append goes to a fresh segment, never after
#   the garbage.
# - next_seq is one past the last record of the newest segment, or the newest
#   segment's name when it is empty. The newest segment is never deleted: when
#   a segment fills up, its empty successor s<next_seq> is created before
#   anything else happens. So a seq that append() returned is never reused,
#   even when every record was acked and the older segments are gone.
# - A segment is deleted only after all its records are acked: first s<first>,
#   then a<first>. A cut in between leaves an ack log without segment, which
#   the next open removes. Acked records never come back because an ack log is
#   never removed before its segment.
#
# RAM: a 48-byte index per segment file (counts, read cursor, ack bitmap):
# 40 of them for 10,000 records. Records are read from flash on peek.
# Flash: a rating takes 12 + len(wire) - 35 bytes. Measured: 10,000 pending
# 152-byte ratings use 328 of 512 4-KB blocks (1.3 MB) with littlefs overhead,
# so a 2 MB partition holds them with room to spare (tests/mpy/outbox_bench.py).
import binascii
import os
import struct

from protocol.compat import const

_MAGIC = const(0x4F52)  # b"RO" little-endian: wire stored as is
_MAGIC_PACKED = const(0x4F53)  # b"SO": signature tail stored as 32 raw bytes
_SIG_TAIL = const(67)  # '"' + 64 hex digits + '"]' ends every signed message
_SIG_RAW = const(32)
# head format: "<HHII"
_HEAD_SIZE = const(12)
# Records per segment file: ~32 KB, 8 blocks of 4 KB. Not a power of two, so
# that 128-byte records plus littlefs' block pointers do not spill into a
# nearly empty 9th block.
_SEG_RECORDS = const(250)
_MAX_WIRE = const(1024)
# entry format: "<II"
_ENTRY_SIZE = const(8)
_ALL_ONES = const(0xFFFFFFFF)
_ENOSPC = const(28)
# A new segment starts only while this much flash is free: room for the
# segment itself (~32 KB) and for the acks and deletions that drain a full
# outbox. Without it a full flash could not even record the acks that free it.
_RESERVE_BYTES = const(96 * 1024)


class OutboxFull(Exception):
    pass


# A segment's index lives in one 48-byte bytearray (about 90 bytes of heap on a
# 64-bit build, where a small class instance takes 200): <first u32,
# cursor_seq u32, cursor u32, count u16, pending u16> then the ack bitmap.
# cursor is the byte offset of record cursor_seq, the first one not known acked.
# seg format: "<IIIHH"
_SEG_BITMAP = const(16)


def _segment(first):
    seg = bytearray(_SEG_BITMAP + (_SEG_RECORDS + 7) // 8)
    struct.pack_into("<IIIHH", seg, 0, first, first, 0, 0, 0)
    return seg


# Few struct formats, each used wherever it fits: a format string is a
# qstr on the device for good (README, "Device heap").
def _first(seg):
    return struct.unpack_from("<III", seg, 0)[0]


def _count(seg):
    return struct.unpack_from("<HH", seg, 12)[0]


def _pending(seg):
    return struct.unpack_from("<HH", seg, 12)[1]


def _set_counts(seg, count, pending):
    struct.pack_into("<HH", seg, 12, count, pending)


def _is_acked(seg, seq):
    i = seq - _first(seg)
    return seg[_SEG_BITMAP + (i >> 3)] & (1 << (i & 7))


def _mark(seg, seq):
    i = seq - _first(seg)
    seg[_SEG_BITMAP + (i >> 3)] |= 1 << (i & 7)


def _checked(head, payload, extra=b""):
    crc = binascii.crc32(memoryview(head)[:8])
    return binascii.crc32(extra, binascii.crc32(payload, crc))


def _raw_signature(wire):
    """The 32 signature bytes if wire ends '"<64 lowercase hex>"]', else None."""
    n = len(wire)
    if n <= _SIG_TAIL or wire[n - _SIG_TAIL] != 0x22 or wire[n - 2 :] != b'"]':
        return None
    hexed = wire[n - _SIG_TAIL + 1 : n - 2]
    try:
        raw = binascii.unhexlify(hexed)
    except ValueError:
        return None
    return raw if binascii.hexlify(raw) == hexed else None


def _unpack(magic, stored):
    if magic == _MAGIC:
        return stored
    # The exact wire, built in one buffer (each `+` of bytes would be
    # another copy of the message on the device's heap).
    n = len(stored) - _SIG_RAW
    wire = bytearray(n + _SIG_TAIL)
    wire[:n] = memoryview(stored)[:n]
    wire[n] = 0x22
    wire[n + 1 : n + 65] = binascii.hexlify(memoryview(stored)[n:])
    wire[n + 65] = 0x22
    wire[n + 66] = 0x5D
    return wire


class Outbox:
    def __init__(self, directory, capacity=10000):
        self.directory = directory
        self.capacity = capacity
        self.next_seq = 1
        self.corrupt = 0  # records found unreadable by peek (bit rot)
        self._depth = 0
        self._flash_full = False
        self._segments = []
        self._tail = None  # newest segment file, open for appending
        self._ack_file = None
        self._ack_first = None
        self._head = bytearray(_HEAD_SIZE)
        try:
            os.mkdir(directory)
        except OSError:
            pass  # already there
        self._load()
        if self._tail is None:
            # Open the segment the next rating goes to now, at boot, while the
            # heap is whole: an open littlefs file takes ~300 contiguous bytes,
            # which the heap may not have at the moment of a press.
            try:
                self._ensure_tail()
            except OSError:
                self._tail = None  # flash full: append() tries again

    # -- paths -------------------------------------------------------------
    def _path(self, kind, first):
        return "%s/%s%d" % (self.directory, kind, first)

    # -- open ----------------------------------------------------------------
    def _load(self):
        firsts = []
        acks = []
        for entry in os.ilistdir(self.directory):
            name = entry[0]
            if len(name) > 1 and name[1:].isdigit():
                if name[0] == "s":
                    firsts.append(int(name[1:]))
                elif name[0] == "a":
                    acks.append(int(name[1:]))
        firsts.sort()
        buf = bytearray(_MAX_WIRE)
        clean = True
        for first in firsts:
            if first < self.next_seq:
                continue  # overlaps its predecessor: cannot happen, never trust it
            seg = _segment(first)
            clean = self._scan(seg, buf)
            self._load_acks(seg)
            self._segments.append(seg)
            self._depth += _pending(seg)
            self.next_seq = first + _count(seg)
        for first in acks:
            if first not in firsts:
                os.remove(self._path("a", first))
        for seg in self._segments[:-1]:
            if not _pending(seg):
                self._drop(seg)
        if self._segments:
            self._open_tail(clean)

    def _scan(self, seg, buf):
        """Count the valid records of a segment; False if garbage follows them."""
        head = self._head
        first = _first(seg)
        count = 0
        clean = True
        with open(self._path("s", first), "rb") as f:
            while count < _SEG_RECORDS:
                got = f.readinto(head)
                if got != _HEAD_SIZE:
                    clean = not got
                    break
                magic, length, seq, crc = struct.unpack("<HHII", head)
                if (magic != _MAGIC and magic != _MAGIC_PACKED) or length > _MAX_WIRE or seq != first + count:
                    clean = False
                    break
                payload = memoryview(buf)[:length]
                if f.readinto(payload) != length or _checked(head, payload) != crc:
                    clean = False
                    break
                count += 1
            else:
                clean = not f.read(1)
        _set_counts(seg, count, count)
        return clean

    def _load_acks(self, seg):
        first = _first(seg)
        end = first + _count(seg)
        try:
            f = open(self._path("a", first), "rb")
        except OSError:
            f = None
        if f is not None:
            entry = bytearray(_ENTRY_SIZE)
            with f:
                while f.readinto(entry) == _ENTRY_SIZE:
                    seq, check = struct.unpack("<II", entry)
                    if check == seq ^ _ALL_ONES and first <= seq < end:
                        _mark(seg, seq)
        pending = 0
        for seq in range(first, end):
            if not _is_acked(seg, seq):
                pending += 1
        _set_counts(seg, end - first, pending)

    def _open_tail(self, clean):
        seg = self._segments[-1]
        first = _first(seg)
        if clean and _count(seg) < _SEG_RECORDS:
            self._tail = open(self._path("s", first), "ab")
        elif _count(seg) == 0:
            # Only garbage in it: start it again under the same name (same floor).
            self._segments.pop()
            self._remove(self._path("a", first))
            self._start_segment(first)
        else:
            self._start_segment(self.next_seq)

    # -- segments ------------------------------------------------------------
    def _start_segment(self, first):
        if self._tail is not None:
            self._tail.close()
            self._tail = None
        # "wb": creates the file, or empties a garbage-only one; littlefs
        # commits the new (empty) file before open returns.
        self._tail = open(self._path("s", first), "wb")
        self._tail.flush()
        self._segments.append(_segment(first))

    def _ensure_tail(self):
        segs = self._segments
        if segs and _first(segs[-1]) == self.next_seq:  # newest one is empty
            self._tail = open(self._path("s", self.next_seq), "ab")
        else:
            self._start_segment(self.next_seq)

    def _close_ack_file(self):
        f = self._ack_file
        self._ack_file = None
        self._ack_first = None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def _drop(self, seg):
        first = _first(seg)
        if self._ack_first == first:
            self._close_ack_file()
        os.remove(self._path("s", first))  # segment first, then its acks
        self._remove(self._path("a", first))
        self._segments.remove(seg)
        self._flash_full = False

    def _remove(self, path):
        try:
            os.remove(path)
        except OSError:
            pass

    def _find(self, seq):
        for seg in self._segments:
            first = _first(seg)
            if first <= seq < first + _count(seg):
                return seg
        return None

    # -- public API ------------------------------------------------------------
    def depth(self):
        return self._depth

    def full(self):
        return self._depth >= self.capacity or self._flash_full

    def _no_flash(self):
        self._flash_full = True  # until a drained segment is deleted
        return OutboxFull("the flash is full")

    def append(self, make_wire):
        """Store make_wire(seq) durably and return seq (raises OutboxFull)."""
        if self._depth >= self.capacity:
            raise OutboxFull("outbox holds %d unacked ratings" % self._depth)
        if self._tail is None:
            try:
                self._ensure_tail()
            except OSError as e:
                self._tail = None
                if e.errno == _ENOSPC:
                    raise self._no_flash()
                raise
        if not _count(self._segments[-1]):
            st = os.statvfs(self.directory)
            if st[0] * st[3] < _RESERVE_BYTES:  # free bytes
                raise self._no_flash()
        seq = self.next_seq
        wire = make_wire(seq)
        length = len(wire)
        if not 0 < length <= _MAX_WIRE:
            raise ValueError("message of %d bytes" % length)
        raw = _raw_signature(wire)
        if raw is None:
            magic, body, raw = _MAGIC, wire, b""
        else:
            magic, body = _MAGIC_PACKED, memoryview(wire)[: length - _SIG_TAIL]
            length = length - _SIG_TAIL + _SIG_RAW
        head = self._head
        struct.pack_into("<HHII", head, 0, magic, length, seq, 0)
        struct.pack_into("<II", head, 4, seq, _checked(head, body, raw))
        try:
            self._tail.write(head)
            self._tail.write(body)
            self._tail.write(raw)
            self._tail.flush()  # littlefs sync: the record is on flash
        except OSError as e:
            self._recover_tail()
            if e.errno == _ENOSPC:
                raise self._no_flash()
            raise
        seg = self._segments[-1]
        count = _count(seg) + 1
        _set_counts(seg, count, _pending(seg) + 1)
        self._depth += 1
        self.next_seq = seq + 1
        if count >= _SEG_RECORDS:
            try:
                self._start_segment(self.next_seq)
            except OSError:
                self._tail = None  # the next append starts it
        return seq

    def _recover_tail(self):
        # A failed sync: forget the handle and believe only what is on flash.
        try:
            self._tail.close()
        except OSError:
            pass
        self._tail = None
        seg = self._segments.pop()
        self._depth -= _pending(seg)
        fresh = _segment(_first(seg))
        clean = self._scan(fresh, bytearray(_MAX_WIRE))
        self._load_acks(fresh)
        self._segments.append(fresh)
        self._depth += _pending(fresh)
        self.next_seq = _first(fresh) + _count(fresh)
        try:
            self._open_tail(clean)
        except OSError:
            self._tail = None  # the next append starts a segment

    def ack(self, seq):
        """Record durably that the host has `seq`; True if it was pending."""
        seg = self._find(seq)
        if seg is None or _is_acked(seg, seq):
            return False
        first = _first(seg)
        if self._ack_first != first:
            self._close_ack_file()
            self._ack_file = open(self._path("a", first), "ab")
            self._ack_first = first
        try:
            self._ack_file.write(struct.pack("<II", seq, seq ^ _ALL_ONES))
            self._ack_file.flush()  # littlefs sync: the ack is on flash
        except OSError:
            self._close_ack_file()  # not recorded: the host will ack it again
            raise
        _mark(seg, seq)
        pending = _pending(seg) - 1
        _set_counts(seg, _count(seg), pending)
        self._depth -= 1
        if not pending and seg is not self._segments[-1]:
            self._drop(seg)
        return True

    def peek(self, limit=8):
        """The oldest unacked records: [(seq, wire), ...]."""
        out = []
        head = self._head
        for seg in self._segments:
            if len(out) >= limit:
                break
            if not _pending(seg):
                continue
            first, seq, offset = struct.unpack_from("<III", seg, 0)
            end = first + _count(seg)
            prefix = True  # still inside the acked run at the cursor
            with open(self._path("s", first), "rb") as f:
                f.seek(offset)
                while seq < end and len(out) < limit:
                    if f.readinto(head) != _HEAD_SIZE:
                        self.corrupt += 1
                        break
                    magic, length, rseq, crc = struct.unpack("<HHII", head)
                    if (magic != _MAGIC and magic != _MAGIC_PACKED) or rseq != seq or length > _MAX_WIRE:
                        self.corrupt += 1
                        break
                    offset += _HEAD_SIZE + length
                    if _is_acked(seg, seq):
                        f.seek(offset)
                        if prefix:
                            struct.pack_into("<II", seg, 4, seq + 1, offset)
                    else:
                        prefix = False
                        wire = f.read(length)
                        if len(wire) != length or _checked(head, wire) != crc:
                            self.corrupt += 1
                            break
                        out.append((seq, _unpack(magic, wire)))
                    seq += 1
        return out

    def close(self):
        if self._tail is not None:
            self._tail.close()
            self._tail = None
        self._close_ack_file()
