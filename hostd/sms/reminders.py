"""SMS reminders: who gets one, when, and never more than one.

A session made with a mobile number and the citizen's consent keeps the
number in session_contacts (purged by hostd/recording/retention.py once
nothing needs it) and, with sms.url set, waits in sms_reminders:

  waiting  -> sending -> sent       the platform took it
                       -> refused   the platform said no (a limit, the number,
                                    the template): not sent again
                       -> unknown   no answer after it went out: it may have
                                    been sent, so it is not sent again
                       -> waiting   nothing went out (no connection, a 5xx):
                                    tried again later, within the period
  waiting  -> skipped               rated at the window, cancelled, or the
                                    rating period ended first

It is due when the device's screen time is over (the citizen left the
window without rating). The number's limits (LIMITS, the platforms' usual
flow control: 1 a minute, 5 an hour, 10 a day) are counted here too: a
reminder over one waits until it is allowed, rather than being refused.

The message carries a short link code (/s/<code>, hostd/web/short_link.py),
not the signed link: a template parameter may not hold a URL, and the
platforms cap a parameter at 35 characters.
"""

import secrets
import string

DAY = 86400
LOCAL = 8 * 3600  # the platforms count a day from midnight, China time
LIMITS = ((60, 1), (3600, 5))  # (seconds, messages) to one number; and DAY_LIMIT a local day
DAY_LIMIT = 10
ITEM_MAX = 20  # characters of the item name in ${item}
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 12  # about 71 bits: not guessable
BACKOFF = (30, 60, 120, 300, 600, 1800)
OUT = ("sending", "sent", "unknown")  # states that count against a number's limits


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def register(db, session, mobile, now, sms_on):
    """Keep the consented number of a new session; queue its reminder when SMS is on."""
    db.conn.execute(
        "INSERT INTO session_contacts (session_id, mobile, consented_at) VALUES (?, ?, ?)",
        (session["session_id"], mobile, int(now)),
    )
    if sms_on:
        db.conn.execute(
            "INSERT INTO sms_reminders (session_id, code, state, due_at) VALUES (?, ?, 'waiting', ?)",
            (session["session_id"], new_code(), int(session["screen_until"])),
        )


def state_of(db, session_id):
    row = db.conn.execute("SELECT state FROM sms_reminders WHERE session_id = ?", (session_id,)).fetchone()
    return row[0] if row else None


def session_of_code(db, code):
    row = db.conn.execute("SELECT session_id FROM sms_reminders WHERE code = ?", (code,)).fetchone()
    return row[0] if row else None


def due(db, now, limit=100):
    """Session ids whose reminder is due."""
    return [
        row[0]
        for row in db.conn.execute(
            "SELECT session_id FROM sms_reminders WHERE state = 'waiting' AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            (int(now), limit),
        )
    ]


def next_allowed(db, mobile, now):
    """The earliest time a message to `mobile` keeps within the limits (`now` if it does)."""
    allowed = now
    for seconds, most in LIMITS:
        times = _sent_since(db, mobile, now - seconds)
        if len(times) >= most:
            allowed = max(allowed, times[-most] + seconds)
    midnight = (now + LOCAL) // DAY * DAY - LOCAL
    if len(_sent_since(db, mobile, midnight - 1)) >= DAY_LIMIT:  # from midnight itself
        allowed = max(allowed, midnight + DAY)
    return allowed


def _sent_since(db, mobile, since):
    """When messages went to `mobile` after `since`: reminders and verdict links alike."""
    return [
        row[0]
        for row in db.conn.execute(
            "SELECT r.sent_at FROM session_contacts c JOIN sms_reminders r ON r.session_id = c.session_id"
            " WHERE c.mobile = :m AND r.state IN ('sending', 'sent', 'unknown') AND r.sent_at > :since"
            " UNION ALL SELECT sent_at FROM sms_verdicts WHERE mobile = :m"
            " AND state IN ('sending', 'sent', 'unknown') AND sent_at > :since ORDER BY 1",
            {"m": mobile, "since": int(since)},
        )
    ]


def claim(db, session_id, now):
    """Inside one transaction: decide a due reminder. Returns the message to
    send ({"mobile", "params", "out_id"}) after marking it sending, or None
    (skipped, or put off until the number's limits allow it)."""
    row = db.conn.execute(
        "SELECT r.state, r.code, s.state, s.rate_until, s.item_name, c.mobile FROM sms_reminders r"
        " JOIN sessions s ON s.session_id = r.session_id"
        " LEFT JOIN session_contacts c ON c.session_id = r.session_id WHERE r.session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None or row[0] != "waiting":
        return None
    _, code, session_state, rate_until, item_name, mobile = row
    if session_state != "open":
        return _close(db, session_id, "skipped", "session_%s" % session_state)
    if now >= rate_until:
        return _close(db, session_id, "skipped", "period_over")
    if not mobile:
        return _close(db, session_id, "skipped", "no_number")
    allowed = next_allowed(db, mobile, now)
    if allowed > now:
        if allowed >= rate_until:
            return _close(db, session_id, "skipped", "number_limit")
        db.conn.execute(
            "UPDATE sms_reminders SET due_at = ? WHERE session_id = ?", (int(allowed), session_id)
        )
        return None
    db.conn.execute(
        "UPDATE sms_reminders SET state = 'sending', attempts = attempts + 1, sent_at = ?"
        " WHERE session_id = ?",
        (int(now), session_id),
    )
    item = item_name if len(item_name) <= ITEM_MAX else item_name[: ITEM_MAX - 1] + "…"
    return {"mobile": mobile, "params": {"item": item, "code": code}, "out_id": session_id}


def _close(db, session_id, state, error):
    db.conn.execute(
        "UPDATE sms_reminders SET state = ?, error = ? WHERE session_id = ?", (state, error, session_id)
    )
    return None


def sent(db, session_id, gateway_id):
    db.conn.execute(
        "UPDATE sms_reminders SET state = 'sent', gateway_id = ?, error = NULL WHERE session_id = ?",
        (gateway_id, session_id),
    )


def refused(db, session_id, state, error):
    """A send that ended as `state` ('refused' or 'unknown'), with the platform's code."""
    _close(db, session_id, state, error[:200])


def retry(db, session_id, now, error):
    """Nothing went out: wait and try again (sent_at cleared: it does not count)."""
    attempts = db.conn.execute(
        "SELECT attempts FROM sms_reminders WHERE session_id = ?", (session_id,)
    ).fetchone()
    wait = BACKOFF[min(len(BACKOFF), attempts[0] if attempts else 1) - 1]
    db.conn.execute(
        "UPDATE sms_reminders SET state = 'waiting', sent_at = NULL, due_at = ?, error = ?"
        " WHERE session_id = ?",
        (int(now) + wait, error[:200], session_id),
    )


def interrupted(db):
    """At start: reminders left 'sending' by a hostd that stopped mid-send may
    have gone out; they become 'unknown' and are not sent again."""
    return db.conn.execute(
        "UPDATE sms_reminders SET state = 'unknown', error = 'hostd stopped while sending'"
        " WHERE state = 'sending'"
    ).rowcount


def counts(db):
    return dict(db.conn.execute("SELECT state, COUNT(*) FROM sms_reminders GROUP BY state").fetchall())
