"""/offline: 待确认的离线评价. Device ratings taken while the device could not
reach the host, whose session could not be told (hostd/rules/offline.py): a
supervisor binds each to the service it was for, or keeps it as a
window-level rating. Until then, none of its candidate sessions becomes a
default rating.
"""

from fastapi import APIRouter, Depends, Request

from hostd.base.errors import UserError
from hostd.rules import offline
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, RowId, now, redirect_back, render

router = APIRouter()


@router.get("/offline")
def offline_page(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        waiting = offline.pending(db)
        recent = offline.decided(db)
    return render(
        request, "pages/offline.html", user, "待确认的离线评价", "/offline", waiting=waiting, recent=recent
    )


@router.post("/offline/{rating_id}")
def decide(
    request: Request,
    rating_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role(*MANAGERS)),
):
    session_id = str(form.get("session_id", ""))
    note = str(form.get("note", "")).strip()[:200]

    def op(db):
        if session_id:
            offline.bind(db, rating_id, session_id, user["username"], now(), note)
        else:
            offline.dismiss(db, rating_id, user["username"], now(), note)

    try:
        request.app.state.ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, "/offline", err=str(exc))
    if session_id:
        return redirect_back(
            request, "/offline", ok="评价 #%d 已绑定到会话 %s，并将上报" % (rating_id, session_id)
        )
    return redirect_back(request, "/offline", ok="评价 #%d 保留为窗口评价（不上报）" % rating_id)
