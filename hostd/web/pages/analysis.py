"""/analysis: 差评分析 for supervisors and admins (hostd/reporting/analysis.py, awards.py).

A quarter's 差评 by reason (with its share, and the quarter before for the
trend), by item, staff member and unit, the 差评 per month by reason, who or
what has 差评 piling up now (the concentration alert), the units in the
bottom of the ranking quarter after quarter, and the year's award from its
four quarterly scores.
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.reporting import analysis, awards, periods
from hostd.web import auth
from hostd.web.pages import charts as pages_charts
from hostd.web.pages.common import MANAGERS, now, quarter_spec, render

router = APIRouter()
TITLES = {"reason": "原因", "item": "事项", "staff": "工作人员", "unit": "单位"}


def _quarter(text):
    spec = (text or "").strip().upper() or quarter_spec()
    try:
        if "Q" not in spec or not 2001 <= int(spec[:4]) <= 2100:
            raise periods.BadPeriod(spec)
        return spec, periods.period(spec)
    except (periods.BadPeriod, ValueError):
        raise HTTPException(400, "季度格式应为 2026Q4 / the quarter must look like 2026Q4")


@router.get("/analysis")
def page(request: Request, quarter: str = "", user=Depends(auth.require_role(*MANAGERS))):
    ctx = request.app.state.ctx
    spec, (start, end) = _quarter(quarter)
    year = int(spec[:4])
    with ctx.store.read() as db:
        tables = {by: analysis.bad_by(db, by, start, end, hall=ctx.hall, limit=10) for by in analysis.BY}
        trend = analysis.monthly(db, *analysis.year_span(year), hall=ctx.hall)
        hot = analysis.concentrations(db, ctx.config, now(), hall=ctx.hall)
        bottom = awards.bottom_streaks(db, spec, ctx.config, hall=ctx.hall)
        annual = awards.annual(db, year, "unit", ctx.config, hall=ctx.hall)
    reason_chart = pages_charts.hbars(
        [(r["label"], r["share"], pages_charts.COLORS["bad"]) for r in tables["reason"]],
        title="%s 差评原因占比" % spec,
    )
    return render(
        request,
        "pages/analysis.html",
        user,
        "差评分析",
        "/analysis",
        quarter=spec,
        year=year,
        tables=tables,
        titles=TITLES,
        trend=trend,
        hot=hot,
        bottom=bottom,
        annual=annual,
        reason_chart=reason_chart,
        analysis_config=ctx.config["analysis"],
        quarter_weights=ctx.config["ranking"]["quarter_weights"],
    )
