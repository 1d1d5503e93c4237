"""好差评统计 over a small hall: every rate checked against a count by hand."""

import pytest
from workorder_fixtures import T0, add_rating, add_session, hall_db, served_and_rated

from hostd.casework import workorders
from hostd.reporting import periods, stats

DAY = 86400


@pytest.fixture
def db(tmp_path):
    """Nov 2026: window 1 (s1, 税务局) 4 sessions: 5, 4, 3(default), 1(device);
    window 3 (s3, 人社局) 3 sessions: 5 (qr), 2 (paper), one cancelled, one still open;
    plus a window-level 5 on window 1 and a refused second rating."""
    db = hall_db(tmp_path)
    with db.conn:
        served_and_rated(db, "a1", "1", "s1", 5, T0 + 3600)
        served_and_rated(db, "a2", "1", "s1", 4, T0 + DAY + 3600, item=("I02", "社保卡补办"))
        served_and_rated(db, "a3", "1", "s1", 3, T0 + 8 * DAY, channel="default")
        db.bad1 = served_and_rated(db, "a4", "1", "s1", 1, T0 + 9 * DAY)
        served_and_rated(db, "c1", "3", "s3", 5, T0 + 2 * DAY, channel="qr")
        db.bad2 = served_and_rated(db, "c2", "3", "s3", 2, T0 + 10 * DAY, channel="paper")
        add_session(db, "c3", "3", "s3", T0 + 11 * DAY, state="cancelled")
        add_session(db, "c4", "3", "s3", T0 + 12 * DAY)
        add_rating(db, 5, T0 + 12 * DAY, window="1")
        add_rating(db, 1, T0 + 12 * DAY, session_id="a1", binding="refused")
        served_and_rated(db, "z1", "1", "s1", 1, T0 - 5 * DAY)  # October: outside
    yield db
    db.conn.close()


def test_period_specs_are_china_local_time():
    assert periods.period("2026-11") == (T0 - DAY, T0 + 29 * DAY)  # Nov 1 .. Dec 1
    assert periods.period("2026Q4")[0] == periods.period("2026-10")[0]
    assert periods.period("2026Q4")[1] == periods.period("2027-01")[0]
    assert periods.period("2026-11-02") == (T0, T0 + DAY)
    assert periods.period("2026-W45") == (T0, T0 + 7 * DAY)
    assert periods.quarter_of(T0) == "2026Q4" and periods.quarter_of(periods.period("2027Q1")[0]) == "2027Q1"
    with pytest.raises(periods.BadPeriod, match="2026Q4"):
        periods.period("Q4 2026")


def test_rates_of_the_month(db):
    r = stats.rates(db, *periods.period("2026-11"))
    # counted: 5 4 3 1 5 2 + window 5 = 7 ; refused and October are out
    assert (r["total"], r["good"], r["middle"], r["bad"]) == (7, 4, 1, 2)
    assert r["good_rate"] == round(4 / 7, 4) and r["bad_rate"] == round(2 / 7, 4)
    assert r["middle_rate"] == round(1 / 7, 4) and r["volume"] == 7
    # sessions: a1 a2 a3 a4 c1 c2 c4 (c3 cancelled) = 7; citizen-rated: a1 a2 a4 c1 c2 = 5
    assert (r["sessions"], r["active_rated"], r["active_rate"]) == (7, 5, round(5 / 7, 4))
    assert (r["bad_orders"], r["rectified_on_time"], r["rectify_rate"]) == (2, 0, 0.0)


def test_rectify_rate_counts_only_on_time(db):
    orders = {o["rating_id"]: o for o in workorders.list_orders(db, now=T0)}
    with db.conn:
        on_time = orders[db.bad1]
        workorders.move(db, on_time["order_id"], "contacted", "sup", now=on_time["opened_at"] + 60)
        workorders.move(
            db,
            on_time["order_id"],
            "explained",
            "sup",
            explanation="诉求不合理",
            now=on_time["opened_at"] + 120,
        )
        late = orders[db.bad2]
        for state, kw in (("contacted", {}), ("rectifying", {}), ("replied", {"reply": "已整改"})):
            workorders.move(db, late["order_id"], state, "sup", now=late["done_due"] + 1, **kw)
    r = stats.rates(db, *periods.period("2026-11"))
    assert (r["bad_orders"], r["rectified_on_time"], r["rectify_rate"]) == (2, 1, 0.5)


def test_breakdowns(db):
    start, end = periods.period("2026-11")
    by_staff = {row["key"]: row for row in stats.breakdown(db, "staff", start, end)}
    assert by_staff["s1"]["total"] == 5 and by_staff["s1"]["label"] == "张三（0001）"
    assert by_staff["s3"]["total"] == 2 and by_staff["s3"]["sessions"] == 3
    by_unit = {row["key"]: (row["label"], row["total"]) for row in stats.breakdown(db, "unit", start, end)}
    assert by_unit == {"u-tax": ("税务局", 5), "u-soc": ("人社局", 2)}
    by_channel = {row["label"]: row["total"] for row in stats.breakdown(db, "channel", start, end)}
    assert by_channel == {"评价器": 4, "系统默认评价": 1, "扫码评价": 1, "书面": 1}
    by_item = {row["label"]: row["total"] for row in stats.breakdown(db, "item", start, end)}
    assert by_item == {"个人所得税申报": 5, "社保卡补办": 1, "未知": 1}
    by_window = {row["label"]: row["bad"] for row in stats.breakdown(db, "window", start, end)}
    assert by_window == {"1号窗口": 1, "3号窗口": 1}
    weeks = {row["key"]: row["total"] for row in stats.breakdown(db, "week", start, end)}
    assert weeks == {"2026-11-02": 3, "2026-11-09": 4}  # weeks start on Monday
    days = {row["key"]: row["total"] for row in stats.breakdown(db, "day", start, end)}
    assert days["2026-11-02"] == 1 and days["2026-11-14"] == 1 and sum(days.values()) == 7
    months = stats.breakdown(db, "month", *periods.period("2026Q4"))
    assert [(m["key"], m["total"]) for m in months] == [("2026-10", 1), ("2026-11", 7)]
    quarters = stats.breakdown(db, "quarter", *periods.period("2026Q4"))
    assert [(q["key"], q["total"]) for q in quarters] == [("2026Q4", 8)]
    with pytest.raises(ValueError):
        stats.breakdown(db, "colour", start, end)


def test_filters(db):
    start, end = periods.period("2026-11")
    assert stats.rates(db, start, end, unit_id="u-soc")["total"] == 2
    assert stats.rates(db, start, end, window="1", channel="device")["total"] == 4
    assert stats.rates(db, start, end, item_code="I02")["total"] == 1
    assert stats.rates(db, start, end, channel="qr")["active_rate"] is None
    assert stats.rates(db, start, end, hall="elsewhere")["total"] == 0
    assert stats.rates(db, start, end, hall="elsewhere")["good_rate"] is None


def test_queries_use_the_indexes(db):
    start, end = periods.period("2026Q4")
    plan = " ".join(
        str(r)
        for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM ratings INDEXED BY ratings_stats"
            " WHERE received_at >= ? AND received_at < ?",
            (start, end),
        ).fetchall()
    )
    assert "COVERING INDEX ratings_stats" in plan


def test_quarterly_ranking_with_configurable_weights(db):
    from hostd.base.config import defaults
    from hostd.reporting import ranking

    config = defaults()
    config["ranking"]["min_ratings"] = 1
    rows = ranking.ranking(db, "2026Q4", by="staff", config=config)
    # s1: 6 ratings (Oct 1, Nov 4 + the window-level 5 while on duty) good 3/6, bad 2/6,
    #     sessions 5 rated 4 (a3 defaulted), 2 orders
    # s3: 2 ratings good 1/2, bad 1/2, sessions 3 rated 2, 1 order
    s1, s3 = ({r["key"]: r for r in rows}[k] for k in ("s1", "s3"))
    w = ranking.weights(config)
    assert w == {"good": 40, "bad": 20, "active": 20, "rectify": 20, "volume": 10}
    assert (s1["volume_share"], s3["volume_share"]) == (1.0, round(2 / 6, 4))  # 数据归集量: of the most
    expect_s1 = (
        100
        * (
            40 * s1["good_rate"]
            + 20 * (1 - s1["bad_rate"])
            + 20 * s1["active_rate"]
            + 20 * s1["rectify_rate"]
            + 10 * 1.0
        )
        / 110
    )
    assert s1["score"] == round(expect_s1, 2)
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["score"] >= rows[1]["score"]
    # weights decide: only 主动评价率 counts -> s1 (4/5 > 2/3) first
    config["ranking"].update(weight_good=0, weight_bad=0, weight_active=1, weight_rectify=0, weight_volume=0)
    rows = ranking.ranking(db, "2026Q4", by="staff", config=config)
    assert [r["key"] for r in rows] == ["s1", "s3"] and rows[0]["score"] == round(100 * 4 / 5, 2)
    # only 好评率 counts -> a tie (3/6 and 1/2): one rank, more ratings first
    config["ranking"].update(weight_good=1, weight_active=0)
    rows = ranking.ranking(db, "2026Q4", by="staff", config=config)
    assert [(r["key"], r["rank"], r["score"]) for r in rows] == [("s1", 1, 50.0), ("s3", 1, 50.0)]
    # only 1 - 差评率 -> s1 (1 - 2/6) above s3 (1 - 1/2)
    config["ranking"].update(weight_good=0, weight_bad=1)
    assert [r["key"] for r in ranking.ranking(db, "2026Q4", by="staff", config=config)] == ["s1", "s3"]
    config["ranking"]["min_ratings"] = 3
    assert [r["key"] for r in ranking.ranking(db, "2026Q4", by="staff", config=config)] == ["s1"]
    assert {r["label"] for r in ranking.ranking(db, "2026Q4", by="unit", config=config)} == {"税务局"}


@pytest.mark.parametrize("by", [None] + list(stats.GROUPS))
def test_daily_rollups_agree_with_the_raw_rows(db, by):
    """Whole days read stats_daily/sessions_daily (kept by triggers); a period
    one second shorter reads ratings/sessions: the answers must be equal."""
    start, end = periods.period("2026Q4")
    with db.conn:  # move a rating between staff, exclude one: the triggers follow
        db.execute("UPDATE ratings SET staff_id = 's2', excluded = '误评' WHERE id = ?", (db.bad2,))
    if by is None:
        assert stats.rates(db, start, end) == stats.rates(db, start + 1, end)
        assert stats.rates(db, start, end, staff_id="s2")["excluded"] == 1
    else:
        fast = stats.breakdown(db, by, start, end)
        raw = stats.breakdown(db, by, start + 1, end)
        assert fast == raw and fast
