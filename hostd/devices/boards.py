"""Which physical board (by MAC) carries which device id: the flashing station's memory.

A board is given its id once its firmware is written and provisioning
starts. From then on that id belongs to that MAC, whether provisioning
succeeds or not: a board that fails and comes back gets the same id, never a
second one, and no other board is given it.
"""

import time


class NoDeviceLeft(Exception):
    pass


def assigned(db, mac):
    """The device id given to the board `mac`, or None."""
    rows = list(db.query("SELECT device_id FROM device_boards WHERE mac = ?", [mac]))
    return rows[0]["device_id"] if rows else None


def unassigned(db, wanted=None):
    """Device ids (in order) that may go to a new board: registered, not revoked,
    never heard from, and given to no board. `wanted` limits and orders them."""
    rows = db.query(
        """SELECT d.device_id FROM devices d
           WHERE d.revoked_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM device_boards b WHERE b.device_id = d.device_id)
             AND NOT EXISTS (SELECT 1 FROM device_status s WHERE s.device_id = d.device_id)
           ORDER BY d.created_at, d.device_id"""
    )
    free = [r["device_id"] for r in rows]
    if wanted is None:
        return free
    return [d for d in wanted if d in free]


def claim(db, mac, device_id, chip):
    """Give `device_id` to the board `mac` (or keep the id it already has); return the id."""
    now = int(time.time())
    with db.atomic():
        held = assigned(db, mac)
        if held is not None:
            db.execute("UPDATE device_boards SET last_at = ? WHERE mac = ?", [now, mac])
            return held
        db.execute(
            "INSERT INTO device_boards (mac, device_id, chip, first_at, last_at, result) "
            "VALUES (?, ?, ?, ?, ?, 'flashed')",
            [mac, device_id, chip, now, now],
        )
        return device_id


def record(db, mac, result):
    """How the board's last attempt ended: 'ok' or 'failed: <reason>'."""
    with db.atomic():
        db.execute(
            "UPDATE device_boards SET result = ?, last_at = ? WHERE mac = ?",
            [result[:300], int(time.time()), mac],
        )


def listing(db):
    return list(db.query("SELECT * FROM device_boards ORDER BY first_at, mac"))
