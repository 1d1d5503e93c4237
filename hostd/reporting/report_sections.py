"""The supervision sections of the quarterly report (hostd/reporting/report.py
build() appends them): 差评分析, the units in the bottom and the annual
award; each order's 会商; the fraud flags with their review; 办不成事;
third-party evaluations beside the ratings; the 回访抽查 draw.

Each returns a table {"name", "headers", "rows"} (or a list of them), in
Chinese, with no evaluator data and no contact.
"""

import time

from hostd.casework import fraud, fraud_review, spot_checks, thirdparty, unresolved
from hostd.reporting import analysis, awards, periods, stats


def when(ts):
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts + periods.TZ)) if ts else ""


def analysis_tables(db, quarter, start, end, config, hall, month):
    """差评分析: by reason and item, with the period before; the units in the
    bottom quarter after quarter; the year's award so far (quarterly reports)."""
    out = []
    for by, title in (("reason", "原因"), ("item", "事项"), ("staff", "工作人员"), ("unit", "单位")):
        out.append(
            {
                "name": "差评按%s" % title,
                "headers": [title, "差评数", "占全部差评比率", "上期同期", "较上期"],
                "rows": [
                    [r["label"], r["bad"], r["share"], r["before"], r["change"]]
                    for r in analysis.bad_by(db, by, start, end, hall=hall, limit=50)
                ],
            }
        )
    if month:
        return out
    out.append(
        {
            "name": "连续排名靠后的单位",
            "headers": ["单位", "各季度名次"],
            "rows": [
                [b["label"], "；".join("%s 第%d/%d名" % place for place in b["places"])]
                for b in awards.bottom_streaks(db, quarter, config, hall=hall)
            ],
        }
    )
    year = int(quarter[:4])
    out.append(
        {
            "name": "%d年度评选（单位）" % year,
            "headers": ["名次", "单位", "一季度", "二季度", "三季度", "四季度", "年度得分"],
            "rows": [
                [a["rank"] or "不参评", a["label"]] + list(a["scores"]) + [a["annual"]]
                for a in awards.annual(db, year, "unit", config, hall=hall)
            ],
        }
    )
    return out


def consults_by_order(db, start, end):
    """{order_id: "住建局：已回复；市场监管局：待回复"} of the orders opened in the period."""
    out = {}
    for order_id, department, replied in db.execute(
        "SELECT c.order_id, c.department, c.replied_at IS NOT NULL FROM work_order_consults c"
        " JOIN work_orders o ON o.order_id = c.order_id WHERE o.opened_at >= ? AND o.opened_at < ?"
        " ORDER BY c.order_id, c.id",
        [start, end],
    ):
        part = "%s：%s" % (department, "已回复" if replied else "待回复")
        out[order_id] = "%s；%s" % (out[order_id], part) if order_id in out else part
    return out


def fraud_table(db, start, end, hall):
    """异常评价线索: the kept flags of the period with their review (hostd/casework/fraud_review.py),
    then what a scan finds now that was never kept (a hall whose daily scan did not run)."""
    kept = list(
        db.query(
            "SELECT f.*, (SELECT COUNT(*) FROM fraud_exclusions x WHERE x.flag_id = f.flag_id) AS n_excluded"
            " FROM fraud_flags f WHERE f.period_start < ? AND f.period_end > ?"
            " ORDER BY f.period_start, f.flag_id",
            [end, start],
        )
    )
    seen = {(f["kind"], f["subject"]) for f in kept}
    rows = [
        [
            fraud.KINDS.get(f["kind"], f["kind"]),
            f["subject"],
            f["statistic"],
            fraud_review.STATE_LABELS[f["state"]],
            f["verdict"] or "",
            f["n_excluded"],
            f["reviewed_by"] or "",
            f["review_note"] or "",
        ]
        for f in kept
    ]
    rows += [
        [f["kind_label"], f["subject"], f["statistic"], "未留存待核查", "", 0, "", ""]
        for f in fraud.scan(db, start, end, hall=hall)
        if (f["kind"], f["subject"]) not in seen
    ]
    return {
        "name": "异常评价线索",
        "headers": ["类型", "对象", "统计依据", "核查结果", "认定", "不计入评价数", "核查人", "核查理由"],
        "rows": rows,
    }


def unresolved_table(db, start, end, now):
    """办不成事 of the period: each report with its unit, deadlines and outcome (no contact)."""
    rows = db.execute(
        "SELECT r.report_id, COALESCE(u.name, r.unit_id), r.item_name, r.problem, r.reported_at,"
        " r.resolve_due, r.state, r.finished_at, r.outcome FROM unresolved_reports r"
        " LEFT JOIN units u ON u.unit_id = r.unit_id WHERE r.reported_at >= ? AND r.reported_at < ?"
        " ORDER BY r.report_id",
        [start, end],
    ).fetchall()
    at = int(now if now is not None else time.time())
    return {
        "name": "办不成事",
        "headers": [
            "编号",
            "责任单位",
            "事项",
            "反映问题",
            "登记时间",
            "办结时限",
            "状态",
            "办结时间",
            "办理结果",
        ],
        "rows": [
            [
                r[0],
                r[1],
                r[2] or "",
                r[3],
                when(r[4]),
                when(r[5]),
                unresolved.STATE_LABELS[r[6]]
                + ("（超期）" if r[6] in unresolved.OPEN_STATES and at > r[5] else ""),
                when(r[7]),
                r[8] or "",
            ]
            for r in rows
        ],
    }


def third_party_table(db, hall, start, end, filters):
    """第三方评价 by window, beside the same windows' ratings (never mixed in)."""
    devices = {r["key"]: r for r in stats.breakdown(db, "window", start, end, **filters)}
    rows = []
    for r in thirdparty.summary(db, hall, start, end, "window"):
        d = devices.get(r["key"]) if r["key"] else None
        rows.append(
            [r["key"] or "全厅", r["n"], r["sources"]]
            + [r[key + "_rate"] for key, _name in thirdparty.DIMENSIONS]
            + [d["total"] if d else None, d["good_rate"] if d else None]
        )
    return {
        "name": "第三方评价（四个满意度）",
        "headers": ["窗口", "第三方评价数", "来源"]
        + ["%s满意率" % name for _key, name in thirdparty.DIMENSIONS]
        + ["评价器等渠道评价数", "渠道好评率"],
        "rows": rows,
    }


def spot_check_table(db, quarter, span):
    """The 回访抽查 table: each drawn order and what its callback check found, then the totals."""
    totals = spot_checks.summary(db, quarter, span)
    rows = [
        [c["id"], c["order_id"], c["staff_name"] or c["staff_id"] or "", c["outcome_label"], c["note"] or "",
         c["checked_by"] or "", when(c["checked_at"]) if c["checked_at"] else ""]
        for c in spot_checks.listed(db, quarter)
    ]  # fmt: skip
    rows.append(
        [
            "合计",
            "已办结 %d，抽查 %d，已回访 %d" % (totals["finished"], totals["drawn"], totals["checked"]),
            "",
            "属实 %d，不符 %d，无法联系 %d"
            % (totals["confirmed"], totals["disputed"], totals["unreachable"]),
            "",
            "",
            "",
        ]
    )
    return {
        "name": "回访抽查",
        "headers": ["抽查号", "工单号", "工作人员", "结果", "说明", "回访人", "回访时间"],
        "rows": rows,
    }
