"""GET /metrics (issue 24): a real HTTP scrape of hostd's pages server, parsed
with prometheus-client's own parser, checked against the database; only the
addresses in metrics.allow may read it."""

import httpx
from prometheus_client.parser import text_string_to_metric_families
from test_fleet_reboots import heartbeat
from test_pages_auth import hall, seeded_home  # noqa: F401  (fixtures)

from conftest import free_port
from hostd.web.app import create_app
from hostd.web.server import WebServer


class Collector:
    """The running collector's part: its ack latency histogram."""

    def __init__(self):
        from prometheus_client import Histogram

        self.ack_latency = Histogram("hostd_ack_latency_seconds", "acks", registry=None)
        for seconds in (0.004, 0.03, 0.3):
            self.ack_latency.observe(seconds)


def scrape(ctx, collector=None):
    server = WebServer(create_app(ctx, collector), "127.0.0.1", free_port()).start()
    try:
        return httpx.get(server.url + "metrics", timeout=10)
    finally:
        server.stop()


def samples(text):
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_scrape_tells_what_the_database_holds(hall):  # noqa: F811
    ctx, _made = hall
    import time

    heartbeat(ctx, "w01-a", 1, 1, int(time.time()) - 30, outbox=7)
    answer = scrape(ctx, Collector())
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    got = samples(answer.text)
    with ctx.store.read() as db:
        paper = db.execute("SELECT COUNT(*) FROM ratings WHERE channel = 'paper'").fetchone()[0]
        open_orders = db.execute(
            "SELECT COUNT(*) FROM work_orders WHERE state IN ('new', 'contacted', 'rectifying', 'replied')"
        ).fetchone()[0]
    assert paper == 7 and got[("hostd_ratings_stored_total", (("channel", "paper"),))] == paper
    assert got[("hostd_devices", (("state", "online"),))] == 1
    assert got[("hostd_device_outbox_depth", (("device", "w01-a"),))] == 7
    assert got[("hostd_device_free_heap_bytes", (("device", "w01-a"),))] == 60000
    assert got[("hostd_work_orders", (("state", "open"),))] == open_orders == 2
    assert ("hostd_upstream_records", (("state", "pending"),)) in got
    assert got[("hostd_database_bytes", ())] > 10000
    assert got[("hostd_ack_latency_seconds_count", ())] == 3
    assert got[("hostd_ack_latency_seconds_bucket", (("le", "0.005"),))] == 1


def test_only_the_allowed_addresses_read_it(hall):  # noqa: F811
    ctx, _made = hall
    ctx.config["metrics"]["allow"] = ["10.9.0.0/16"]  # not this host's loopback
    refused = scrape(ctx)
    assert refused.status_code == 403 and "metrics.allow" in refused.text
