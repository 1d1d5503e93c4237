"""How long evaluator data is kept (001 四(三), 003 第十条, 004 第十三条).

A rate-later rating keeps the address it came from (client_addr) for the
fraud signals (hostd/casework/fraud.py: many ratings from one address in a
day); after privacy.retention_days (30) it is purged, once a day by
`hostd run` (Retention) on the store's writer. The rating itself stays.

report() is who read evaluator data in a period (hostd/web/auth.py logs
every read in evaluator_access): `hostd privacy report`.
"""

import logging

from hostd.base.periodic import Periodic

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
        cleared = self.ctx.store.run(lambda db: purge(db, days, now))
        if cleared:
            log.info("privacy: %d rate-later address(es) older than %d days purged", cleared, days)
        return cleared
