"""Default ratings (系统默认评价): the period's end, holidays, held years, races, restarts."""

import logging
import threading
import time

import pytest
from hostd_helpers import HostdProcess, db_rows, wait_for
from hostd_support import make_home
from session_rows import add_session, counted, cst

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.recording import channels, defaults
from hostd.rules import workdays


@pytest.fixture
def ctx(tmp_path):
    home = make_home(tmp_path / "home")
    store = Store(home.db_path)
    yield Context(home, home.config(), store)
    store.close()


def new_session(ctx, session_id, created_at, rate_until=None):
    rate_until = rate_until or workdays.rating_deadline(ctx.config, created_at)
    ctx.store.run(lambda db: add_session(db, session_id, created_at, rate_until))
    return rate_until


def rows(ctx, session_id):
    with ctx.store.read() as db:
        state = db.conn.execute(
            "SELECT state, rate_until FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        return state, counted(db, session_id)


def test_default_after_national_day_and_adjusted_saturday(ctx):
    # 2026-09-30 + 5 working days crosses 国庆 (10-01..07) and the 调休 Saturday 10-10.
    rate_until = new_session(ctx, "s-oct", cst(2026, 9, 30, 10, 0))
    assert rate_until == cst(2026, 10, 14, 0, 0)
    assert defaults.run_due(ctx, now=cst(2026, 10, 8, 9, 0))["defaulted"] == 0
    assert defaults.run_due(ctx, now=cst(2026, 10, 13, 23, 59))["defaulted"] == 0
    assert rows(ctx, "s-oct")[0][0] == "open"
    counts = defaults.run_due(ctx, now=cst(2026, 10, 14, 0, 0))
    assert counts["defaulted"] == 1
    state, ratings = rows(ctx, "s-oct")
    assert state[0] == "defaulted" and ratings == [("default", 3)]
    # and never again
    assert defaults.run_due(ctx, now=cst(2026, 12, 1, 0, 0))["defaulted"] == 0
    assert rows(ctx, "s-oct")[1] == [("default", 3)]


def test_level_and_natural_days_are_configurable(ctx):
    ctx.config["rating"].update(default_level=4, working_days=False, period_days=7)
    rate_until = new_session(ctx, "s-nat", cst(2026, 9, 30, 10, 0))
    assert rate_until == cst(2026, 10, 8, 0, 0)
    assert defaults.run_due(ctx, now=rate_until - 1)["defaulted"] == 0
    assert defaults.run_due(ctx, now=rate_until)["defaulted"] == 1
    assert rows(ctx, "s-nat")[1] == [("default", 4)]


def test_rated_and_cancelled_sessions_get_no_default(ctx):
    new_session(ctx, "s-qr", cst(2026, 9, 30, 10, 0))
    new_session(ctx, "s-cancel", cst(2026, 9, 30, 10, 0))
    ctx.store.run(lambda db: channels.record_rating(db, "s-qr", "qr", 5, now=cst(2026, 10, 9, 9, 0)))
    ctx.store.run(
        lambda db: db.conn.execute("UPDATE sessions SET state = 'cancelled' WHERE session_id = 's-cancel'")
    )
    assert defaults.run_due(ctx, now=cst(2026, 11, 1, 0, 0))["defaulted"] == 0
    assert rows(ctx, "s-qr")[1] == [("qr", 5)]
    assert rows(ctx, "s-cancel")[1] == []


def test_a_late_qr_rating_that_commits_first_wins(ctx):
    new_session(ctx, "s-race", cst(2026, 9, 30, 10, 0))
    gate = threading.Event()
    ctx.store.submit(lambda db: gate.wait(10))  # hold the writer
    time.sleep(0.1)  # let the writer close that batch, so the next ops wait in the queue
    qr = {}
    ctx.store.submit(
        lambda db: channels.record_rating(db, "s-race", "qr", 4, now=cst(2026, 10, 13, 23, 59)),
        lambda result, error: qr.update(result=result, error=error),
    )
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(defaults.run_due(ctx, now=cst(2026, 10, 14, 0, 0)))
    )
    worker.start()  # it reads the session as open, then queues its write behind the QR one
    wait_for(lambda: ctx.store._queue.qsize() >= 2, timeout=5)
    gate.set()
    worker.join(10)
    assert qr["error"] is None and result["defaulted"] == 0 and result["skipped"] == 1
    assert rows(ctx, "s-race")[1] == [("qr", 4)]


def test_the_default_refuses_a_later_qr_rating(ctx):
    new_session(ctx, "s-late", cst(2026, 9, 30, 10, 0))
    defaults.run_due(ctx, now=cst(2026, 10, 14, 0, 0))
    with pytest.raises(channels.AlreadyRated):
        ctx.store.run(lambda db: channels.record_rating(db, "s-late", "qr", 1, [1]))
    assert rows(ctx, "s-late")[1] == [("default", 3)]


def test_uncovered_year_holds_the_default_until_the_override_covers_it(ctx, tmp_path, caplog):
    created = cst(2026, 12, 29, 10, 0)
    with caplog.at_level(logging.WARNING):
        estimate = new_session(ctx, "s-2027", created)  # Monday-Friday estimate, warned
        counts = defaults.run_due(ctx, now=cst(2027, 3, 1, 0, 0))
    assert counts == {"defaulted": 0, "extended": 0, "held": 1, "skipped": 0}
    assert rows(ctx, "s-2027")[0][0] == "open"
    assert any("held" in r.getMessage() and "2027" in r.getMessage() for r in caplog.records)
    # The admin adds 2027: New Year's Day off, and (for the test) 01-04..01-06 off too.
    override = tmp_path / "holidays.toml"
    override.write_text('[2027]\nholidays = ["2027-01-01", "2027-01-04..2027-01-06"]\n')
    ctx.config["rating"]["holiday_file"] = str(override)
    # 12-30, 12-31, 01-07, 01-08, 01-11: the period now ends at midnight after 01-11
    counts = defaults.run_due(ctx, now=cst(2027, 1, 8, 0, 0))
    assert counts["defaulted"] == 0 and counts["extended"] == 1
    assert rows(ctx, "s-2027")[0] == ("open", cst(2027, 1, 12, 0, 0))
    assert estimate < cst(2027, 1, 12, 0, 0)
    counts = defaults.run_due(ctx, now=cst(2027, 1, 12, 0, 0))
    assert counts["defaulted"] == 1
    assert rows(ctx, "s-2027")[1] == [("default", 3)]


def test_scheduler_thread_runs_on_its_interval(ctx):
    ctx.config["rating"]["default_check_seconds"] = 1
    now = int(time.time())
    new_session(ctx, "s-now", now - 100, rate_until=now - 1)
    scheduler = defaults.DefaultScheduler(ctx).start()
    try:
        wait_for(lambda: rows(ctx, "s-now")[1], timeout=5)
    finally:
        scheduler.stop()
    assert rows(ctx, "s-now")[1] == [("default", 3)]


def test_scheduler_survives_a_hostd_restart(tmp_path):
    """Real `hostd run` with a clock the test moves (HOSTD_CLOCK_FILE): the period
    across 国庆 and the 调休 Saturday ends at midnight after 2026-10-13, across a
    restart; each session gets exactly one default."""
    home = make_home(tmp_path / "home")
    home.set("rating", "default_check_seconds", 1)
    config = home.config()
    clock_file = tmp_path / "clock"
    from hostd.base import clock
    from hostd.db.store import open_database

    created = cst(2026, 9, 30, 10, 0)
    rate_until = workdays.rating_deadline(config, created)
    assert rate_until == cst(2026, 10, 14, 0, 0)
    db = open_database(home.db_path)
    with db.conn:
        add_session(db, "s-due", cst(2026, 9, 29, 10, 0), cst(2026, 10, 13, 0, 0))
        add_session(db, "s-oct", created, rate_until)
    db.conn.close()
    env = {"HOSTD_CLOCK_FILE": str(clock_file)}
    clock.set_offset(clock_file, cst(2026, 10, 13, 23, 59, 0) - time.time())
    first = HostdProcess(home, env=env)
    try:
        wait_for(lambda: db_rows(home, "SELECT 1 FROM ratings WHERE session_id = 's-due'"), timeout=15)
        time.sleep(2.5)  # a few more checks: s-oct is still inside its period
    finally:
        assert first.stop() == 0
    assert db_rows(home, "SELECT session_id, channel FROM ratings") == [("s-due", "default")]
    assert db_rows(home, "SELECT state FROM sessions WHERE session_id = 's-oct'") == [("open",)]
    clock.set_offset(clock_file, cst(2026, 10, 14, 0, 0, 5) - time.time())
    second = HostdProcess(home, env=env)
    try:
        wait_for(lambda: db_rows(home, "SELECT 1 FROM ratings WHERE session_id = 's-oct'"), timeout=15)
        time.sleep(1.5)
    finally:
        assert second.stop() == 0
    assert sorted(db_rows(home, "SELECT session_id, channel, level FROM ratings")) == [
        ("s-due", "default", 3),
        ("s-oct", "default", 3),
    ]
    assert db_rows(home, "SELECT session_id, state FROM sessions ORDER BY session_id") == [
        ("s-due", "defaulted"),
        ("s-oct", "defaulted"),
    ]
    assert db_rows(home, "SELECT received_at FROM ratings WHERE session_id = 's-oct'")[0][0] >= cst(
        2026, 10, 14, 0, 0
    )


def test_record_rating_rules(ctx):
    """hostd.recording.channels.record_rating: the one way non-device ratings are recorded."""
    now = cst(2026, 10, 9, 9, 0)
    ctx.store.run(lambda db: add_session(db, "s-paper", cst(2026, 10, 8, 9, 0), now + 86400, cases=3))

    def record(*args, **kw):
        return ctx.store.run(lambda db: channels.record_rating(db, *args, now=now, **kw))

    with pytest.raises(channels.ReasonRequired):
        record("s-paper", "paper", 2)
    with pytest.raises(channels.ChannelError):
        record("s-paper", "device", 5)
    with pytest.raises(channels.ChannelError):
        record("s-paper", "paper", 6)
    with pytest.raises(channels.ChannelError):
        record("s-paper", "paper", 1, [9])
    with pytest.raises(channels.SessionNotFound):
        record("nope", "paper", 5)
    with pytest.raises(channels.ChannelError):
        record("s-paper", "qr", 5, details={"guide": "maybe"})
    assert rows(ctx, "s-paper")[1] == []  # refused ones left nothing behind
    rating_id = record("s-paper", "paper", 2, comment="材料要求反复变化", client_addr="staff:li")
    with ctx.store.read() as db:
        row = db.conn.execute(
            "SELECT channel, binding, level, cases, staff, comment, client_addr,"
            " received_at FROM ratings WHERE id = ?",
            (rating_id,),
        ).fetchone()
        session = db.conn.execute(
            "SELECT state, rating_id, closed_at FROM sessions WHERE session_id = 's-paper'"
        ).fetchone()
    assert row == ("paper", "session", 2, 3, "s1", "材料要求反复变化", "staff:li", now)
    assert session == ("rated", rating_id, now)
    with pytest.raises(channels.AlreadyRated):
        record("s-paper", "qr", 5)
