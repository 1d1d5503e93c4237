"""`hostd report` in xlsx, csv and pdf, and the supervisors' CLI commands."""

import csv
import subprocess

import pytest
from hostd_support import hostd, make_home
from openpyxl import load_workbook
from workorder_fixtures import T0, add_rating, hall_db, served_and_rated

from hostd.db.store import open_database
from hostd.reporting import periods, stats


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("report"), hall="h1")
    db = hall_db(home.path)  # the same hostd.db
    with db.conn:
        for i in range(12):
            served_and_rated(db, "a%d" % i, "1", "s1", 5 if i % 3 else 4, T0 + 3600 * i)
        for i in range(6):
            served_and_rated(
                db, "b%d" % i, "2", "s2", 3, T0 + 30 * 86400 + 3600 * i, item=("I02", "社保卡补办")
            )
        db.bad = served_and_rated(db, "c1", "3", "s3", 1, T0 + 86400, channel="qr")
        add_rating(db, 2, T0 + 2 * 86400, window="3")
    db.conn.close()
    return home


def test_workorder_and_appeal_commands(home):
    listed = hostd(home, "workorder", "list", "--open")
    assert listed.exit_code == 0, listed.output
    assert "待联系" in listed.output and len(listed.output.strip().splitlines()) == 4  # 2 orders
    first = listed.output.strip().splitlines()[2].split()[0]
    moved = hostd(home, "workorder", "move", first, "closed", "--actor", "sup1")
    assert moved.exit_code == 2 and "Error:" in moved.output and "Traceback" not in moved.output
    assert len(moved.output.strip().splitlines()) == 1
    for state in ("contacted", "rectifying"):
        assert hostd(home, "workorder", "move", first, state, "--actor", "sup1").exit_code == 0
    replied = hostd(home, "workorder", "move", first, "replied", "--actor", "s3", "--reply", "已整改")
    assert replied.exit_code == 0 and "已答复" in replied.output
    shown = hostd(home, "workorder", "show", first)
    assert shown.exit_code == 0 and "rectifying -> replied" in shown.output and "s3" in shown.output
    filed = hostd(home, "appeal", "file", "19", "--staff-id", "s3", "--reason", "误按", "--actor", "s3")
    assert filed.exit_code == 0, filed.output
    wrong = hostd(home, "appeal", "file", "19", "--staff-id", "s1", "--reason", "x")
    assert wrong.exit_code == 1 and "own" in wrong.output
    decided = hostd(home, "appeal", "decide", "1", "--uphold", "--verdict", "恶意差评", "--actor", "sup1")
    assert decided.exit_code == 0 and "申诉成立" in decided.output
    assert "申诉成立" in hostd(home, "appeal", "list").output


def test_stats_ranking_and_fraud_commands(home):
    out = hostd(home, "stats", "--quarter", "2026Q4", "--by", "month")
    assert out.exit_code == 0, out.output
    assert "2026-11" in out.output and "2026-12" in out.output
    bad = hostd(home, "stats", "--month", "2026-13")
    assert bad.exit_code == 1 and "2026Q4" in bad.output
    ranked = hostd(home, "ranking", "--quarter", "2026Q4", "--by", "staff")
    assert ranked.exit_code == 0 and "张三" in ranked.output
    scanned = hostd(home, "fraud", "scan", "--quarter", "2026Q4", "--record")
    assert scanned.exit_code == 0, scanned.output


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "pdf"])
def test_report_files(home, tmp_path, fmt):
    out = tmp_path / ("q4." + fmt)
    result = hostd(home, "report", "--quarter", "2026Q4", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    db = open_database(str(home.db_path))
    expected = stats.rates(db, *periods.period("2026Q4"))
    db.conn.close()
    if fmt == "xlsx":
        book = load_workbook(out)
        summary = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=3, values_only=True)}
        assert summary["评价总量（数据归集量）"] == expected["total"]
        assert summary["好评率"] == pytest.approx(expected["good_rate"])
        assert book["总体情况"]["B7"].number_format == "0.0%"
        assert {"按月趋势", "按工作人员", "工作人员季度排名", "差评工单", "申诉复核"} <= set(book.sheetnames)
        months = [r[0] for r in book["按月趋势"].iter_rows(min_row=3, values_only=True)]
        assert months == ["2026-11", "2026-12"]
    elif fmt == "csv":
        rows = list(csv.reader(open(out, encoding="utf-8-sig")))
        assert "2026年第4季度" in rows[0][0]
        assert ["好评率", "%.1f%%" % (100 * expected["good_rate"])] in rows
    else:
        assert out.read_bytes()[:5] == b"%PDF-"
        png = tmp_path / "page"
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(out), str(png)], check=True)
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
        assert "好差评" in text and "好评率" in text and "张三" in text


def test_monthly_report_and_bad_month(home, tmp_path):
    out = tmp_path / "nov.csv"
    ok = hostd(
        home, "report", "--quarter", "2026Q4", "--month", "2026-11", "--format", "csv", "--out", str(out)
    )
    assert ok.exit_code == 0, ok.output
    text = out.read_text(encoding="utf-8-sig")
    assert "2026年11月" in text and "按周趋势" in text
    bad = hostd(home, "report", "--quarter", "2026Q4", "--month", "2027-01", "--out", str(out))
    assert bad.exit_code == 1 and "not in 2026Q4" in bad.output
