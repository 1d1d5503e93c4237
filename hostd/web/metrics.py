"""GET /metrics: hostd in the Prometheus text format (prometheus-client).

Read at each scrape from the database (what hostd holds) and from the
running collector (what it does): ratings stored by channel and rejected by
reason, the ack latency histogram, devices online and offline, each device's
outbox depth and free heap from its last heartbeat, the upstream queue
(pending, dead, the oldest pending's age), work orders open and overdue,
alerts open by kind, and the database's size. No login: it answers the addresses in metrics.allow
(default 127.0.0.1 and ::1, a scraper on this host) and refuses the rest.
"""

import ipaddress
import os
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily

from hostd.casework import workorders

router = APIRouter(include_in_schema=False)
PENDING = ("pending", "sent", "rejected")  # upstream rows not yet confirmed nor dead


def allowed(config, address):
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for entry in config.get("metrics", {}).get("allow", ["127.0.0.1", "::1"]):
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class _Hall:
    """One scrape's families, read from the store and the collector."""

    def __init__(self, ctx, collector):
        self.ctx = ctx
        self.collector = collector

    def collect(self):
        with self.ctx.store.read() as db:
            stored = CounterMetricFamily(
                "hostd_ratings_stored", "Ratings stored, by channel", labels=["channel"]
            )
            for channel, count in db.execute("SELECT channel, COUNT(*) FROM ratings GROUP BY channel"):
                stored.add_metric([channel], count)
            yield stored
            rejected = CounterMetricFamily(
                "hostd_messages_rejected", "Messages refused, by reason (all time)", labels=["reason"]
            )
            for reason, count in db.execute("SELECT reason, SUM(count) FROM rejections GROUP BY reason"):
                rejected.add_metric([reason], count)
            yield rejected
            devices = GaugeMetricFamily("hostd_devices", "Devices not revoked, by state", labels=["state"])
            online, offline = db.execute(
                "SELECT COALESCE(SUM(online), 0), COALESCE(SUM(1 - online), 0) FROM fleet"
                " WHERE revoked_at IS NULL"
            ).fetchone()
            devices.add_metric(["online"], online)
            devices.add_metric(["offline"], offline)
            yield devices
            depth = GaugeMetricFamily(
                "hostd_device_outbox_depth", "Ratings waiting on a device (last heartbeat)", labels=["device"]
            )
            heap = GaugeMetricFamily(
                "hostd_device_free_heap_bytes", "A device's free heap (last heartbeat)", labels=["device"]
            )
            for device, outbox, free in db.execute(
                "SELECT device_id, outbox_depth, free_heap FROM fleet"
                " WHERE revoked_at IS NULL AND last_seen IS NOT NULL"
            ):
                if outbox is not None:
                    depth.add_metric([device], outbox)
                if free is not None:
                    heap.add_metric([device], free)
            yield depth
            yield heap
            marks = ", ".join("'%s'" % s for s in PENDING)
            pending, oldest, dead = db.execute(
                "SELECT SUM(status IN (%s)), MIN(CASE WHEN status IN (%s) THEN created_at END),"
                " SUM(status = 'dead') FROM upstream_outbox" % (marks, marks)
            ).fetchone()
            upstream = GaugeMetricFamily(
                "hostd_upstream_records", "Upstream queue, by state", labels=["state"]
            )
            upstream.add_metric(["pending"], pending or 0)
            upstream.add_metric(["dead"], dead or 0)
            yield upstream
            yield GaugeMetricFamily(
                "hostd_upstream_oldest_pending_seconds",
                "Age of the oldest record not yet sent upstream (0: none)",
                value=max(0, time.time() - oldest) if oldest else 0,
            )
            now = self.ctx.clock.now()
            states = ", ".join("'%s'" % s for s in workorders.OPEN_STATES)
            open_orders, overdue = db.execute(
                "SELECT COUNT(*), COALESCE(SUM((done_at IS NULL AND done_due < :now)"
                " OR (contacted_at IS NULL AND contact_due < :now)), 0)"
                " FROM work_orders WHERE state IN (%s)" % states,
                {"now": now},
            ).fetchone()
            orders = GaugeMetricFamily("hostd_work_orders", "差评 work orders", labels=["state"])
            orders.add_metric(["open"], open_orders)
            orders.add_metric(["overdue"], overdue)
            yield orders
            alerts = GaugeMetricFamily("hostd_alerts_open", "Alerts raised and not cleared", labels=["kind"])
            for kind, count in db.execute(
                "SELECT kind, COUNT(*) FROM alerts WHERE cleared_at IS NULL GROUP BY kind"
            ):
                alerts.add_metric([kind], count)
            yield alerts
        path = str(self.ctx.home.db_path)
        size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
        yield GaugeMetricFamily("hostd_database_bytes", "hostd.db and its WAL on disk", value=size)
        if self.collector is not None:
            yield from self.collector.ack_latency.collect()


@router.get("/metrics")
def metrics(request: Request):
    ctx = request.app.state.ctx
    if not allowed(ctx.config, request.client.host if request.client else ""):
        raise HTTPException(403, "metrics are served to the addresses in metrics.allow only")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Hall(ctx, request.app.state.collector))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
