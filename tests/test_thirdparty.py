"""第三方评价 (issue 25, item 9): 明察暗访, 回访 and 体验官 results imported from
Excel or CSV, all of a file or none of it, and shown beside the device
ratings, never mixed into them."""

import io
import re

import openpyxl
from hostd_support import hostd, make_home
from test_evidence import jpeg, report_quarter
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import thirdparty
from hostd.reporting import report, stats
from hostd.web.pages.common import quarter_range

GOOD = [
    ["2026-11-20", "明察暗访", "W01", "", "满意", "非常满意", "满意", "非常满意", "全程约20分钟"],
    ["2026-11-21", "体验官", "", "0011", "5", "4", "5", "5", "引导清楚"],
    ["2026-11-22", "回访", "W02", "0012", "基本满意", "不满意", "满意", "满意", ""],
]


def xlsx(rows):
    book = openpyxl.Workbook()
    for row in rows:
        book.worksheets[0].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send(client, data, name="visits.xlsx"):
    page = client.get("/thirdparty").text
    return client.post(
        "/thirdparty/import",
        data={"csrf": csrf(page)},
        files={"file": (name, data, "application/octet-stream")},
    )


def count(ctx):
    with ctx.store.read() as db:
        return db.execute("SELECT COUNT(*) FROM third_party_evaluations").fetchone()[0]


def test_a_filled_template_is_imported_and_shown_beside_the_ratings(hall):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    got = zhao.get("/thirdparty/template.xlsx")
    assert got.status_code == 200
    rows = [
        list(r)
        for r in openpyxl.load_workbook(io.BytesIO(got.content)).worksheets[0].iter_rows(values_only=True)
    ]
    assert rows[0] == thirdparty.HEADERS and len(rows) == 3  # the header and two examples
    start, end = quarter_range()
    with ctx.store.read() as db:
        before = stats.rates(db, start, end)
    data = xlsx([thirdparty.HEADERS] + GOOD)
    done = send(zhao, data)
    assert done.status_code == 303, re.findall(r"<li>(.*?)</li>", done.text)
    assert "已导入 3 条第三方评价" in zhao.get("/thirdparty").text
    with ctx.store.read() as db:
        after = stats.rates(db, start, end)
        by_window = {r["key"]: r for r in thirdparty.summary(db, "h1", 0, 2**40, "window")}
        by_staff = {r["key"]: r for r in thirdparty.summary(db, "h1", 0, 2**40, "staff")}
    assert after == before  # never mixed into the ratings
    assert by_window[None]["n"] == 3 and by_window["W01"]["attitude_rate"] == 1.0
    assert by_window["W02"]["attitude_rate"] == 0.0 and by_window["W02"]["efficiency_avg"] == 3
    assert set(by_staff) == {None, "s1", "s2"}
    page = zhao.get("/thirdparty?quarter=2026Q4").text
    assert "明察暗访" in page and 'id="by-window"' in page
    again = send(zhao, data)
    assert again.status_code == 422 and "这份文件已于" in again.text and "未重复导入" in again.text
    resaved = send(zhao, xlsx([thirdparty.HEADERS] + GOOD[1:] + GOOD[1:]))  # another file, the same visits
    assert resaved.status_code == 422
    assert "第 2 行：与已导入的评价完全相同（批次 1）" in resaved.text
    assert "第 4 行：与已导入的评价完全相同（批次 1）" in resaved.text
    assert count(ctx) == 3


def test_a_bad_row_refuses_the_whole_file_listing_each_bad_row(hall):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    bad = [
        GOOD[0],
        ["2026-11-21", "路人", "W09", "", "5", "4", "5", "5", ""],
        ["11/21", "体验官", "", "", "很好", "4", "5", "5", ""],
        ["2099-01-01", "回访", "W01", "9999", "5", "5", "5", "5", ""],
        GOOD[0],
    ]
    refused = send(zhao, xlsx([thirdparty.HEADERS] + bad))
    assert refused.status_code == 422
    page = refused.text
    assert "有 4 行不符合要求，整份文件未导入" in page
    assert "第 6 行：与第 2 行完全相同" in page
    assert "第 3 行：来源 &#39;路人&#39; 须为 明察暗访、回访、体验官、第三方 之一；没有窗口 W09" in page
    assert (
        "第 4 行：日期 &#39;11/21&#39; 应写作 2026-11-20；须填写窗口或工作人员工号；办事效率 &#39;很好&#39;"
        in page
    )
    assert "第 5 行：日期 2099-01-01 在今天之后；没有工号为 9999 的在岗工作人员" in page
    assert count(ctx) == 0  # nothing half-imported
    header = send(zhao, xlsx([["日期", "窗口"]] + GOOD))
    assert "第 1 行：表头须为" in header.text and count(ctx) == 0


def test_uploads_are_told_apart_by_content_not_name(hall):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    image = send(zhao, jpeg(), name="visits.csv")
    assert "不是 Excel 或 CSV" in zhao.get(image.headers["location"]).text
    lines = "\n".join(",".join(r) for r in [thirdparty.HEADERS] + GOOD)
    gbk = send(zhao, lines.encode("gb18030"), name="visits.xlsx")  # Excel's CSV on a Chinese Windows
    assert gbk.status_code == 303 and count(ctx) == 3
    ctx.config["web"]["upload_max_kb"] = 1
    big = send(zhao, ("x" * 2048).encode(), name="big.csv")
    assert "超过上限 1 KB" in zhao.get(big.headers["location"]).text
    li = client_for(ctx)
    login(li, "li")
    assert li.get("/thirdparty").status_code == 403
    admin = client_for(ctx)
    login(admin, "admin")  # sees, does not import
    assert admin.get("/thirdparty").status_code == 200
    assert send(admin, lines.encode()).status_code == 403


def test_the_quarterly_report_has_its_own_table(hall, tmp_path):  # noqa: F811
    ctx, _ = hall
    zhao = client_for(ctx)
    login(zhao, "zhao")
    today = __import__("time").strftime(
        "%Y-%m-%d", __import__("time").gmtime(__import__("time").time() + 8 * 3600)
    )
    send(zhao, xlsx([thirdparty.HEADERS, [today] + GOOD[0][1:]]))
    with ctx.store.read() as db:
        built = report.build(db, quarter=report_quarter(), config=ctx.config)
    out = tmp_path / "r.xlsx"
    report.write(built, "xlsx", out)
    sheet = [ws for ws in openpyxl.load_workbook(out).worksheets if ws.title.startswith("第三方")][0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == ("窗口", "第三方评价数", "来源", "办事效率满意率")
    assert rows[2][:3] == ("全厅", 1, "明察暗访") and rows[3][0] == "W01"
    assert rows[3][-2] == 4  # W01's own ratings, beside


def test_cli_template_import_and_summary(tmp_path):
    home = make_home(tmp_path / "home", hall="h1")
    from workorder_fixtures import hall_db

    hall_db(home.path).conn.close()
    template = tmp_path / "t.csv"
    assert hostd(home, "thirdparty", "template", "--out", str(template)).exit_code == 0
    text = template.read_text(encoding="utf-8-sig").splitlines()
    assert text[0].split(",") == thirdparty.HEADERS
    rows = [
        ["2026-11-20", "回访", "1", "0001", "5", "5", "4", "3", "ok"],
        ["2026-11-20", "回访", "9", "", "5", "5", "5", "5", ""],
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(",".join(r) for r in [thirdparty.HEADERS] + rows), encoding="utf-8")
    refused = hostd(home, "thirdparty", "import", str(bad))
    assert (
        refused.exit_code == 2
        and "第 3 行：没有窗口 9" in refused.output
        and "Traceback" not in refused.output
    )
    good = tmp_path / "good.csv"
    good.write_text("\n".join(",".join(r) for r in [thirdparty.HEADERS] + rows[:1]), encoding="utf-8")
    done = hostd(home, "thirdparty", "import", str(good))
    assert done.exit_code == 0 and "imported 1 evaluation(s) from good.csv" in done.output
    summary = hostd(home, "thirdparty", "summary", "--quarter", "2026Q4")
    assert "全厅" in summary.output and "100.0%" in summary.output
    missing = hostd(home, "thirdparty", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.output
