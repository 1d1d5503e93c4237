"""/fleet: the device fleet (the `fleet` view): online, last seen, outbox depth, firmware, heap,
why each last reset, and an alert for a device rebooting more than alerts.reboots_per_hour."""

from fastapi import APIRouter, Depends, Request

from hostd.web import auth
from hostd.web.pages.common import MANAGERS, now, render

router = APIRouter()
STATE_NAMES = {"online": "在线", "offline": "离线", "never_seen": "从未上线"}
RESET_NAMES = {
    "power": "上电",
    "hard": "复位键",
    "watchdog": "看门狗",
    "deepsleep": "唤醒",
    "soft": "软件重启",
    "crash": "程序异常",
    "other": "其他",
}


@router.get("/fleet")
def fleet(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        devices = [dict(r) for r in db.query("SELECT * FROM fleet ORDER BY hall, window, device_id")]
    limit = request.app.state.ctx.config["alerts"]["reboots_per_hour"]
    rebooting = [d for d in devices if (d["reboots_hour"] or 0) > limit and not d["revoked_at"]]
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
        reset_names=RESET_NAMES,
        rebooting=rebooting,
        reboot_limit=limit,
        now=now(),
    )
