"""The printed hall display (公示海报): an A3 PDF of hostd/reporting/publication.py's figures,
for halls without a screen to put up on a notice board.

Written with fpdf2 and the installed CJK font (render.find_font), as the
quarterly report is. The same figures as /display, so the paper and the
screen never disagree; aggregates only.
"""

from hostd.base import hall_time
from hostd.devices.render import find_font

SIZE_MM = (297, 420)  # A3, portrait
MARGIN = 18
MAX_RANKED = 30  # rows of the ranking that fit beside the rest


def _pct(rate):
    return "-" if rate is None else "%.1f%%" % (100.0 * rate)


def write(out, figures, font=""):
    """Write the poster of `figures` (publication.figures) to `out`."""
    from fpdf import FPDF  # lazy: fpdf2 loads only for a poster
    from fpdf.fonts import FontFace  # lazy: with fpdf above

    pdf = FPDF(orientation="P", unit="mm", format=SIZE_MM)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font("cjk", fname=find_font(font))
    pdf.add_page()
    pdf.set_title("政务服务“好差评”公示 %s %s" % (figures["hall"], figures["quarter"]))
    width = SIZE_MM[0] - 2 * MARGIN
    pdf.set_text_color(200, 22, 29)
    pdf.set_font("cjk", size=40)
    pdf.cell(width, 20, "政务服务“好差评”公示", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=16)
    pdf.cell(
        width,
        10,
        "%s · %s · 截至 %s" % (figures["hall"], figures["quarter"], hall_time.when(figures["at"])),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    heading = FontFace(emphasis="", fill_color=(225, 232, 240))  # the CJK font has no bold
    q, fix = figures["quarter_rates"], figures["rectification"]
    _section(pdf, "本季度评价")
    _grid(
        pdf,
        heading,
        18,
        ["评价数", "好评率", "差评率"],
        [[str(q["total"]), _pct(q["good_rate"]), _pct(q["bad_rate"])]],
        size=26,
    )
    _section(pdf, "差评整改情况")
    _grid(
        pdf,
        heading,
        16,
        ["差评工单", "已整改答复", "按时整改", "按时整改率", "整改中", "其中超期"],
        [
            [
                str(fix["orders"]),
                str(fix["finished"]),
                str(fix["on_time"]),
                _pct(fix["on_time_rate"]),
                str(fix["open"]),
                str(fix["overdue"]),
            ]
        ],
        size=20,
    )
    un = figures["unresolved"]
    _section(pdf, "“办不成事”反映")
    _grid(
        pdf,
        heading,
        16,
        ["反映", "已解决", "兜底说明", "办理中", "其中超期"],
        [[str(un[k]) for k in ("reported", "resolved", "explained", "open", "overdue")]],
        size=20,
    )
    _section(pdf, "窗口季度排名（评价数不少于 %d 条的窗口）" % figures["min_ratings"])
    ranked = figures["ranking"][:MAX_RANKED]
    if ranked:
        _grid(
            pdf,
            heading,
            11,
            ["名次", "窗口", "综合得分", "评价数", "好评率"],
            [
                [
                    str(r["rank"]),
                    ("%s %s" % (r["window"], r["name"])).strip(),
                    "%.2f" % r["score"],
                    str(r["total"]),
                    _pct(r["good_rate"]),
                ]
                for r in ranked
            ],
            size=16,
        )
    else:
        pdf.set_font("cjk", size=13)
        pdf.cell(width, 9, "本季度暂无达到排名条件的窗口", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("cjk", size=11)
    pdf.multi_cell(
        width,
        6,
        "好评率 = 满意及非常满意评价数 / 评价数；按时整改率 = 在时限内整改答复的差评工单 / 差评工单。"
        "经复核为误评、恶意差评或刷好评的评价不计入统计。本公示不含任何评价人信息。"
        "对评价结果有异议，可向大厅监督考核部门反映，或拨打 12345 政务服务便民热线。",
        align="L",
    )
    pdf.output(str(out))


def _section(pdf, title):
    pdf.ln(6)
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")


def _grid(pdf, heading, line_height, headers, rows, size):
    pdf.set_font("cjk", size=size)
    with pdf.table(text_align="CENTER", line_height=line_height, headings_style=heading) as grid:
        grid.row(headers)
        for row in rows:
            grid.row(row)
