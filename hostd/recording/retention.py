"""How long evaluator data is kept (001 四(三), 003 第十条, 004 第十三条).

Once a day `hostd run` (Retention) purges, on the store's writer, with
privacy.retention_days (30) as D:
  - the address a rate-later rating came from (client_addr, kept for the
    fraud signals: many ratings from one address in a day), D days after
    the rating;
  - a 实名 evaluator's name and phone (ratings.evaluator_*), and a session's
    consented mobile number (session_contacts, for the SMS reminder and the
    callback), D days after the last thing that needs them ends: the
    session's rating period and, when its rating opened a work order, that
    order's closing. An order still open keeps them, however old.
  - the contact a 办不成事 report was given with consent, D days after
    the report was finished (hostd/casework/unresolved.py).
The rating itself stays, and so does ratings.named (实名差评回访率 counts it).

report() is who read evaluator data in a period (hostd/web/auth.py logs
every read in evaluator_access): `hostd privacy report`.
"""

import logging

from hostd.base.periodic import Periodic
from hostd.casework import unresolved
from hostd.upstream import followups

log = logging.getLogger("hostd.privacy")

DAY = 86400


def purge(db, days, now):
    """Clear client_addr of ratings received more than `days` days before
    `now`; return how many were cleared."""
    cursor = db.conn.execute(
        "UPDATE ratings SET client_addr = NULL WHERE client_addr IS NOT NULL AND received_at < ?",
        (int(now) - days * DAY,),
    )
    return cursor.rowcount


_OPEN_ORDER = "o.state IN ('new', 'contacted', 'rectifying', 'replied')"
_NEEDED = "(%s OR COALESCE(o.closed_at, o.opened_at) >= :cutoff)" % _OPEN_ORDER


def purge_evaluators(db, days, now):
    """Clear the name and phone of 实名 ratings nothing needs any more, and the
    copies in their upstream records (userName, mobile: sent with consent);
    how many ratings."""
    ids = [
        row[0]
        for row in db.conn.execute(
            "SELECT r.id FROM ratings r INDEXED BY ratings_named"
            " WHERE r.named = 1 AND r.received_at < :cutoff"
            " AND (r.evaluator_name IS NOT NULL OR r.evaluator_mobile IS NOT NULL)"
            " AND COALESCE((SELECT s.rate_until FROM sessions s WHERE s.session_id = r.session_id),"
            " r.received_at) < :cutoff"
            " AND NOT EXISTS (SELECT 1 FROM work_orders o WHERE o.rating_id = r.id AND %s)" % _NEEDED,
            {"cutoff": int(now) - days * DAY},
        )
    ]
    for rating_id in ids:
        db.conn.execute(
            "UPDATE ratings SET evaluator_name = NULL, evaluator_mobile = NULL WHERE id = ?", (rating_id,)
        )
        db.conn.executemany(
            "UPDATE upstream_outbox SET body = json_remove(body, '$.userName', '$.mobile') WHERE key = ?",
            [(key,) for key in followups.rating_keys(db, rating_id)],
        )
    return len(ids)


def purge_contacts(db, days, now):
    """Clear the consented mobile numbers of sessions nothing needs any more,
    and the copies the verdict messages of finished work orders keep; how many
    sessions'."""
    db.conn.execute(
        "UPDATE sms_verdicts SET mobile = NULL WHERE mobile IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM work_orders o WHERE o.order_id = sms_verdicts.order_id"
        " AND o.state IN ('closed', 'explained') AND o.closed_at < ?)",
        (int(now) - days * DAY,),
    )
    return db.conn.execute(
        "UPDATE session_contacts SET mobile = NULL, purged_at = :now WHERE session_id IN ("
        " SELECT c.session_id FROM session_contacts c JOIN sessions s ON s.session_id = c.session_id"
        " WHERE c.mobile IS NOT NULL AND s.rate_until < :cutoff"
        " AND NOT EXISTS (SELECT 1 FROM work_orders o WHERE o.rating_id = s.rating_id AND %s))" % _NEEDED,
        {"cutoff": int(now) - days * DAY, "now": int(now)},
    ).rowcount


def report(db, start, end):
    """Reads of evaluator data in [start, end): one row per user and purpose,
    {"username", "role", "purpose", "reads", "ratings", "first", "last"}."""
    rows = db.conn.execute(
        "SELECT username, role, purpose, COUNT(*), COUNT(DISTINCT rating_id), MIN(at), MAX(at)"
        " FROM evaluator_access WHERE at >= ? AND at < ? GROUP BY username, role, purpose"
        " ORDER BY MIN(at)",
        (int(start), int(end)),
    ).fetchall()
    names = ("username", "role", "purpose", "reads", "ratings", "first", "last")
    return [dict(zip(names, row)) for row in rows]


class Retention(Periodic):
    """The daily purge, at start and every `interval` seconds."""

    thread_name = "hostd-retention"
    log = log

    def __init__(self, ctx, interval=DAY):
        self.ctx = ctx
        super().__init__(interval)

    def once(self):
        days = self.ctx.config["privacy"]["retention_days"]
        now = self.ctx.clock.now()
        cleared = self.ctx.store.run(
            lambda db: (
                purge(db, days, now),
                purge_evaluators(db, days, now),
                purge_contacts(db, days, now),
                unresolved.purge_contacts(db, days, now),
            )
        )
        whats = ("rate-later address(es)", "实名 evaluator(s)", "session mobile(s)", "办不成事 contact(s)")
        for count, what in zip(cleared, whats):
            if count:
                log.info("privacy: %d %s purged, %d days after nothing needed them", count, what, days)
        return sum(cleared)
