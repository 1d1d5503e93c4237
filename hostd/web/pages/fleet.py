"""/fleet: the device fleet (the `fleet` view): online, last seen, outbox depth, firmware, heap."""

from fastapi import APIRouter, Depends, Request

from hostd.web import auth
from hostd.web.pages.common import MANAGERS, now, render

router = APIRouter()
STATE_NAMES = {"online": "在线", "offline": "离线", "never_seen": "从未上线"}


@router.get("/fleet")
def fleet(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        devices = [dict(r) for r in db.query("SELECT * FROM fleet ORDER BY hall, window, device_id")]
    online = sum(1 for d in devices if d["online"])
    backlog = sum(d["outbox_depth"] or 0 for d in devices)
    return render(
        request,
        "pages/fleet.html",
        user,
        "设备",
        "/fleet",
        devices=devices,
        online=online,
        backlog=backlog,
        state_names=STATE_NAMES,
        now=now(),
    )
