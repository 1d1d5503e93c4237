"""`hostd report`: the monthly or quarterly 好差评 report a supervisor sends up.

build() gathers plain tables (summary, trend, breakdowns, rankings, work
orders, appeals, fraud flags) from hostd.reporting.stats / ranking / workorders /
appeals / fraud; write() puts them into an .xlsx (openpyxl), a .csv (the
tables one after another, UTF-8 with BOM so Excel reads the Chinese) or a
.pdf (fpdf2 with the installed CJK font). Columns whose header ends in 率
hold ratios 0..1 and are shown as percentages.
"""

import csv
import time

from hostd.base.cells import safe_row
from hostd.base.errors import UserError
from hostd.casework import (
    appeals,
    evidence,
    workorders,
)
from hostd.devices.render import find_font
from hostd.reporting import periods, ranking, stats
from hostd.reporting import report_sections as sections
from hostd.rules import deadlines

FORMATS = ("xlsx", "csv", "pdf")
RATE_COLUMNS = ["评价量", "好评率", "中评率", "差评率", "主动评价率", "差评整改率"]


class ReportError(UserError):
    pass


def _rate_row(label, r):
    return [
        label,
        r["total"],
        r["good_rate"],
        r["middle_rate"],
        r["bad_rate"],
        r["active_rate"],
        r["rectify_rate"],
    ]


def _when(ts):
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts + periods.TZ)) if ts else ""


def build(db, quarter, month=None, config=None, hall=None, now=None):
    """The report of `quarter` ("2026Q4"), or of `month` ("2026-11") inside it."""
    try:
        q_start, q_end = periods.period(quarter)
        start, end = periods.period(month) if month else (q_start, q_end)
    except periods.BadPeriod as e:
        raise ReportError(str(e)) from None
    if not (q_start <= start < q_end):
        raise ReportError("--month %s is not in %s: give a month of that quarter" % (month, quarter))
    y, q = quarter.upper().split("Q")
    name = ("%s年%d月" % (month[:4], int(month[5:7]))) if month else "%s年第%s季度" % (y, q)
    hall_name = hall or ((config or {}).get("hall") or {}).get("id", "")
    filters = {"hall": hall} if hall else {}
    summary = stats.rates(db, start, end, **filters)
    summary.update(stats.named_callbacks(db, start, end, **filters))
    tables = []
    tables.append(
        {
            "name": "总体情况",
            "headers": ["指标", "数值"],
            "rows": [
                ["评价总量（数据归集量）", summary["total"]],
                ["好评数", summary["good"]],
                ["中评数", summary["middle"]],
                ["差评数", summary["bad"]],
                ["好评率", summary["good_rate"]],
                ["中评率", summary["middle_rate"]],
                ["差评率", summary["bad_rate"]],
                ["服务次数", summary["sessions"]],
                ["主动评价数", summary["active_rated"]],
                ["主动评价率", summary["active_rate"]],
                ["差评工单数", summary["bad_orders"]],
                ["按时整改数", summary["rectified_on_time"]],
                ["差评整改率", summary["rectify_rate"]],
                ["实名差评数", summary["named_bad"]],
                ["实名差评已回访数", summary["called_back"]],
                ["实名差评回访率", summary["callback_rate"]],
                ["不计入统计数（申诉成立、核查属实）", summary["excluded"]],
            ],
        }
    )
    trend_by = "week" if month else "month"
    tables.append(
        {
            "name": "按周趋势" if month else "按月趋势",
            "headers": ["时间"] + RATE_COLUMNS,
            "rows": [_rate_row(r["label"], r) for r in stats.breakdown(db, trend_by, start, end, **filters)],
        }
    )
    for by, title in (
        ("unit", "按单位"),
        ("window", "按窗口"),
        ("staff", "按工作人员"),
        ("item", "按事项"),
        ("channel", "按评价渠道"),
    ):
        rows = stats.breakdown(db, by, start, end, **filters)
        tables.append(
            {
                "name": title,
                "headers": [title[1:]] + RATE_COLUMNS,
                "rows": [_rate_row(r["label"], r) for r in rows],
            }
        )
    for by, title in (("unit", "单位"), ("window", "窗口"), ("staff", "工作人员")):
        rows = ranking.ranking(db, quarter, by=by, config=config, hall=hall)
        tables.append(
            {
                "name": "%s季度排名" % title,
                "headers": ["名次", title, "得分"] + RATE_COLUMNS,
                "rows": [[r["rank"], r["label"], r["score"]] + _rate_row(r["label"], r)[1:] for r in rows],
            }
        )
    tables.extend(sections.analysis_tables(db, quarter.upper(), start, end, config, hall, month))
    orders = [o for o in workorders.list_orders(db, now=now, limit=100000) if start <= o["opened_at"] < end]
    classes = deadlines.classes(config)
    consults = sections.consults_by_order(db, start, end)
    tables.append(
        {
            "name": "差评工单",
            "headers": [
                "工单号",
                "窗口",
                "工作人员",
                "单位",
                "评价等级",
                "状态",
                "生成时间",
                "办结时限",
                "办结时间",
                "是否按时",
                "群众评价",
                "超期",
                "问题分类",
                "会商",
            ],
            "rows": [
                [
                    o["order_id"],
                    o["window"] or "",
                    o["staff_name"] or "",
                    o["unit_name"] or "",
                    o["level"],
                    o["state_label"],
                    _when(o["opened_at"]),
                    _when(o["done_due"]),
                    _when(o["done_at"]),
                    "是" if o["on_time"] else "否",
                    o["feedback"] or "",
                    {"done": "办结超期", "contact": "联系超期"}.get(o["overdue"], ""),
                    classes.get(o["complexity"], {}).get("label", o["complexity"]),
                    consults.get(o["order_id"], ""),
                ]
                for o in orders
            ],
        }
    )
    decided = [
        a
        for a in appeals.list_appeals(db, limit=100000)
        if a["decided_at"] and start <= a["decided_at"] < end
    ]
    tables.append(
        {
            "name": "申诉复核",
            "headers": [
                "申诉号",
                "评价号",
                "工作人员",
                "申诉理由",
                "结果",
                "认定",
                "复核人",
                "复核时间",
                "说明",
            ],
            "rows": [
                [
                    a["appeal_id"],
                    a["rating_id"],
                    a["staff_name"] or a["staff_id"],
                    a["reason"],
                    a["state_label"],
                    a["verdict"] or "",
                    a["decided_by"],
                    _when(a["decided_at"]),
                    a["decision_note"] or "",
                ]
                for a in decided
            ],
        }
    )
    if not month:  # 回访抽查 draws a quarter
        tables.append(sections.spot_check_table(db, quarter.upper(), (q_start, q_end)))
    tables.append(
        {
            "name": "佐证与举证材料",
            "headers": ["材料号", "所属", "文件名", "类型", "大小(KB)", "SHA-256", "上传人", "上传时间"],
            "rows": [
                [
                    f["id"],
                    ("工单 #%d" % f["order_id"]) if f["order_id"] else ("申诉 #%d" % f["appeal_id"]),
                    f["name"],
                    f["kind"].upper(),
                    round(f["bytes"] / 1024, 1),
                    f["sha256"],
                    f["added_by"],
                    _when(f["added_at"]),
                ]
                for f in evidence.in_period(db, start, end)
            ],
        }
    )
    tables.append(sections.fraud_table(db, start, end, hall))
    tables.append(sections.unresolved_table(db, start, end, now))
    tables.append(sections.third_party_table(db, hall_name, start, end, filters))
    return {
        "title": "%s政务服务“好差评”%s报告" % (hall_name + " " if hall_name else "", name),
        "period": name,
        "start": start,
        "end": end,
        "summary": summary,
        "tables": tables,
        "generated_at": _when(int(now if now is not None else time.time())),
        "font": ((config or {}).get("render") or {}).get("font", ""),
    }


def _is_rate(header):
    return header.endswith("率")


def _text(header, value):
    if value is None:
        return "-"
    if _is_rate(header) and isinstance(value, float):
        return "%.1f%%" % (100 * value)
    return str(value)


def _cells(table):
    """Rows of text; in 总体情况 the row label says whether the value is a rate."""
    out = []
    for row in table["rows"]:
        if table["headers"] == ["指标", "数值"]:
            out.append([row[0], _text(row[0], row[1])])
        else:
            out.append([_text(h, v) for h, v in zip(table["headers"], row)])
    return out


def write(report, fmt, out):
    """Write `report` as fmt (xlsx, csv, pdf) to the path `out`; return it."""
    if fmt not in FORMATS:
        raise ReportError("format %r: use xlsx, csv or pdf" % fmt)
    {"xlsx": _xlsx, "csv": _csv, "pdf": _pdf}[fmt](report, str(out))
    return str(out)


def _csv(report, out):
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow([report["title"]])
        w.writerow(["生成时间", report["generated_at"]])
        for table in report["tables"]:
            w.writerow([])
            w.writerow(["【%s】" % table["name"]])
            w.writerow(table["headers"])
            w.writerows(safe_row(row) for row in _cells(table))


def _xlsx(report, out):
    # lazy: openpyxl loads only for an Excel report
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    if book.active is not None:
        book.remove(book.active)
    for table in report["tables"]:
        sheet = book.create_sheet(table["name"][:31])
        sheet.append([report["title"]])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append(table["headers"])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table["rows"]:
            sheet.append(safe_row(row))
            labelled = table["headers"] == ["指标", "数值"]
            for cell, header in zip(sheet[sheet.max_row], table["headers"]):
                rate = _is_rate(row[0]) and cell.column == 2 if labelled else _is_rate(header)
                if rate and isinstance(cell.value, float):
                    cell.number_format = "0.0%"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column[1:]) if len(column) > 1 else 8
            sheet.column_dimensions[column[0].column_letter].width = min(40, max(8, 2 * width))
    book.save(out)


def _pdf(report, out):
    # lazy: fpdf2 loads only for a PDF report
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = find_font(report.get("font", ""))
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("cjk", fname=font)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, report["title"], new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("cjk", size=9)
    pdf.cell(
        0,
        6,
        "统计期间：%s    生成时间：%s" % (report["period"], report["generated_at"]),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    for table in report["tables"]:
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, table["name"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        rows = _cells(table)
        if not rows:
            pdf.cell(0, 6, "（无）", new_x="LMARGIN", new_y="NEXT")
            continue
        heading = FontFace(emphasis="", fill_color=(225, 232, 240))  # the CJK font has no bold
        with pdf.table(text_align="LEFT", line_height=5, repeat_headings=1, headings_style=heading) as grid:
            grid.row(table["headers"])
            for row in rows:
                grid.row(row)
    pdf.output(out)
