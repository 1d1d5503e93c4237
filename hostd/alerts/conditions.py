"""The alert conditions: each returns the alerts that hold now, by key.

An alert is {"key", "kind", "subject", "message"}: the key (kind:subject)
is what makes it the same alert from one check to the next, the message is
what the hall's staff read, in Chinese. `hostd doctor` shares the disk and
certificate readings (disk_free, certificate_days_left).

    device_silent     a device not heard from for alerts.device_silent_minutes in
                      opening hours (out of hours nothing new is raised, and one
                      raised stays until the device is heard from again)
    upstream_backlog  a record waiting alerts.backlog_hours to go to the platform
    disk_low          free space under alerts.disk_free_pct
    cert_expiring     the broker's TLS certificate ends within CERT_DAYS days
    calendar_missing  the working-day calendar lacks a year within CALENDAR_DAYS
    order_overdue     a 差评 work order past a deadline
    unresolved_new    a 办不成事 report its unit has not taken up (实时通知)
    unresolved_due    an open 办不成事 report within unresolved.remind_hours of
                      a deadline, and past half its time (督促整改)
    unresolved_overdue  an open 办不成事 report past a deadline (超期预警)
    bad_concentration  one staff member or item with analysis.concentration_count
                      差评 in analysis.concentration_days (hostd/reporting/analysis.py)
    backup_down       the continuous backup (Litestream) is not running
"""

import datetime
import shutil
import time
from pathlib import Path

from hostd.alerts import hours
from hostd.base import hall_time
from hostd.casework import unresolved, workorders
from hostd.db import replica
from hostd.reporting import analysis
from hostd.rules import workdays

CERT_DAYS = 30
CALENDAR_DAYS = 60
KINDS = (
    "device_silent",
    "upstream_backlog",
    "disk_low",
    "cert_expiring",
    "calendar_missing",
    "order_overdue",
    "backup_down",
    "unresolved_new",
    "unresolved_due",
    "unresolved_overdue",
    "bad_concentration",
)
NAMES = {  # what the dashboard calls each kind
    "device_silent": "评价器失联",
    "upstream_backlog": "上报积压",
    "disk_low": "磁盘空间不足",
    "cert_expiring": "证书将到期",
    "calendar_missing": "工作日历缺年份",
    "order_overdue": "工单超期",
    "backup_down": "连续备份停止",
    "unresolved_new": "办不成事待受理",
    "unresolved_due": "办不成事将到期",
    "unresolved_overdue": "办不成事超期",
    "bad_concentration": "差评集中",
}


def _alert(kind, subject, message):
    return {"key": "%s:%s" % (kind, subject), "kind": kind, "subject": str(subject), "message": message}


def disk_free(path):
    """(percent free, bytes free) on the disk holding `path`."""
    usage = shutil.disk_usage(str(path))
    return 100.0 * usage.free / usage.total, usage.free


def certificate_days_left(path, now):
    """Whole days until the PEM certificate at `path` ends (negative: ended).
    Raises OSError or ValueError when it cannot be read."""
    # lazy: cryptography loads only where a certificate is configured
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    left = cert.not_valid_after_utc - datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return left.days


def device_silent(db, config, now, open_keys, watching_since):
    """Silence counts only while the hall is open, and only since hostd began
    watching (`watching_since`): devices switched off overnight, or unheard
    while hostd itself was down, are not news at opening time or at a restart."""
    limit = config["alerts"]["device_silent_minutes"] * 60
    opened = hours.is_open(config, now)
    out = {}
    for device, window, last in db.execute(
        "SELECT device_id, window, COALESCE(last_seen, created_at) FROM fleet WHERE revoked_at IS NULL"
    ):
        key = "device_silent:%s" % device
        if last is None or now - last < limit:
            continue  # heard from lately: an open alert clears
        if key not in open_keys:
            if not opened or hours.open_seconds(config, max(last, watching_since), now, limit) < limit:
                continue
        out[key] = _alert(
            "device_silent",
            device,
            "评价器 %s（%s 号窗口）在开放时间内已 %d 分钟以上没有消息（最后一次：%s），请检查电源和网络"
            % (device, window or "-", limit // 60, hall_time.when(last)),
        )
    return out


def upstream_backlog(db, config, now):
    if not config["upstream"]["url"]:
        return {}  # 上报未配置: nothing can drain, and nothing is expected to
    oldest, count = db.execute(
        "SELECT MIN(created_at), COUNT(*) FROM upstream_outbox WHERE target = 'province'"
        " AND status IN ('pending', 'sent', 'rejected')"
    ).fetchone()
    if oldest is None or now - oldest < config["alerts"]["backlog_hours"] * 3600:
        return {}
    alert = _alert(
        "upstream_backlog",
        "province",
        "上报积压：%d 条记录未能上报省级平台，最早一条已等待 %.1f 小时，"
        "请检查网络和平台地址（hostd sync --status）" % (count, (now - oldest) / 3600.0),
    )
    return {alert["key"]: alert}


def disk_low(home, config):
    free, free_bytes = disk_free(home.path)
    limit = config["alerts"]["disk_free_pct"]
    if free >= limit:
        return {}
    alert = _alert(
        "disk_low",
        str(home.path),
        "磁盘空间不足：%s 所在磁盘只剩 %.0f%%（%.1f GB），低于 alerts.disk_free_pct %d%%，请清理空间"
        % (home.path, free, free_bytes / 1e9, limit),
    )
    return {alert["key"]: alert}


def cert_expiring(config, now):
    path = config["broker"]["tls_cert"]
    if not path:
        return {}
    try:
        days = certificate_days_left(path, now)
    except (OSError, ValueError) as exc:
        alert = _alert("cert_expiring", path, "TLS 证书 %s 无法读取（%s），设备将无法加密连接" % (path, exc))
        return {alert["key"]: alert}
    if days >= CERT_DAYS:
        return {}
    text = "已过期" if days < 0 else "将在 %d 天后到期" % days
    alert = _alert("cert_expiring", path, "TLS 证书 %s %s，请更换证书后重启 hostd" % (path, text))
    return {alert["key"]: alert}


def calendar_missing(config, now):
    out = {}
    for year in workdays.uncovered_years(config, now, CALENDAR_DAYS):
        alert = _alert(
            "calendar_missing",
            year,
            "工作日历缺少 %d 年的放假安排：请在 rating.holiday_file 中补充（默认评价和工单期限要用到）"
            % year,
        )
        out[alert["key"]] = alert
    return out


def order_overdue(db, now):
    out = {}
    for order in workorders.list_orders(db, overdue_only=True, now=int(now), limit=10000):
        alert = _alert(
            "order_overdue",
            order["order_id"],
            "超期预警：差评工单 #%s 已超期（%s期限已过 %.1f 小时）：%s 号窗口，工作人员 %s"
            % (
                order["order_id"],
                "联系" if order["overdue"] == "contact" else "办结",
                order["overdue_seconds"] / 3600.0,
                order["window"] or "-",
                order.get("staff_name") or order["staff_id"] or "-",
            ),
        )
        out[alert["key"]] = alert
    return out


def _reminder_at(report, remind):
    """When an open report's next deadline is reminded: remind_hours before
    it, but not before half its time has gone (a 1-day deadline is reminded
    at half a day, not at once)."""
    due = report["accept_due"] if report["state"] == "new" else report["resolve_due"]
    start = report["reported_at"]
    return max(due - remind, start + (due - start) // 2)


def unresolved_reports(db, config, now):
    """实时通知, 督促整改 and 超期预警 of the open 办不成事 reports: one alert
    per report and stage, so each stage reaches the webhook once."""
    out = {}
    remind = config["unresolved"]["remind_hours"] * 3600
    for r in unresolved.list_reports(db, open_only=True, now=int(now), limit=10000):
        where = "%s（%s）" % (r["unit_name"] or r["unit_id"], r["item_name"] or "未填事项")
        if r["overdue"]:
            kind, message = (
                "unresolved_overdue",
                "超期预警：办不成事 #%s 已超过%s时限：%s，%s"
                % (r["report_id"], "受理" if r["overdue"] == "accept" else "办结", where, r["problem"][:60]),
            )
        elif now >= _reminder_at(r, remind):
            due = r["accept_due"] if r["state"] == "new" else r["resolve_due"]
            kind, message = (
                "unresolved_due",
                "督促整改：办不成事 #%s 将于 %s 到期：%s" % (r["report_id"], hall_time.when(due), where),
            )
        elif r["state"] == "new":
            kind, message = (
                "unresolved_new",
                "实时通知：新的办不成事反映 #%s，请 %s 受理：%s" % (r["report_id"], where, r["problem"][:60]),
            )
        else:
            continue
        alert = _alert(kind, r["report_id"], message)
        out[alert["key"]] = alert
    return out


def bad_concentration(db, config, now):
    out = {}
    for hit in analysis.concentrations(db, config, now):
        alert = _alert(
            "bad_concentration",
            "%s:%s" % (hit["by"], hit["key"]),
            "差评集中预警：%s %s 近 %d 天有 %d 条差评，请分析原因、督促整改"
            % ("工作人员" if hit["by"] == "staff" else "事项", hit["label"], hit["days"], hit["bad"]),
        )
        out[alert["key"]] = alert
    return out


def backup_down(replicator):
    """The continuous backup stopped (Litestream not running), or its replica
    cannot be read or trails hostd.db (a remote replica unreachable)."""
    if replicator is None:
        return {}
    if not replicator.running:
        alert = _alert(
            "backup_down",
            "litestream",
            "连续备份已停止（%s）：hostd.db 的改动没有复制到 backup.replica，见 hostd 日志 hostd.backup"
            % (replicator.problem or "Litestream 没有运行"),
        )
        return {alert["key"]: alert}
    if time.monotonic() - (replicator.started_at or 0) < replica.lag_limit(replicator.backup):
        return {}  # just (re)started: its first snapshot is on its way
    state = replicator.lag()
    if "error" in state:
        message = "连续备份的副本无法读取（%s）：请检查 backup.replica 的路径、网络和密钥" % state["error"]
    elif state["behind"] and (state["age"] is None or state["age"] > replica.lag_limit(replicator.backup)):
        message = (
            "连续备份落后：副本缺少 hostd.db 最近 %d 个改动，最新一次复制在 %s 前，见 hostd 日志 hostd.backup"
            % (
                state["behind"],
                "很久" if state["age"] is None else "%d 分钟" % (state["age"] // 60),
            )
        )
    else:
        return {}
    alert = _alert("backup_down", "replica", message)
    return {alert["key"]: alert}


def all_alerts(ctx, db, now, open_keys, watching_since, failed=None):
    """Every alert that holds now, by key. A condition that fails to be read
    keeps its open alerts as they are (neither raised nor cleared) and is
    named in `failed` ({kind: error}) for the caller to log."""
    config = ctx.config
    checks = (
        ("device_silent", lambda: device_silent(db, config, now, open_keys, watching_since)),
        ("upstream_backlog", lambda: upstream_backlog(db, config, now)),
        ("disk_low", lambda: disk_low(ctx.home, config)),
        ("cert_expiring", lambda: cert_expiring(config, now)),
        ("calendar_missing", lambda: calendar_missing(config, now)),
        ("order_overdue", lambda: order_overdue(db, now)),
        ("backup_down", lambda: backup_down(ctx.replicator)),
        ("unresolved", lambda: unresolved_reports(db, config, now)),
        ("bad_concentration", lambda: bad_concentration(db, config, now)),
    )
    out = {}
    for kind, check in checks:
        try:
            out.update(check())
        except Exception as exc:  # one unreadable condition must not stop the others
            if failed is not None:
                failed[kind] = exc
            for key in open_keys:
                if key.split(":", 1)[0].startswith(kind):  # "unresolved" keeps all three of its kinds
                    out[key] = {
                        "key": key,
                        "kind": key.split(":", 1)[0],
                        "subject": key.split(":", 1)[1],
                        "message": "",
                    }
    return out
