"""/ranking: 季度排名 of staff, windows or units (hostd/reporting/ranking.py),
with each score's parts, and those with too few ratings to rank. Item
ranking is in the quarterly report and `hostd stats`: by item, the
statistics still read the rating rows (no item rollup yet).
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.reporting import periods
from hostd.reporting import ranking as reporting_ranking
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, quarter_spec, render

router = APIRouter()
SUBJECTS = {"staff": "工作人员", "window": "窗口", "unit": "部门"}


@router.get("/ranking")
def ranking_page(
    request: Request, quarter: str = "", by: str = "staff", user=Depends(auth.require_role(*MANAGERS))
):
    quarter = quarter.strip().upper() or quarter_spec()
    if by not in SUBJECTS:
        raise HTTPException(
            400, "排名对象只能是 %s / rank one of %s" % ("、".join(SUBJECTS.values()), ", ".join(SUBJECTS))
        )
    try:
        if "Q" not in quarter:
            raise periods.BadPeriod(quarter)
        periods.period(quarter)
    except periods.BadPeriod:
        raise HTTPException(400, "季度的写法是 2026Q4 / a quarter is written 2026Q4, not %r" % quarter[:20])
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        rows = reporting_ranking.ranking(db, quarter, by=by, config=ctx.config)
        few = reporting_ranking.unranked(db, quarter, by=by, config=ctx.config)
    return render(
        request,
        "pages/ranking.html",
        user,
        "季度排名",
        "/ranking",
        rows=rows,
        few=few,
        quarter=quarter,
        by=by,
        subjects=SUBJECTS,
        min_ratings=max(ctx.config["ranking"]["min_ratings"], 1),
    )
