"""The baselines of bench/sync.py: the same records POSTed with no local
bookkeeping, translated before the clock starts, so the figure is the
sender's cost against the wire's own.

  raw_posts          hostd's own wire (json): the same batches, one keep-alive
                     connection, signed; the time of the POSTs
  raw_single_posts   Epoint's wire: one record per POST as {"params": ...},
                     as many threads as the adapter sends with, each on its
                     own keep-alive connection
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from hostd.base.config import defaults
from hostd.db.store import open_database
from hostd.sync import codetable, own, sealing, wire
from hostd.sync.epoint import DEFAULTS as EPOINT_DEFAULTS
from hostd.sync.http_link import LinkPool

SECRET = b"bench-secret"


def upstream(url, adapter):
    """[upstream] as hostd.toml would have it for this run."""
    up = dict(defaults()["upstream"], url=url, adapter=adapter, timeout_s=60)
    if adapter == "epoint":
        up["code_table"] = codetable.shipped("epoint-example.toml")
    return up


def wire_records(path, url, adapter, kind):
    """The records of one kind as the adapter posts them (translated before
    the clock starts: the baseline times the POSTs alone)."""
    up = upstream(url, adapter)
    translate = wire.Translator(codetable.for_config(up), up).to_wire
    db = open_database(path)
    rows = db.conn.execute("SELECT kind, body FROM upstream_outbox WHERE kind = ? ORDER BY id", (kind,))
    out = [(k, translate(k, json.loads(body))) for k, body in rows]
    db.conn.close()
    return out


def raw_posts(path, url, batch_size, progress=None):
    """The same records, same batches and order (services, then ratings),
    POSTed signed over one keep-alive connection; the time is the POSTs'."""
    pool = LinkPool(url, 60)
    ok, seconds = 0, 0.0
    for kind in ("service", "rating"):
        items = wire_records(path, url, "json", kind)
        for lo in range(0, len(items), batch_size):
            body = own.records_body([(0, k, r) for k, r in items[lo : lo + batch_size]])
            started = time.monotonic()
            answers = own.parse_results(
                *pool.request("POST", own.RECORDS_PATH, body, sealing.signed_headers(SECRET, body)),
                len(items[lo : lo + batch_size]),
            )
            seconds += time.monotonic() - started
            ok += sum(1 for a in answers if a.outcome == wire.OK)
            if progress is not None:
                progress.tick(lambda: "baseline: %s posted" % "{:,}".format(ok))  # noqa: B023 (called at once)
    pool.close()
    return ok, seconds


def raw_single_posts(db_path, url, concurrency, progress=None):
    """The epoint baseline: the same records, one per POST as {"params": ...},
    `concurrency` threads each on its own keep-alive connection (as the
    adapter sends), services first; no local bookkeeping. Time: the POSTs'."""
    fields = EPOINT_DEFAULTS["fields"]
    pool = LinkPool(url, 60)
    ok = [0]
    lock = threading.Lock()

    def post(item):
        path, record = item
        params = {fields[k]: v for k, v in record.items() if k in fields}
        body = json.dumps({"params": params}, ensure_ascii=False, separators=(",", ":")).encode()
        status, data = pool.request("POST", path, body, {"Content-Type": "application/json; charset=utf-8"})
        if status == 200 and json.loads(data)["custom"]["code"] == "1":
            with lock:
                ok[0] += 1

    seconds = 0.0
    with ThreadPoolExecutor(max_workers=concurrency) as workers:
        for kind, path in (("service", "/service"), ("rating", "/evaluate")):
            items = [(path, record) for _kind, record in wire_records(db_path, url, "epoint", kind)]
            started = time.monotonic()
            list(workers.map(post, items))
            seconds += time.monotonic() - started
            if progress is not None:
                progress.say("baseline (epoint): %s posted" % "{:,}".format(ok[0]))
    pool.close()
    return ok[0], seconds
