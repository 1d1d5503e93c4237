"""/fleet: the device fleet (the `fleet` view): online, last seen, outbox depth, firmware, heap,
why each last reset, an alert for a device rebooting more than alerts.reboots_per_hour, and
one for a device whose outbox is full or nearly so (it then refuses presses and sends the
citizen to the QR code: the words for the administrator are here, not on the device)."""

from fastapi import APIRouter, Depends, Request

from hostd.web import auth
from hostd.web.pages.common import MANAGERS, now, render

router = APIRouter()
OUTBOX_CAPACITY = 10000  # a device's outbox_capacity (firmware/config.py default, never provisioned lower)
OUTBOX_WARN = 0.8  # warn from this share of it
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
    filling = [d for d in devices if (d["outbox_depth"] or 0) >= OUTBOX_WARN * OUTBOX_CAPACITY]
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
        filling=filling,
        capacity=OUTBOX_CAPACITY,
        now=now(),
    )
