"""`hostd session`, `hostd staff`, `hostd window` and `hostd unit`: sessions,
staff, duty and units (单位).

Commands that must reach a device (session start, staff on/off/leave) call the
running daemon's API (/api/v1) with the token in <home>/keys/api-token;
the others work on the database directly. hostd/cli/root.py calls register().
"""

import time
from urllib.parse import quote

import click

from hostd.base import hall_time
from hostd.base.errors import UserError
from hostd.rules import sessions, staff

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
CHANNEL_NAMES = {"device": "评价器", "qr": "扫码评价", "default": "系统默认评价", "paper": "书面评价"}


class DaemonNotRunning(UserError):
    pass


class ApiRefused(UserError):
    exit_code = 2


def api_call(home, method, path, body=None):
    """Call the running hostd's API; return the JSON answer."""
    # lazy: the HTTP client and FastAPI load only for the commands that call the API
    import httpx

    from hostd.web.api import ensure_token

    config = home.config()
    host = config["web"]["listen"]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = "http://%s:%d/api/v1%s" % (host, config["web"]["port"], path)
    headers = {"Authorization": "Bearer " + ensure_token(home)}
    try:
        answer = httpx.request(method, url, json=body, headers=headers, timeout=30)
    except httpx.TransportError:
        raise DaemonNotRunning(
            "hostd is not running at %s: start it with `hostd --home %s run`,"
            " then try again" % (url, home.path)
        )
    if answer.status_code >= 400:
        try:
            detail = answer.json()["detail"]
            reason = detail["reason"] if isinstance(detail, dict) else str(detail)
        except (ValueError, KeyError, TypeError):
            reason = answer.text[:200]
        raise ApiRefused(reason)
    return answer.json()


def _when(ts):
    return hall_time.when(ts)


def register(cli, home_of, db_of):
    """Add the session, staff and window groups to the click group `cli`."""

    @cli.group()
    def session():
        """Service sessions: a finished service shown on the window's device.

        Example: hostd session start --window 07 --item-code A001 --item-name 户口迁移 --staff-id s01
        """

    @session.command("start")
    @click.option("--window", required=True, help="The window (as in `hostd window list`).")
    @click.option("--item-code", required=True, help="事项编码 of the service item.")
    @click.option("--item-name", required=True, help="事项名称, shown on the device.")
    @click.option("--staff-id", help="Who served. Default: who is on duty at the window.")
    @click.option(
        "--case", "cases", multiple=True, help="办件编号; repeat for a batch (批量业务: one rating for all)."
    )
    @click.option(
        "--visit",
        type=click.IntRange(1, 999),
        default=1,
        show_default=True,
        help="服务次数 of these cases (a matter served over several visits).",
    )
    @click.option(
        "--mobile", help="The citizen's mobile number, for the SMS reminder (only with --mobile-consent)."
    )
    @click.option(
        "--mobile-consent", is_flag=True, help="The citizen agreed to be sent the link and called back."
    )
    @click.option(
        "--agent-id", help="帮办代办: the agent's id (whoever rates first, agent or applicant, counts)."
    )
    @click.pass_context
    def session_start(
        ctx, window, item_code, item_name, staff_id, cases, visit, mobile, mobile_consent, agent_id
    ):
        """Start a session: the device shows the item and staff to be rated.

        `hostd run` must be running.

        Example: hostd session start --window 07 --item-code A001 --item-name 户口迁移
        --staff-id s01 --case 2024-001 --case 2024-002
        """
        home = home_of(ctx)
        body = {
            "window": window,
            "item_code": item_code,
            "item_name": item_name,
            "staff_id": staff_id,
            "cases": [{"case_id": c, "visit": visit} for c in cases],
        }
        if mobile:
            body.update(mobile=mobile, mobile_consent=mobile_consent)
        if agent_id:
            body["agent_id"] = agent_id
        _started(api_call(home, "POST", "/sessions", body))

    @session.command("finished")
    @click.argument("case_id")
    @click.option("--window", help="Default: the window of the case's last visit.")
    @click.option(
        "--staff-id", help="Default: who is on duty at that window, else who served the last visit."
    )
    @click.pass_context
    def session_finished(ctx, case_id, window, staff_id):
        """办结: open the final rating of a matter served over several visits.

        A session of its own for the case at its next visit number, rated by
        any channel. `hostd run` must be running.

        Example: hostd session finished 2026-000123
        """
        body = {k: v for k, v in (("window", window), ("staff_id", staff_id)) if v}
        _started(api_call(home_of(ctx), "POST", "/cases/%s/finished" % quote(case_id, safe=""), body))

    def _started(out):
        if out["device_id"] is None:
            shown = "no device at this window: rated through its link"
        elif out.get("pushed"):
            shown = "shown on %s" % out["device_id"]
        else:
            shown = "not pushed (no broker connection yet)"
        click.echo(
            "session %s at window %s: %s, %d case(s), staff %s %s; %s; rate until %s"
            % (
                out["session_id"],
                out["window"],
                out["item_name"],
                len(out["cases"]),
                out["staff_name"],
                out["staff_no"],
                shown,
                _when(out["rate_until"]),
            )
        )
        click.echo("rate-later link (print it on the receipt, 办件回执): %s" % out["rate_url"])
        if out.get("sms_reminder"):
            click.echo("SMS reminder: %s (sent once if not rated at the window)" % out["sms_reminder"])

    @session.command("cancel")
    @click.argument("session_id")
    @click.option("--reason", required=True, help="Why (kept with the session), e.g. 办件信息录入错误.")
    @click.pass_context
    def session_cancel(ctx, session_id, reason):
        """Cancel an open session reported in error: it takes no rating, the device shows idle.

        `hostd run` must be running.

        Example: hostd session cancel s0123456789ab --reason 办件信息录入错误
        """
        out = api_call(home_of(ctx), "POST", "/sessions/%s/cancel" % session_id, {"reason": reason})
        kept = out.get("kept_upstream") or 0
        click.echo(
            "session %s cancelled (%s)%s"
            % (
                out["session_id"],
                out["cancel_reason"],
                "; %d service record(s) already with the provincial platform stay there" % kept
                if kept
                else "",
            )
        )

    @session.command("show")
    @click.argument("session_id")
    @click.pass_context
    def session_show(ctx, session_id):
        """Show a session: state, cases and rating.

        Example: hostd session show s0123456789ab
        """
        db = db_of(home_of(ctx))
        s = sessions.get(db, session_id)
        rating = s["rating"]
        click.echo(
            "%s %s window %s item %s %s staff %s %s cases %s%s%s"
            % (
                s["session_id"],
                sessions.STATE_NAMES.get(s["state"], s["state"]),
                s["window"],
                s["item_code"],
                s["item_name"],
                s["staff_name"],
                s["staff_no"],
                ",".join("%s#%d" % (c["case_id"], c["visit"]) for c in s["case_list"]),
                " rated %s (%s)"
                % (
                    LEVEL_NAMES.get(rating["level"], rating["level"]),
                    CHANNEL_NAMES.get(rating["channel"], rating["channel"]),
                )
                if rating
                else "",
                " cancelled: %s (by %s)" % (s["cancel_reason"], s["cancelled_by"])
                if s["cancel_reason"]
                else "",
            )
        )

    @cli.group("staff")
    def staff_group():
        """Window staff (工作人员) and who is on duty.

        Example: hostd staff add s01 --name 张三 --staff-no 0042
        """

    @staff_group.command("add")
    @click.argument("staff_id")
    @click.option("--name", required=True, help="Name shown on the device.")
    @click.option("--staff-no", required=True, help="工号 shown on the device (ASCII).")
    @click.option("--unit", "unit_id", help="Unit id (单位).")
    @click.pass_context
    def staff_add(ctx, staff_id, name, staff_no, unit_id):
        """Register a staff member.

        Example: hostd staff add s01 --name 张三 --staff-no 0042
        """
        db = db_of(home_of(ctx))
        if unit_id is not None:
            staff.get_unit(db, unit_id)  # an unknown unit: say how to add it
        with db.conn:
            person = staff.add_staff(db, staff_id, name, staff_no, time.time(), unit_id)
        click.echo(
            "added staff %s: %s, 工号 %s; put them on duty with `hostd staff on %s"
            " --window W`" % (person["staff_id"], person["name"], person["staff_no"], staff_id)
        )

    @staff_group.command("list")
    @click.pass_context
    def staff_list(ctx):
        """List staff and where each is on duty.

        Example: hostd staff list
        """
        db = db_of(home_of(ctx))
        rows = staff.list_staff(db)
        if not rows:
            click.echo("no staff yet: `hostd staff add ID --name N --staff-no NO`")
        for p in rows:
            click.echo(
                "%-12s %-10s 工号 %-8s %s"
                % (
                    p["staff_id"],
                    p["name"],
                    p["staff_no"],
                    "on duty at %s" % p["on_duty_at"] if p["on_duty_at"] else "off duty",
                )
            )

    @staff_group.command("on")
    @click.argument("staff_id")
    @click.option("--window", required=True, help="The window they serve at.")
    @click.pass_context
    def staff_on(ctx, staff_id, window):
        """Put a staff member on duty at a window; its device shows them.

        `hostd run` must be running.

        Example: hostd staff on s01 --window 07
        """
        out = api_call(home_of(ctx), "POST", "/windows/%s/duty" % window, {"staff_id": staff_id})
        click.echo("window %s: %s (工号 %s) on duty" % (out["window"], out["staff_name"], out["staff_no"]))

    @staff_group.command("off")
    @click.option("--window", required=True, help="The window nobody serves at now.")
    @click.pass_context
    def staff_off(ctx, window):
        """Nobody on duty at a window: its device shows 暂停服务.

        `hostd run` must be running.

        Example: hostd staff off --window 07
        """
        out = api_call(home_of(ctx), "DELETE", "/windows/%s/duty" % window)
        click.echo("window %s: 暂停服务 (paused)" % out["window"])

    @staff_group.command("leave")
    @click.argument("staff_id")
    @click.pass_context
    def staff_leave(ctx, staff_id):
        """A staff member has left (离职): off duty now, kept for the record, never on duty again.

        Their ratings, work orders and statistics stay. If they are on duty,
        `hostd run` must be running (their window's device then shows 暂停服务).

        Example: hostd staff leave s01
        """
        home = home_of(ctx)
        db = db_of(home)
        hall = home.config()["hall"]["id"]
        person = staff.get_staff(db, staff_id)
        on = [
            w
            for (w,) in db.conn.execute(
                "SELECT window FROM windows WHERE hall = ? AND staff_id = ?", (hall, staff_id)
            ).fetchall()
        ]
        for window in on:
            api_call(home, "DELETE", "/windows/%s/duty" % window)
        with db.conn:
            staff.leave(db, hall, staff_id, time.time(), actor="cli")
        click.echo(
            "staff %s (%s) has left%s; their ratings and work orders stay"
            % (staff_id, person["name"], "; window %s: 暂停服务" % ", ".join(on) if on else "")
        )

    @cli.group("unit")
    def unit_group():
        """Units (单位): the departments staff and windows belong to, for reports and rankings.

        Example: hostd unit add u-gaj --name 公安局
        """

    @unit_group.command("add")
    @click.argument("unit_id")
    @click.option("--name", required=True, help="The unit's name (单位名称).")
    @click.option("--dept-code", default="", help="统一社会信用代码 (18 characters), for the upstream sync.")
    @click.option("--area-code", default="", help="区划代码 (12 digits), for the upstream sync.")
    @click.pass_context
    def unit_add(ctx, unit_id, name, dept_code, area_code):
        """Add a unit (or replace one of the same id).

        Example: hostd unit add u-gaj --name 公安局
        """
        db = db_of(home_of(ctx))
        with db.conn:
            staff.add_unit(db, unit_id, name, dept_code, area_code)
        click.echo(
            "unit %s: %s; give staff to it with `hostd staff add ID ... --unit %s`" % (unit_id, name, unit_id)
        )

    @unit_group.command("rename")
    @click.argument("unit_id")
    @click.option("--name", required=True, help="The new name.")
    @click.pass_context
    def unit_rename(ctx, unit_id, name):
        """Rename a unit; its staff, windows and history stay with it.

        Example: hostd unit rename u-gaj --name 市公安局
        """
        db = db_of(home_of(ctx))
        with db.conn:
            unit = staff.rename_unit(db, unit_id, name)
        click.echo("unit %s is now %s" % (unit["unit_id"], unit["name"]))

    @unit_group.command("list")
    @click.pass_context
    def unit_list(ctx):
        """List units with their staff and windows.

        Example: hostd unit list
        """
        rows = staff.list_units(db_of(home_of(ctx)))
        if not rows:
            click.echo("no units yet: `hostd unit add ID --name 名称`")
        for u in rows:
            click.echo(
                "%-12s %-16s staff %d, windows %d" % (u["unit_id"], u["name"], u["staff"], u["windows"])
            )
