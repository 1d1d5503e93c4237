"""The status snapshot: the fleet, rejection counters, today's ratings by level.

GET /status  as JSON, to a hall user or the API token (the hall pages are hostd/web/pages/)
"""

import logging
import time

from fastapi import APIRouter, Request

from hostd.base import hall_time
from hostd.ingest import counters as rejection_counters
from hostd.web import docs

log = logging.getLogger("hostd.web")
router = APIRouter(tags=["status"])

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
FLEET_COLUMNS = ("device_id", "hall", "window", "online", "last_seen", "firmware", "outbox_depth", "revoked")


def _today_start():
    return hall_time.day_start(time.time())


def snapshot(store, collector=None):
    """Everything the page shows, as plain data."""
    with store.read() as db:
        fleet = [dict(row) for row in db.query("SELECT * FROM fleet ORDER BY device_id")]
        today = {
            row[0]: row[1]
            for row in db.execute(
                "SELECT level, COUNT(*) FROM ratings WHERE received_at >= ? GROUP BY level", [_today_start()]
            )
        }
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


@router.get("/status")
def status_json(request: Request):
    """Fleet, rejection counters and today's ratings by level: for a hall
    user or the API token holder only (device ids are MQTT user names)."""
    docs.viewer(request)
    return snapshot(request.app.state.ctx.store, request.app.state.collector)
