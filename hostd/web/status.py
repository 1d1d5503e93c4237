"""The status snapshot: the fleet, rejection counters, today's ratings by level.

GET /status  as JSON (render() gives the plain HTML page until the dashboard lands)
"""
import html
import logging
import time

from fastapi import APIRouter, Request

from hostd import counters as rejection_counters

log = logging.getLogger("hostd.web")
router = APIRouter(tags=["status"])

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
FLEET_COLUMNS = ("device_id", "hall", "window", "online", "last_seen", "firmware",
                 "outbox_depth", "revoked")


def _today_start():
    now = time.localtime()
    return int(time.mktime((now.tm_year, now.tm_mon, now.tm_mday, 0, 0, 0, 0, 0, -1)))


def snapshot(store, collector=None):
    """Everything the page shows, as plain data."""
    with store.read() as db:
        fleet = [dict(row) for row in db.query("SELECT * FROM fleet ORDER BY device_id")]
        today = {row[0]: row[1] for row in db.execute(
            "SELECT level, COUNT(*) FROM ratings WHERE received_at >= ? GROUP BY level",
            [_today_start()])}
        persisted = rejection_counters.persisted(db)
    for device in fleet:
        device["revoked"] = device.get("revoked_at") is not None
    return {
        "fleet": fleet,
        "ratings_today": {level: today.get(level, 0) for level in sorted(LEVEL_NAMES, reverse=True)},
        "rejections_since_start": collector.counters if collector else {},
        "rejections_all_time": persisted,
        "collector": collector.stats if collector else {},
    }


def _when(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def render(data):
    e = html.escape
    rows = []
    for d in data["fleet"]:
        cells = [d["device_id"], d["hall"], d["window"], "在线" if d["online"] else "离线",
                 _when(d.get("last_seen")), d.get("firmware") or "-",
                 "-" if d.get("outbox_depth") is None else d["outbox_depth"],
                 "已吊销" if d["revoked"] else ""]
        rows.append("<tr>" + "".join("<td>%s</td>" % e(str(c)) for c in cells) + "</tr>")
    levels = "".join("<tr><td>%d</td><td>%s</td><td>%d</td></tr>" % (lvl, LEVEL_NAMES[lvl], n)
                     for lvl, n in data["ratings_today"].items())
    rejected = "".join("<tr><td>%s</td><td>%d</td></tr>" % (e(r), n)
                       for r, n in sorted(data["rejections_all_time"].items())) \
        or "<tr><td colspan=2>无</td></tr>"
    return """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>好差评 大厅主机状态</title>
<meta http-equiv="refresh" content="10"></head><body>
<h1>好差评 大厅主机状态</h1>
<p><em>临时状态页（stub）：正式的管理看板上线前的简易页面。JSON 见 <a href="/status">/status</a>。</em></p>
<h2>设备</h2>
<table border=1><tr><th>设备</th><th>大厅</th><th>窗口</th><th>状态</th><th>最后在线</th>
<th>固件</th><th>待发评价</th><th>吊销</th></tr>%s</table>
<h2>今日评价（按等级）</h2>
<table border=1><tr><th>等级</th><th>名称</th><th>数量</th></tr>%s</table>
<h2>拒收消息（按原因）</h2>
<table border=1><tr><th>原因</th><th>次数</th></tr>%s</table>
</body></html>
""" % ("".join(rows) or "<tr><td colspan=8>尚无设备</td></tr>", levels, rejected)


@router.get("/status")
def status_json(request: Request):
    """Fleet, rejection counters and today's ratings by level."""
    return snapshot(request.app.state.ctx.store, request.app.state.collector)
