"""The rollups (daily, monthly, work orders') against the raw rows.

Random halls are written through the product's own path (sessions,
ratings, hostd/recording/pipeline opening 差评 work orders), then changed
as a hall changes them (an appeal excludes a rating, a rating moves to
another staff member, a binding is refused, a work order is done early or
late, a session is cancelled), across a year's end. Every statistic of a
whole-day period, read from the rollups, must equal the same statistic read
from the raw rows (hostd/reporting/rollups.whole_days forced to False).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workorder_fixtures import add_rating, add_session, hall_db, served_and_rated

from hostd.reporting import periods, rollups, stats

DAY = 86400
START = periods.period("2026-09")[0]  # four months of 2026, two of 2027
SPAN_DAYS = 181
STAFF = {"s1": ("1", "u-tax"), "s2": ("2", "u-tax"), "s3": ("3", "u-soc")}
FILTERS = [{}, {"staff_id": "s1"}, {"window": "3"}, {"unit_id": "u-tax"}, {"channel": "qr"}, {"hall": "h1"}]

when = st.tuples(st.integers(0, SPAN_DAYS - 1), st.sampled_from([0, 1, 3600, 43200, DAY - 1]))
rate = st.tuples(
    st.just("rate"),
    st.sampled_from(sorted(STAFF)),
    st.integers(1, 5),
    st.sampled_from(["device", "qr", "paper", "default"]),
    when,
)
change = st.tuples(
    st.sampled_from(["exclude", "move", "refuse", "done", "cancel", "window"]),
    st.integers(0, 1000),
    st.sampled_from(sorted(STAFF)),
    st.integers(-3, 20),
)
period = st.one_of(
    st.sampled_from(["2026Q4", "2027Q1", "2026-11", "2026-12", "2027-01", "2026-W49"]).map(periods.period),
    st.tuples(st.integers(0, SPAN_DAYS), st.integers(1, SPAN_DAYS)).map(
        lambda t: (START + t[0] * DAY, START + (t[0] + t[1]) * DAY)
    ),
)


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def _write(db, ops):
    ratings, orders, sessions = [], [], []
    for n, op in enumerate(ops):
        if op[0] == "rate":
            _kind, staff, level, channel, (day, second) = op
            at = START + day * DAY + second
            ratings.append(
                served_and_rated(db, "x%d" % n, STAFF[staff][0], staff, level, at, channel=channel)
            )
            sessions.append("x%d" % n)
            continue
        kind, pick, staff, days = op
        if kind == "window":  # a window-level rating, no session
            ratings.append(add_rating(db, 1 + pick % 5, START + (pick % SPAN_DAYS) * DAY + 7, window="2"))
        elif kind == "cancel":
            add_session(db, "c%d" % n, STAFF[staff][0], staff, START + (pick % SPAN_DAYS) * DAY + 60)
            if days % 2:
                db.execute("UPDATE sessions SET state = 'cancelled' WHERE session_id = ?", ("c%d" % n,))
        elif ratings and kind == "exclude":
            db.execute("UPDATE ratings SET excluded = '误评' WHERE id = ?", (ratings[pick % len(ratings)],))
        elif ratings and kind == "move":
            db.execute(
                "UPDATE ratings SET staff_id = ?, unit_id = ? WHERE id = ?",
                (staff, STAFF[staff][1], ratings[pick % len(ratings)]),
            )
        elif ratings and kind == "refuse":
            db.execute("UPDATE ratings SET binding = 'refused' WHERE id = ?", (ratings[pick % len(ratings)],))
        elif kind == "done":
            orders = [r[0] for r in db.execute("SELECT order_id FROM work_orders ORDER BY order_id")]
            if orders:
                db.execute(
                    "UPDATE work_orders SET done_at = opened_at + ? WHERE order_id = ?",
                    (days * DAY, orders[pick % len(orders)]),
                )
    return ratings, sessions


def _both(monkeypatch, fn, *args, **kw):
    """fn(*args, **kw) from the rollups, and from the raw rows."""
    fast = fn(*args, **kw)
    with monkeypatch.context() as m:
        m.setattr(rollups, "whole_days", lambda start, end: False)
        raw = fn(*args, **kw)
    return fast, raw


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(st.one_of(rate, rate, change), min_size=1, max_size=40),
    spans=st.lists(period, min_size=1, max_size=3),
    filters=st.sampled_from(FILTERS),
)
def test_every_statistic_from_the_rollups_equals_the_raw_rows(db, monkeypatch, ops, spans, filters):
    db.conn.execute("BEGIN")
    try:
        _write(db, ops)
        for start, end in spans:
            assert rollups.whole_days(start, end)
            fast, raw = _both(monkeypatch, stats.rates, db, start, end, **filters)
            assert fast == raw, (start, end, filters)
            for by in stats.GROUPS:
                fast, raw = _both(monkeypatch, stats.breakdown, db, by, start, end, **filters)
                assert fast == raw, (by, start, end, filters)
    finally:
        db.conn.execute("ROLLBACK")


def test_a_period_is_read_as_days_at_its_ends_and_months_between():
    day = rollups.day_of
    oct15, nov1, dec1, dec10 = (
        periods.period(p)[0] for p in ("2026-10-15", "2026-11", "2026-12", "2026-12-10")
    )
    nov, dec = rollups.month_of_day(day(nov1)), rollups.month_of_day(day(dec1))
    assert nov == 2026 * 12 + 10 and rollups.first_day(nov) == day(nov1)
    assert rollups.pieces(oct15, dec10) == [
        ("day", day(oct15), day(nov1)),
        ("month", nov, dec),
        ("day", day(dec1), day(dec10)),
    ]
    q4 = periods.period("2026Q4")
    assert rollups.pieces(*q4) == [("month", nov - 1, dec + 1)]  # three whole months, no days
    assert rollups.pieces(oct15, dec1 - 5 * DAY) == [("day", day(oct15), day(dec1) - 5)]  # no whole month
    assert rollups.pieces(*q4, months=False) == [("day", day(q4[0]), day(q4[1]))]


def test_a_quarter_reads_the_monthly_rows(db):
    """The plan SQLite runs for a quarter's rates touches stats_monthly, not stats_daily."""
    sql, params = rollups.query(
        {"day": "stats_daily", "month": "stats_monthly"},
        ("total",),
        *periods.period("2026Q4"),
        {},
        "window",
        {"window": "window"},
        "SUM(total) != 0",
    )
    plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "stats_monthly" in plan and "stats_daily" not in plan
