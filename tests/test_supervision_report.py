"""The quarterly report's issue-25 sections, checked by opening the files:
each order's class and 会商, and the fraud flags with their review."""

import subprocess

import openpyxl
from test_evidence import report_quarter
from test_fraud_review import add_flag
from test_pages_auth import hall, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import classes, fraud_review, unresolved
from hostd.reporting import report


def test_the_report_carries_classes_consults_and_reviewed_flags(hall, tmp_path):  # noqa: F811
    ctx, made = hall
    ctx.config["workorder"]["policy"] = "ezhou-pilot"
    with ctx.store.read() as db:
        order = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's1'").fetchone()[0]

    def work(db):
        classes.set_class(db, order, "complex", "zhao", config=ctx.config)
        classes.add_consult(db, order, "住建局", "zhao")

    ctx.store.run(work)
    report_text = {"hall": "h1", "unit_id": "u1", "problem": "跨省医保备案办不了", "item_name": "医保备案"}
    report_text.update(contact_mobile="13900139000", consent=True)
    ctx.store.run(lambda db: unresolved.register(db, ctx.config, report_text, "zhang", "window"))
    flag = add_flag(ctx, "burst", "w01-a", made["s1"])
    ctx.store.run(lambda db: fraud_review.confirm(db, flag, "zhao", "刷好评", "监控核实", made["s1"]))
    with ctx.store.read() as db:
        built = report.build(db, quarter=report_quarter(), config=ctx.config)
    xlsx, pdf = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    report.write(built, "xlsx", xlsx)
    report.write(built, "pdf", pdf)
    book = {ws.title: list(ws.iter_rows(values_only=True)) for ws in openpyxl.load_workbook(xlsx).worksheets}
    orders = next(rows for title, rows in book.items() if title.startswith("差评工单"))
    header = orders[1]
    row = next(r for r in orders[2:] if r[0] == order)
    assert row[header.index("问题分类")] == "较为复杂（会商）"
    assert row[header.index("会商")] == "住建局：待回复"
    flags = next(rows for title, rows in book.items() if title.startswith("异常评价线索"))
    assert flags[1][:6] == ("类型", "对象", "统计依据", "核查结果", "认定", "不计入评价数")
    assert flags[2][3:8] == ("属实", "刷好评", 3, "zhao", "监控核实")
    un = next(rows for title, rows in book.items() if title.startswith("办不成事"))
    assert un[1][:4] == ("编号", "责任单位", "事项", "反映问题")
    assert un[2][1:4] == ("市场监管局", "医保备案", "跨省医保备案办不了") and un[2][6] == "待受理"
    assert not any("13900139000" in str(cell) for rows in book.values() for row in rows for cell in row)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "异常评价线索" in text and "监控核实" in text and "住建局" in text  # cells wrap in the PDF
    for section in ("办不成事", "差评按原因", "差评按事项", "连续排名靠后的单位", "年度评选", "第三方评价"):
        assert section in text, section
    assert "13900139000" not in text
