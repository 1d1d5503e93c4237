"""The hall's pages on the statistics benchmark's database (bench/stats.py).

Each page a supervisor, a staff member or the hall's big screen opens all
day is fetched `repeats` times through hostd's own web app (FastAPI's
TestClient: the whole request, session cookie, queries and template, no
socket), logged in as a supervisor or as staff member s007, with hostd's
clock (HOSTD_CLOCK_FILE) at 15:00 on the benchmark's "today". The figure is
the slowest page's p95.

The export page is timed and reported on its own: it shows every table's
exact row count, so it costs a COUNT(*) of each big table by construction.
"""

import os
import re
import sqlite3
import statistics
import tempfile
import time

PASSWORD = "bench-password-42"
# (name, who: "supervisor", "staff" or None for no login, path)
PAGES = (
    ("dashboard", "supervisor", "/dashboard"),
    ("dashboard_staff", "staff", "/dashboard"),
    ("display", None, "/display"),
    ("ranking_staff", "supervisor", "/ranking?by=staff"),
    ("ranking_window", "supervisor", "/ranking?by=window"),
    ("ranking_unit", "supervisor", "/ranking?by=unit"),
    ("workorders", "supervisor", "/workorders"),
    ("workorders_overdue", "supervisor", "/workorders?overdue=1"),
    ("ratings", "supervisor", "/ratings"),
    ("ratings_staff", "staff", "/ratings"),
    ("analysis", "supervisor", "/analysis"),
    ("thirdparty", "supervisor", "/thirdparty"),
    ("unresolved", "supervisor", "/unresolved"),
    ("fraud", "supervisor", "/fraud"),
)
EXPORT = ("export", "supervisor", "/export")


def move_database(source, target):
    """Move a closed WAL database file (its WAL checkpointed into it first)."""
    conn = sqlite3.connect(str(source))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        for path in (str(source) + suffix, str(target) + suffix):
            if os.path.exists(path):
                os.remove(path)
    os.replace(source, target)


def make_home(folder, db_path, hall="bench"):
    """`hostd init` in `folder`, with the benchmark's database moved in as its hostd.db."""
    from click.testing import CliRunner

    from hostd.base.home import Home
    from hostd.cli import cli

    args = ["--home", str(folder), "init", "--hall", hall, "--listen", "127.0.0.1"]
    result = CliRunner().invoke(cli, args + ["--broker-port", "18830", "--web-port", "18080"])
    if result.exit_code != 0:
        raise RuntimeError("bench: hostd init failed: %s" % result.output)
    home = Home(folder)
    move_database(db_path, home.db_path)
    return home


def _client(app, who):
    from fastapi.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    if who:
        form = client.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        answer = client.post("/login", data={"username": "bench-" + who, "password": PASSWORD, "csrf": token})
        if answer.status_code != 303:
            raise RuntimeError("bench: login as %s failed: %s" % (who, answer.status_code))
    return client


def measure(home, now, staff_id, repeats=20, progress=None):
    """{"page_ms_median", "page_ms_p95", "page_bytes"} per page name."""
    from bench.common import percentile
    from hostd.base import clock
    from hostd.base.context import Context
    from hostd.db.store import Store
    from hostd.web import auth
    from hostd.web.app import create_app

    folder = tempfile.mkdtemp(prefix="bench-clock-")
    clock_file = os.path.join(folder, "offset")
    clock.set_offset(clock_file, now - time.time())
    before = os.environ.get(clock.ENV)
    os.environ[clock.ENV] = clock_file
    store = Store(home.db_path)
    try:

        def users(db):
            auth.add_user(db, "bench-supervisor", PASSWORD, "supervisor", None, now=int(now))
            auth.add_user(db, "bench-staff", PASSWORD, "staff", staff_id, now=int(now))

        store.run(users)
        app = create_app(Context(home, home.config(), store))
        clients = {who: _client(app, who) for who in ("supervisor", "staff", None)}
        medians, p95s, sizes = {}, {}, {}
        for name, who, path in PAGES + (EXPORT,):
            if progress is not None:
                progress.tick("timing the page %s" % path)
            client = clients[who]
            answer = client.get(path)  # warm the cache once
            if answer.status_code != 200:
                raise RuntimeError(
                    "bench: %s answered %d: %s" % (path, answer.status_code, answer.text[:200])
                )
            ms = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                client.get(path)
                ms.append(1000 * (time.perf_counter() - t0))
            medians[name] = round(statistics.median(ms), 2)
            p95s[name] = round(percentile(ms, 95), 2)
            sizes[name] = len(answer.content)
        return {"page_ms_median": medians, "page_ms_p95": p95s, "page_bytes": sizes}
    finally:
        store.close()
        if before is None:
            os.environ.pop(clock.ENV, None)
        else:
            os.environ[clock.ENV] = before
        os.remove(clock_file)
        os.rmdir(folder)


def slowest(raw):
    """(name, p95 ms) of the slowest page of PAGES (the export page is apart)."""
    named = [(raw["page_ms_p95"][name], name) for name, _who, _path in PAGES]
    ms, name = max(named)
    return name, ms
