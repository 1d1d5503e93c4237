"""/dashboard: the rates of this quarter and today, charts, the open alerts
(hostd/alerts/), overdue work-order warnings, the upstream sync (backlog,
dead letters), and a warning when the working-day calendar lacks a year that
deadlines will reach soon.

Supervisors and admins see the hall; staff see only their own results.
"""

from fastapi import APIRouter, Depends, Request

from hostd.alerts import conditions as alert_conditions
from hostd.alerts import ledger as alert_ledger
from hostd.casework import workorders
from hostd.reporting import analysis, stats
from hostd.rules import workdays
from hostd.sync import service as upstream_service
from hostd.web import auth
from hostd.web.pages import charts as pages_charts
from hostd.web.pages.common import (
    ALL,
    DAY,
    day_start,
    now,
    own_staff_only,
    quarter_range,
    quarter_spec,
    render,
)

router = APIRouter()
# The alerts the dashboard lists in its 系统告警 box; overdue orders and the
# calendar have boxes of their own below it.
ALERTS_SHOWN = ("device_silent", "upstream_backlog", "disk_low", "cert_expiring", "backup_down")
# ... and the supervision ones in a box of their own, with links to their pages
SUPERVISION_SHOWN = ("bad_concentration", "unresolved_new", "unresolved_due", "unresolved_overdue")


def overdue_orders(db, staff_id=None, limit=20):
    """Open orders past a deadline, most overdue first."""
    return workorders.list_orders(
        db, staff_id=staff_id, open_only=True, overdue_only=True, now=now(), limit=limit
    )


def order_counts(db, staff_id=None):
    return workorders.counts(db, now=now(), staff_id=staff_id)


@router.get("/dashboard")
def dashboard(request: Request, user=Depends(auth.require_role(*ALL))):
    staff_id = own_staff_only(user)
    filters = {"staff_id": staff_id} if staff_id else {}
    today = day_start()
    q_start, q_end = quarter_range()
    with request.app.state.ctx.store.read() as db:
        quarter = stats.rates(db, q_start, q_end, **filters)
        quarter.update(stats.named_callbacks(db, q_start, q_end, **filters))
        today_rates = stats.rates(db, today, today + DAY, **filters)
        days = stats.breakdown(db, "day", today - 29 * DAY, today + DAY, **filters)
        windows = [] if staff_id else stats.breakdown(db, "window", q_start, q_end)
        overdue = overdue_orders(db, staff_id)
        counts = order_counts(db, staff_id)
        upstream = None if staff_id else upstream_service.status(db, now())
        alerts = [] if staff_id else alert_ledger.open_alerts(db, kinds=ALERTS_SHOWN)
        supervision = [] if staff_id else alert_ledger.open_alerts(db, kinds=SUPERVISION_SHOWN)
        top_reasons = [] if staff_id else analysis.bad_by(db, "reason", q_start, q_end, limit=3)
    upstream_config = request.app.state.ctx.config["upstream"]
    if upstream is not None:  # unconfigured: 上报未配置, no backlog that cannot drain (dead letters stay)
        upstream["configured"] = bool(upstream_config["url"] or upstream_config["twelve345_url"])
    calendar_gaps = [] if staff_id else workdays.uncovered_years(request.app.state.ctx.config, now())
    c = pages_charts.COLORS
    rate_chart = pages_charts.hbars(
        [
            ("好评率", quarter["good_rate"], c["good"]),
            ("中评率", quarter["middle_rate"], c["middle"]),
            ("差评率", quarter["bad_rate"], c["bad"]),
            ("主动评价率", quarter.get("active_rate"), c["bar"]),
            ("差评整改率", quarter.get("rectify_rate"), c["bar"]),
        ],
        title="本季度 %s" % quarter_spec(),
    )
    day_chart = pages_charts.stacked_columns(
        [(str(d["key"])[5:], d["good"], d["middle"], d["bad"]) for d in days], title="近30天每日评价量"
    )
    return render(
        request,
        "pages/dashboard.html",
        user,
        "总览",
        "/dashboard",
        quarter=quarter,
        today=today_rates,
        windows=windows,
        overdue=overdue,
        counts=counts,
        upstream=upstream,
        link_check=request.app.state.ctx.link_check,
        rate_chart=rate_chart,
        day_chart=day_chart,
        legend=pages_charts.legend(),
        quarter_name=quarter_spec(),
        own=bool(staff_id),
        calendar_gaps=calendar_gaps,
        alerts=alerts,
        supervision=supervision,
        top_reasons=top_reasons,
        alert_names=alert_conditions.NAMES,
    )
