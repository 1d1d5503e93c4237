"""/display: the public big-screen hall display (no login).

Aggregates only, per window, for today and this quarter: counts and rates.
No rating rows, no comments, no evaluator data ever reach this page.
"""

from fastapi import APIRouter, Request

from hostd.reporting import stats
from hostd.web.pages.common import DAY, TEMPLATES, day_start, now, pct, quarter_range, quarter_spec, when

router = APIRouter()
REFRESH_SECONDS = 30


@router.get("/display")
def display(request: Request):
    ctx = request.app.state.ctx
    today = day_start()
    q_start, q_end = quarter_range()
    with ctx.store.read() as db:
        names = {w: n for w, n in db.execute("SELECT window, name FROM windows WHERE hall = ?", [ctx.hall])}
        by_today = {r["key"]: r for r in stats.breakdown(db, "window", today, today + DAY, hall=ctx.hall)}
        by_quarter = {r["key"]: r for r in stats.breakdown(db, "window", q_start, q_end, hall=ctx.hall)}
        hall_today = stats.rates(db, today, today + DAY, hall=ctx.hall)
        hall_quarter = stats.rates(db, q_start, q_end, hall=ctx.hall)
    windows = sorted(set(names) | set(by_today) | set(by_quarter), key=lambda w: str(w))
    rows = [
        {"window": w, "name": names.get(w) or "", "today": by_today.get(w), "quarter": by_quarter.get(w)}
        for w in windows
        if w
    ]
    return TEMPLATES.TemplateResponse(
        request,
        "pages/display.html",
        {
            "title": "大厅公示屏",
            "hall": ctx.hall,
            "rows": rows,
            "today": hall_today,
            "quarter": hall_quarter,
            "quarter_name": quarter_spec(),
            "pct": pct,
            "updated": when(now(), "%Y-%m-%d %H:%M"),
            "refresh": REFRESH_SECONDS,
            "user": None,
        },
    )
