"""What the supervisors' commands share: times, percentages, periods, writes."""

from hostd.base import clock, hall_time
from hostd.base.errors import UserError
from hostd.reporting import periods
from hostd.rules import deadlines

ACTOR_HELP = "Who makes the change (kept in the audit trail). Default: your login (env HOSTD_ACTOR)."


def when(ts):
    return hall_time.when(ts) if ts else "-"


def pct(v):
    return "-" if v is None else "%.1f%%" % (100 * v)


def write(db, op):
    """Run `op(db)` in its own BEGIN IMMEDIATE transaction on the CLI's
    connection (the running daemon's writer waits for it, or it for the
    daemon)."""
    with db.conn:
        if not db.conn.in_transaction:
            db.conn.execute("BEGIN IMMEDIATE")
        return op(db)


def period(quarter, month, day=None):
    spec = day or month or quarter
    if not spec:
        spec = periods.quarter_of(int(clock.now()))
    try:
        return spec, periods.period(spec)
    except periods.BadPeriod as e:
        raise UserError(str(e)) from None


def db_opener(home_of, db_of):
    """open_db(ctx) -> (config, db), with the deadline policy of the config."""

    def open_db(ctx):
        home = home_of(ctx)
        config = home.config()
        deadlines.use(config)
        return config, db_of(home)

    return open_db
