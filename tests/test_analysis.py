"""差评 analysis (issue 25, item 5): by reason, item, staff member and unit
with the period before, read from rollups that must agree with the raw rows;
the concentration alert; 数据归集量 in the score; units in the bottom
quarter after quarter; the annual award from four quarters."""

import json

import openpyxl
import pytest
from test_evidence import report_quarter
from test_pages_auth import client_for, hall, login, seeded_home  # noqa: F401  (fixtures)
from workorder_fixtures import T0, hall_db, served_and_rated

from hostd.alerts import conditions
from hostd.base.config import defaults
from hostd.reporting import analysis, awards, periods, report

DAY = 86400
ITEM_B = ("I02", "企业开办")


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def bad(db, sid, window, staff, at, reasons, level=1, item=None):
    kw = {"item": item} if item else {}
    rid = served_and_rated(db, sid, window, staff, level, at, **kw)
    db.execute("UPDATE ratings SET reasons = ? WHERE id = ?", (json.dumps(reasons), rid))
    return rid


def raw(db, by, start, end):
    """The same counts straight from ratings, for the rollups to agree with."""
    counted = "level <= 2 AND binding IN ('session', 'window') AND excluded IS NULL"
    if by == "reason":
        sql = (
            "SELECT CAST(j.value AS INTEGER), COUNT(*) FROM ratings r, json_each(CASE WHEN"
            " json_array_length(r.reasons) > 0 THEN r.reasons ELSE '[0]' END) j"
            " WHERE r.%s AND r.received_at >= ? AND r.received_at < ? GROUP BY 1"
            % counted.replace(" AND ", " AND r.")
        )
    else:
        column = {"item": "item_code", "staff": "staff_id", "unit": "unit_id"}[by]
        sql = "SELECT COALESCE(%s, ''), COUNT(*) FROM ratings WHERE %s" % (column, counted)
        sql += " AND received_at >= ? AND received_at < ? GROUP BY 1"
    return dict(db.execute(sql, (start, end)).fetchall())


def test_the_rollups_agree_with_the_raw_rows_through_every_change(db):
    start, end = periods.period("2026Q4")
    with db.conn:
        a = bad(db, "a1", "1", "s1", T0 + 3600, [1, 3])
        bad(db, "a2", "1", "s1", T0 + 7200, [], level=2)  # no reason chosen
        b = bad(db, "a3", "2", "s2", T0 + 9000, [2], item=ITEM_B)
        c = bad(db, "a4", "3", "s3", T0 + DAY, [1])
        served_and_rated(db, "a5", "1", "s1", 5, T0 + DAY)  # a good one: no 差评
        db.execute("UPDATE ratings SET excluded = '误评' WHERE id = ?", (c,))  # leaves the count
        db.execute("UPDATE ratings SET reasons = '[4]' WHERE id = ?", (b,))  # reasons change
        db.execute("UPDATE ratings SET level = 5 WHERE id = ?", (a,))  # no longer a 差评
    for by in analysis.BY:
        expected = {k: n for k, n in raw(db, by, start, end).items() if n}
        monthly = {r["key"]: r["bad"] for r in analysis.bad_by(db, by, start, end)}  # bad_monthly
        daily = {r["key"]: r["bad"] for r in analysis.bad_by(db, by, start + 1, end)}  # bad_daily
        assert monthly == expected and daily == expected, by
    reasons = {r["label"]: r for r in analysis.bad_by(db, "reason", start, end)}
    assert set(reasons) == {"未选择原因", "服务环境"}
    assert reasons["服务环境"]["share"] == 0.5  # of the two 差评 that count
    items = analysis.bad_by(db, "item", start, end)
    assert {r["label"] for r in items} == {"个人所得税申报", "企业开办"}


def test_the_trend_compares_with_the_period_before(db):
    with db.conn:
        bad(db, "a1", "1", "s1", T0 - 40 * DAY, [1])  # 2026Q3 (September)
        bad(db, "a2", "1", "s1", T0 + 3600, [1])
        bad(db, "a3", "2", "s2", T0 + 7200, [1])
        bad(db, "a4", "2", "s2", T0 + 9000, [2])
    start, end = periods.period("2026Q4")
    staff = {r["key"]: r for r in analysis.bad_by(db, "staff", start, end)}
    assert (staff["s2"]["bad"], staff["s2"]["before"], staff["s2"]["change"]) == (2, 0, 2)
    assert (staff["s1"]["bad"], staff["s1"]["before"], staff["s1"]["change"]) == (1, 1, 0)
    trend = analysis.monthly(db, *analysis.year_span(2026))
    assert trend["months"] == ["2026-09", "2026-11"]
    assert trend["series"] == {"服务态度": [1, 2], "服务效率": [0, 1]}


def test_a_concentration_of_bad_ratings_raises_an_alert(db):
    config = defaults()
    config["analysis"].update(concentration_count=3, concentration_days=7)
    with db.conn:
        for i in range(3):
            bad(db, "s%d" % i, "2", "s2", T0 + i * DAY, [1], item=ITEM_B)
        bad(db, "x1", "1", "s1", T0 + 3600, [1])
    hits = analysis.concentrations(db, config, T0 + 2 * DAY + 60)
    assert [(h["by"], h["key"], h["bad"]) for h in hits] == [("staff", "s2", 3), ("item", "I02", 3)]
    alerts = conditions.bad_concentration(db, config, T0 + 2 * DAY + 60)
    assert set(alerts) == {"bad_concentration:staff:s2", "bad_concentration:item:I02"}
    assert "李四" in alerts["bad_concentration:staff:s2"]["message"]
    assert analysis.concentrations(db, config, T0 + 8 * DAY) == []  # the first fell out of the 7 days


def _quarter_of(db, quarter, unit_scores):
    """Ratings in `quarter` that rank units: {window: (good, bad)}."""
    start, _end = periods.period(quarter)
    for window, (good, bads) in unit_scores.items():
        staff = {"1": "s1", "3": "s3"}[window]
        for i in range(good):
            served_and_rated(db, "%s-%s-g%d" % (quarter, window, i), window, staff, 5, start + 3600 + i * 60)
        for i in range(bads):
            served_and_rated(db, "%s-%s-b%d" % (quarter, window, i), window, staff, 1, start + 7200 + i * 60)


def test_annual_award_and_units_in_the_bottom_quarter_after_quarter(db):
    config = defaults()
    config["ranking"]["min_ratings"] = 1
    config["analysis"].update(bottom_n=1, bottom_quarters=2)
    with db.conn:
        for q, scores in (
            ("2026Q1", {"1": (4, 0), "3": (1, 3)}),
            ("2026Q2", {"1": (4, 0), "3": (2, 2)}),
            ("2026Q3", {"1": (1, 3), "3": (3, 1)}),
            ("2026Q4", {"1": (4, 0)}),
        ):
            _quarter_of(db, q, scores)
    # window 1 is 税务局 (u-tax), window 3 人社局 (u-soc)
    streak = awards.bottom_streaks(db, "2026Q2", config)
    assert [(b["key"], [p[0] for p in b["places"]]) for b in streak] == [("u-soc", ["2026Q2", "2026Q1"])]
    assert awards.bottom_streaks(db, "2026Q3", config) == []  # u-tax fell, u-soc rose
    assert awards.bottom_streaks(db, "2026Q4", config) == []  # one unit ranked: no bottom
    rows = awards.annual(db, 2026, "unit", config)
    tax, soc = rows
    assert tax["key"] == "u-tax" and tax["eligible"] and tax["rank"] == 1
    assert tax["annual"] == round(sum(tax["scores"]) / 4, 2)
    assert soc["key"] == "u-soc" and not soc["eligible"] and soc["rank"] is None  # not ranked in Q4
    config["ranking"]["quarter_weights"] = [0, 0, 1, 1]  # only the second half counts
    tax = awards.annual(db, 2026, "unit", config)[0]
    assert tax["annual"] == round((tax["scores"][2] + tax["scores"][3]) / 2, 2)


def test_the_analysis_page_and_the_report(hall, tmp_path):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/analysis")
    assert page.status_code == 200
    for part in (
        'id="bad-by-reason"',
        'id="bad-by-item"',
        'id="bad-by-staff"',
        'id="bad-by-unit"',
        'id="annual"',
        'id="bottom"',
    ):
        assert part in page.text, part
    assert "服务态度" in page.text and "营业执照办理" in page.text  # the seed's 差评: reason [1], item A001
    assert zhao.get("/analysis?quarter=bogus").status_code == 400
    assert "本季度差评主要原因：服务态度 2 条（100.0%" in zhao.get("/dashboard").text
    zhang = client_for(ctx)
    login(zhang, "zhang")
    assert zhang.get("/analysis").status_code == 403
    with ctx.store.read() as db:
        built = report.build(db, quarter=report_quarter(), config=ctx.config)
    out = tmp_path / "r.xlsx"
    report.write(built, "xlsx", out)
    titles = [ws.title for ws in openpyxl.load_workbook(out).worksheets]
    for name in ("差评按原因", "差评按事项", "连续排名靠后的单位"):
        assert any(t.startswith(name) for t in titles), (name, titles)
    assert any("年度评选" in t for t in titles)
    sheet = [ws for ws in openpyxl.load_workbook(out).worksheets if ws.title.startswith("差评按原因")][0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:2] == ("服务态度", 2)


def test_the_period_before_is_the_month_or_quarter_before():
    assert analysis.previous(*periods.period("2026Q1")) == periods.period("2025Q4")  # 90 days after 92
    assert analysis.previous(*periods.period("2026Q3")) == periods.period("2026Q2")
    assert analysis.previous(*periods.period("2026-03")) == periods.period("2026-02")
    assert analysis.previous(*periods.period("2026-01")) == periods.period("2025-12")
    start, end = periods.period("2026-11-05")  # a day: the day before
    assert analysis.previous(start, end) == (start - DAY, start)


def test_a_year_out_of_range_is_a_clear_400(hall):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    for quarter in ("0999Q1", "9999Q4", "2026Q9"):
        assert zhao.get("/analysis?quarter=%s" % quarter).status_code == 400, quarter
