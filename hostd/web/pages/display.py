"""/display: the public big-screen hall display (no login), and its printed poster.

Aggregates only (hostd/reporting/publication.py), for today and this
quarter: counts and rates per window, this quarter's 整改情况 and the
windows' quarterly ranking. No rating rows, no comments, no evaluator data
ever reach this page. /display/poster.pdf is the same as an A3 poster
(hostd/reporting/poster.py), for managers to print.
"""

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hostd.reporting import poster, publication
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, TEMPLATES, now, pct, when

router = APIRouter()
REFRESH_SECONDS = 30


@router.get("/display")
def display(request: Request):
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        data = publication.figures(db, ctx.hall, ctx.config, now())
    return TEMPLATES.TemplateResponse(
        request,
        "pages/display.html",
        {
            "title": "大厅公示屏",
            "hall": ctx.hall,
            "rows": data["windows"],
            "today": data["today"],
            "quarter": data["quarter_rates"],
            "quarter_name": data["quarter"],
            "fix": data["rectification"],
            "unresolved": data["unresolved"],
            "ranking": data["ranking"],
            "min_ratings": data["min_ratings"],
            "pct": pct,
            "updated": when(data["at"], "%Y-%m-%d %H:%M"),
            "refresh": REFRESH_SECONDS,
            "user": None,
        },
    )


@router.get("/display/poster.pdf")
def poster_pdf(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        data = publication.figures(db, ctx.hall, ctx.config, now())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "poster.pdf"
        poster.write(out, data, ctx.config["render"]["font"])
        body = out.read_bytes()
    name = "poster-%s-%s.pdf" % (ctx.hall, data["quarter"])
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="%s"' % name},
    )
