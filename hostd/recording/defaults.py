"""Default ratings (系统默认评价): a session unrated when its period ends.

The scheduler's state is the sessions table itself: an 'open' session whose
rate_until has passed is due. Nothing is kept in memory, so a restart (or a
crash) simply finds the due sessions again. Each default is made by
hostd.recording.channels.record_rating inside a Store transaction, which re-checks that
the session is still open: a late QR rating that commits first wins and the
default is skipped; a session that a waiting offline rating may belong to
(待确认的离线评价, hostd/rules/offline.py) is not defaulted until that is
decided; and two schedulers (two hostd on one database) never make
two defaults for one session (also guarded by the unique index
ratings_one_per_session).

Working days the calendar does not cover: when a due session's period runs
through a year chinese-calendar does not know, its deadline is worked out
again with the admin's override file (rating.holiday_file):
  - the year is still missing: the default is HELD (not made) and a WARNING
    says which year to add; it is made on the first check after the file
    covers the year;
  - the year is covered: the deadline is the later of the stored rate_until
    and the recomputed one (a citizen never loses time already shown to them);
    a later deadline is written back to the session.
"""

import logging

from hostd.base.periodic import Periodic
from hostd.recording import channels
from hostd.rules import offline, workdays

log = logging.getLogger("hostd.defaults")

BATCH = 500  # sessions per transaction
_warned: dict[str, object] = {"years": None}  # the held years last warned about (one WARNING per change)


def _needs_recheck(config, created_at, rate_until):
    if not config["rating"]["working_days"]:
        return False
    first = workdays.local_date(created_at).year
    last = workdays.local_date(rate_until).year
    return any(not workdays.package_knows(year) for year in range(first, last + 1))


def plan(config, sessions, now):
    """Split due sessions [(session_id, created_at, rate_until)] into
    (to_default, to_extend {id: deadline}, held {id: missing years})."""
    to_default, to_extend, held = [], {}, {}
    for session_id, created_at, rate_until in sessions:
        if _needs_recheck(config, created_at, rate_until):
            deadline, missing = workdays.deadline_check(config, created_at)
            if missing:
                held[session_id] = missing
                continue
            if deadline > rate_until:
                to_extend[session_id] = deadline
                if deadline > now:
                    continue
        to_default.append(session_id)
    return to_default, to_extend, held


def run_due(ctx, now=None):
    """Make the default ratings due at `now`; return counts
    {defaulted, extended, held, skipped}."""
    now = int(ctx.clock.now() if now is None else now)
    level = ctx.config["rating"]["default_level"]
    counts = {"defaulted": 0, "extended": 0, "held": 0, "skipped": 0}
    held_years = set()
    after = ""  # held sessions stay due: page past them by id
    while True:
        with ctx.store.read() as db:
            due = db.conn.execute(
                "SELECT session_id, created_at, rate_until FROM sessions"
                " WHERE state = 'open' AND rate_until <= ? AND session_id > ? AND NOT "
                + offline.HELD_SQL % "sessions.session_id"
                + " ORDER BY session_id LIMIT ?",
                (now, after, BATCH),
            ).fetchall()
        if not due:
            break
        after = due[-1][0]
        to_default, to_extend, held = plan(ctx.config, due, now)
        counts["held"] += len(held)
        for years in held.values():
            held_years.update(years)

        def op(db, to_default=to_default, to_extend=to_extend):
            made = skipped = extended = 0
            for session_id, deadline in to_extend.items():
                extended += db.conn.execute(
                    "UPDATE sessions SET rate_until = ? WHERE session_id = ? AND state = 'open'"
                    " AND rate_until < ?",
                    (deadline, session_id, deadline),
                ).rowcount
            for session_id in to_default:
                if db.conn.execute("SELECT " + offline.HELD_SQL % "?", (session_id,)).fetchone()[0]:
                    skipped += 1  # an offline rating that may be its own arrived meanwhile
                    continue
                db.conn.execute("SAVEPOINT default_rating")
                try:
                    channels.record_rating(db, session_id, "default", level, now=now)
                except (channels.AlreadyRated, channels.SessionClosed, channels.SessionNotFound):
                    db.conn.execute("ROLLBACK TO default_rating")
                    skipped += 1  # rated (e.g. a late QR rating) or cancelled meanwhile
                else:
                    made += 1
                db.conn.execute("RELEASE default_rating")
            return made, skipped, extended

        made, skipped, extended = ctx.store.run(op)
        counts["defaulted"] += made
        counts["skipped"] += skipped
        counts["extended"] += extended
        if len(due) < BATCH:
            break
    if counts["defaulted"]:
        log.info(
            "default ratings: %d session(s) unrated at the end of their period rated %d (系统默认评价)",
            counts["defaulted"],
            level,
        )
    if held_years and _warned["years"] != held_years:
        _warned["years"] = held_years
        log.warning(
            "default ratings: %d session(s) held: the working-day calendar lacks %s; add "
            "the year(s) to rating.holiday_file and they are made on the next check",
            counts["held"],
            ", ".join(str(y) for y in sorted(held_years)),
        )
    return counts


class DefaultScheduler(Periodic):
    """Runs run_due every rating.default_check_seconds in a thread of `hostd run`."""

    thread_name = "hostd-defaults"
    log = log

    def __init__(self, ctx, interval=None):
        self.ctx = ctx
        super().__init__(interval or ctx.config["rating"]["default_check_seconds"])

    def once(self):
        run_due(self.ctx)
