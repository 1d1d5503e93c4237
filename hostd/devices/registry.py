"""The device registry: ids, windows, keys, rotation and revocation.

Every function takes either a `Store` (writes go through its single writer
and wait for the commit) or a `sqlite_utils.Database` (for the CLI, which
writes in its own short transaction; the daemon's KeyCache notices through
`PRAGMA data_version`).

Each device key is 32 random bytes made here. A rotation keeps the old key
valid for an overlap window, so a device that has not been reflashed yet
still verifies.
"""

import binascii
import os
import sqlite3
import threading
import time

from hostd.db.store import Store, connect
from protocol import topics

KEY_BYTES = 32
DEFAULT_OVERLAP_S = 86400


class RegistryError(Exception):
    """Base class; the message is one line saying what to do."""


class DeviceExists(RegistryError):
    pass


class BadDeviceId(RegistryError):
    pass


class BadHallId(RegistryError):
    pass


class BadWindow(RegistryError):
    pass


class UnknownDevice(RegistryError):
    pass


class DeviceRevoked(RegistryError):
    pass


# Registry writes made in this process, counted after their commit: a
# KeyCache here sees them on its next lookup (see KeyCache).
_changes = [0]


def _write(db, fn):
    if isinstance(db, Store):
        result = db.run(fn)
    else:
        with db.atomic():
            result = fn(db)
        # Another process (the CLI) changed the registry: a running hostd's
        # KeyCache checks for commits at least this often, so once this
        # returns, every message it handles sees the change.
        time.sleep(KeyCache.MAX_STALE_S * 1.2)
    _changes[0] += 1
    return result


def _read(db, fn):
    if isinstance(db, Store):
        with db.read() as reader:
            return fn(reader)
    return fn(db)


def _row(db, device_id):
    rows = list(db.query("SELECT * FROM devices WHERE device_id = ?", [device_id]))
    return rows[0] if rows else None


def _public(row):
    """A device row without key material, plus a `revoked` flag."""
    out = {k: v for k, v in row.items() if k not in ("key_hex", "previous_key_hex")}
    out["revoked"] = row["revoked_at"] is not None
    return out


def add_device(db, device_id, window, hall):
    """Register a device; return its new 32-byte key (shown once, then provisioned)."""
    if not topics.valid_id(device_id):
        raise BadDeviceId("device id %r: use 1-32 letters, digits, '-' or '_'" % (device_id,))
    if not topics.valid_id(hall):
        raise BadHallId("hall id %r: use 1-32 letters, digits, '-' or '_'" % (hall,))
    if not isinstance(window, str) or not window.strip() or len(window) > 64:
        raise BadWindow("window %r: give the window's name or number (1-64 characters)" % (window,))
    key = os.urandom(KEY_BYTES)

    def op(wdb):
        existing = _row(wdb, device_id)
        if existing is not None:
            hint = (
                "it was revoked; pick a new id"
                if existing["revoked_at"]
                else "use `hostd device list`, or rotate its key instead"
            )
            raise DeviceExists("device %s already exists (%s)" % (device_id, hint))
        wdb.execute(
            "INSERT INTO devices (device_id, hall, window, key_hex, created_at) VALUES (?, ?, ?, ?, ?)",
            [device_id, hall, window, binascii.hexlify(key).decode(), int(time.time())],
        )
        return key

    return _write(db, op)


def list_devices(db):
    """All devices (revoked ones too), without keys, ordered by id."""
    return _read(db, lambda r: [_public(row) for row in r.query("SELECT * FROM devices ORDER BY device_id")])


def get_device(db, device_id):
    row = _read(db, lambda r: _row(r, device_id))
    if row is None:
        raise UnknownDevice("no device %r: see `hostd device list`" % (device_id,))
    return _public(row)


def device_key(db, device_id):
    """The current key (for provisioning). Raises UnknownDevice / DeviceRevoked."""
    row = _read(db, lambda r: _row(r, device_id))
    if row is None:
        raise UnknownDevice("no device %r: see `hostd device list`" % (device_id,))
    if row["revoked_at"] is not None:
        raise DeviceRevoked("device %s is revoked; add a new device instead" % device_id)
    return binascii.unhexlify(row["key_hex"])


def revoke_device(db, device_id):
    """Refuse this device's messages from now on (idempotent)."""

    def op(wdb):
        row = _row(wdb, device_id)
        if row is None:
            raise UnknownDevice("no device %r: see `hostd device list`" % (device_id,))
        if row["revoked_at"] is None:
            wdb.execute(
                "UPDATE devices SET revoked_at = ? WHERE device_id = ?", [int(time.time()), device_id]
            )

    _write(db, op)


def rotate_key(db, device_id, overlap_s=DEFAULT_OVERLAP_S):
    """Give the device a new key; the old one stays valid for `overlap_s` seconds."""
    if overlap_s < 0:
        raise ValueError("overlap_s must be >= 0")
    key = os.urandom(KEY_BYTES)

    def op(wdb):
        row = _row(wdb, device_id)
        if row is None:
            raise UnknownDevice("no device %r: see `hostd device list`" % (device_id,))
        if row["revoked_at"] is not None:
            raise DeviceRevoked("device %s is revoked; add a new device instead" % device_id)
        now = int(time.time())
        wdb.execute(
            "UPDATE devices SET previous_key_hex = key_hex, previous_valid_until = ?,"
            " key_hex = ?, rotated_at = ? WHERE device_id = ?",
            [now + overlap_s, binascii.hexlify(key).decode(), now, device_id],
        )
        return key

    return _write(db, op)


def _keys_from_row(row, now):
    if row is None or row[3] is not None:  # unknown or revoked
        return []
    keys = [binascii.unhexlify(row[0])]
    if row[1] and row[2] is not None and now < row[2]:
        keys.append(binascii.unhexlify(row[1]))
    return keys


_KEYS_SQL = (
    "SELECT key_hex, previous_key_hex, previous_valid_until, revoked_at FROM devices WHERE device_id = ?"
)


def keys_for(db, device_id, now=None):
    """Keys that verify this device now: current, plus previous during overlap."""
    now = time.time() if now is None else now
    row = _read(db, lambda r: r.execute(_KEYS_SQL, [device_id]).fetchone())
    return _keys_from_row(row, now)


class KeyCache:
    """keys_for() with a cache for the collector's hot path.

    It owns a read-only connection. It asks `PRAGMA data_version` (which
    changes when any other connection commits; a few microseconds, as it
    takes the WAL's read lock) when a registry write in this process has
    committed since, or when its last check is MAX_STALE_S old; only when
    the version moved does it read `registry_version.generation`, and it
    drops the cache when the devices table changed. A registry write from
    another process (the CLI) waits MAX_STALE_S after its commit before it
    returns (see _write). So a revoke takes effect for every message handled
    after `hostd device revoke` returns, without a restart. Overlap expiry
    is checked per lookup.
    """

    MAX_STALE_S = 0.05

    def __init__(self, source):
        self.path = source.path if isinstance(source, Store) else str(source)
        self._db = None
        self._lock = threading.Lock()
        self._data_version = None
        self._generation = None
        self._checked_at = None  # time.monotonic() when the last check began
        self._changes = None  # _changes[0] then
        self._rows = {}
        self.reloads = 0

    def _check(self):
        started, changes = time.monotonic(), _changes[0]
        if (
            self._checked_at is not None
            and changes == self._changes
            and started - self._checked_at < self.MAX_STALE_S
        ):
            return
        if self._db is None:
            self._db = connect(self.path, readonly=True)
        version = self._db.conn.execute("PRAGMA data_version").fetchone()[0]
        self._checked_at, self._changes = started, changes
        if version == self._data_version:
            return
        self._data_version = version
        generation = self._db.execute("SELECT generation FROM registry_version WHERE id = 1").fetchone()[0]
        if generation != self._generation:
            self._generation = generation
            self._rows.clear()
            self.reloads += 1

    def keys(self, device_id, now=None):
        now = time.time() if now is None else now
        with self._lock:
            try:
                self._check()
            except sqlite3.Error:
                self._rows.clear()  # be safe: next lookup reads the table again
                self._data_version = self._checked_at = None
                raise
            if device_id not in self._rows:
                db = self._db
                assert db is not None  # _check() opened it
                self._rows[device_id] = db.conn.execute(_KEYS_SQL, [device_id]).fetchone()
            return _keys_from_row(self._rows[device_id], now)

    def close(self):
        with self._lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None
