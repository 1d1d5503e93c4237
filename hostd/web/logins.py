"""Login throttling and the login audit log (login_events).

A wrong password costs the account and the address time, with backoff:
  - an account may fail ACCOUNT_FREE times; then each try waits
    BASE_S * 2**(failures - ACCOUNT_FREE), at most CAP_S, after its last failure;
  - an address (a hall's guest Wi-Fi is one address) may fail ADDRESS_FREE
    times within WINDOW_S, then waits the same way.
While an account or address waits, no password is even checked: 40 wrong
passwords and then the right one do not get in. Failures count since the
account's last success or unlock, within WINDOW_S. An admin lifts a lockout
with `hostd user unlock NAME`. Every attempt (ok, wrong, unknown user,
disabled, throttled) and every unlock is a row in login_events, with the
address, and failures are logged.
"""

import logging

log = logging.getLogger("hostd.web")

ACCOUNT_FREE = 5
ADDRESS_FREE = 20
BASE_S = 30
CAP_S = 3600
WINDOW_S = 24 * 3600
FAILED = ("bad_password", "unknown_user", "disabled")


def _backoff(failures, free):
    return 0 if failures < free else min(CAP_S, BASE_S * 2 ** min(failures - free, 20))


def wait_s(db, username, address, now):
    """Seconds this attempt must still wait (0: it may try)."""
    marks = ", ".join("?" * len(FAILED))
    since = db.execute(
        "SELECT COALESCE(MAX(id), 0) FROM login_events WHERE username = ? AND result IN ('ok', 'unlock')",
        [username],
    ).fetchone()[0]
    account = db.execute(
        "SELECT COUNT(*), MAX(at) FROM login_events WHERE username = ? AND id > ? AND at >= ?"
        " AND result IN (%s)" % marks,
        [username, since, now - WINDOW_S, *FAILED],
    ).fetchone()
    unlocked = db.execute(
        "SELECT COALESCE(MAX(id), 0) FROM login_events WHERE address = ? AND result = 'unlock'", [address]
    ).fetchone()[0]
    by_address = db.execute(
        "SELECT COUNT(*), MAX(at) FROM login_events WHERE address = ? AND id > ? AND at >= ?"
        " AND result IN (%s)" % marks,
        [address, unlocked, now - WINDOW_S, *FAILED],
    ).fetchone()
    waits = [0]
    for (count, last), free in ((account, ACCOUNT_FREE), (by_address, ADDRESS_FREE)):
        if count:
            waits.append(_backoff(count, free) - (now - last))
    return max(0, int(max(waits)))


def record(db, username, address, result, now):
    db.execute(
        "INSERT INTO login_events (at, username, address, result) VALUES (?, ?, ?, ?)",
        [int(now), username[:64], address[:64], result],
    )
    if result != "ok":
        log.warning("login %s for %r from %s", result, username[:64], address)


def unlock(db, username, actor, now):
    """Lift an account's lockout: its failures before now no longer count."""
    record(db, username, "unlock-by:%s" % actor, "unlock", now)


def unlock_address(db, address, actor, now):
    """Lift an address's lockout: its failures before now no longer count."""
    record(db, "unlock-by:%s" % actor, address, "unlock", now)


def recent(db, limit=50):
    cursor = db.execute(
        "SELECT at, username, address, result FROM login_events ORDER BY id DESC LIMIT ?", [limit]
    )
    return [dict(zip(("at", "username", "address", "result"), row)) for row in cursor]
