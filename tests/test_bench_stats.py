"""bench/stats.py at a tiny size: it generates a consistent hall and reports figures."""

from bench import pages as bench_pages
from bench import stats as bench_stats
from bench.common import check_rollups
from hostd.casework import workorders
from hostd.db.store import open_database
from hostd.reporting import periods, stats


def test_generated_hall_is_consistent_and_figures_are_reported(tmp_path):
    path = str(tmp_path / "hostd.db")
    raw = bench_stats.run(ratings=5000, repeats=1, keep=path)
    assert raw["counts"]["ratings"] == 5000 and raw["counts"]["sessions"] == 4900
    assert raw["counts"]["work_orders"] > 50
    assert set(raw["query_ms_median"]) == {name for name, _ in bench_stats.dashboard_queries()}
    figures = bench_stats.figures(raw)
    assert figures["stats_query_ms_p95"]["baseline"] == "stats_count_ms"
    assert figures["stats_query_ms_p95"]["value"] > 0 and figures["stats_db_mb"]["value"] > 0
    # every page was fetched (a page that did not answer 200 fails the run)
    assert set(raw["page_ms_p95"]) == {name for name, _who, _path in bench_pages.PAGES} | {"export"}
    assert figures["stats_page_ms_p95"]["baseline"] == "stats_count_ms"
    assert figures["stats_page_ms_p95"]["value"] == max(
        raw["page_ms_p95"][n] for n, _w, _p in bench_pages.PAGES
    )
    assert raw["page_bytes"]["ranking_staff"] > 1000
    db = open_database(path)
    year = stats.rates(db, periods.period("2026Q1")[0], periods.period("2027Q1")[0])
    assert year["total"] == 5000 and year["sessions"] == 4900
    assert year["bad"] == raw["counts"]["work_orders"] == year["bad_orders"]
    assert 0.7 < year["good_rate"] < 0.85 and 0.8 < year["active_rate"] < 0.9
    # the rollups the triggers kept during the bulk insert match the raw rows
    q = periods.period("2026Q4")
    assert stats.breakdown(db, "window", *q) == stats.breakdown(db, "window", q[0] + 1, q[1])
    assert workorders.counts(db, now=q[1])["open"] > 0
    db.conn.close()


def test_run_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    bench_stats.run(ratings=1000, repeats=1)
    assert list(tmp_path.iterdir()) == []


# hostd/db/schema/rollups.py's tables, and what is non-zero in a row of each
ROLLUPS = {
    "stats_monthly": "total OR good OR middle OR bad OR not_counted",
    "sessions_monthly": "sessions OR rated",
    "orders_daily": "orders OR on_time",
    "orders_monthly": "orders OR on_time",
    "orders_by_state": "n",
}


def _schema(db):
    """Every table, index, trigger and view (not sqlite_stat*, which ANALYZE adds)."""
    return sorted(
        row
        for row in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
        if not row[1].startswith("sqlite_stat")
    )


def test_bulk_seed_leaves_the_product_schema_and_what_its_triggers_would_keep(tmp_path):
    path = str(tmp_path / "hostd.db")
    bench_stats.run(ratings=3000, repeats=1, keep=path)
    fresh = open_database(str(tmp_path / "fresh.db"))
    db = open_database(path)
    assert _schema(db) == _schema(fresh)  # every index and trigger is back, as migrated
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = db.conn
    daily = conn.execute("SELECT * FROM stats_daily ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
    sdaily = conn.execute("SELECT * FROM sessions_daily ORDER BY 1, 2, 3, 4, 5").fetchall()
    others = {t: sorted(conn.execute("SELECT * FROM %s" % t).fetchall()) for t in ROLLUPS}
    assert sum(row[5] for row in others["orders_monthly"]) > 50
    assert sum(row[6] for row in daily) == 3000 and sum(row[5] for row in sdaily) == 2940
    conn.execute("BEGIN")
    conn.execute("CREATE TEMP TABLE r AS SELECT * FROM ratings")
    conn.execute("CREATE TEMP TABLE s AS SELECT * FROM sessions")
    conn.execute("CREATE TEMP TABLE o AS SELECT * FROM work_orders")
    # the product's triggers take every row back out: the bulk totals were theirs exactly
    conn.execute("DELETE FROM work_orders")
    conn.execute("DELETE FROM ratings")
    conn.execute("DELETE FROM sessions")
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM stats_daily WHERE total OR good OR middle OR bad OR not_counted"
        ).fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT COUNT(*) FROM sessions_daily WHERE sessions OR rated").fetchone()[0] == 0
    for table, count in ROLLUPS.items():
        assert conn.execute("SELECT COUNT(*) FROM %s WHERE %s" % (table, count)).fetchone()[0] == 0, table
    for table in ("stats_daily", "sessions_daily", *ROLLUPS):
        conn.execute("DELETE FROM %s" % table)
    # and put them back, row by row, to the same rollups
    conn.execute("INSERT INTO sessions SELECT * FROM s")
    conn.execute("INSERT INTO ratings SELECT * FROM r")
    conn.execute("INSERT INTO work_orders SELECT * FROM o")
    assert conn.execute("SELECT * FROM stats_daily ORDER BY 1, 2, 3, 4, 5, 6").fetchall() == daily
    assert conn.execute("SELECT * FROM sessions_daily ORDER BY 1, 2, 3, 4, 5").fetchall() == sdaily
    for table, rows in others.items():
        assert sorted(conn.execute("SELECT * FROM %s" % table).fetchall()) == rows, table
    conn.execute("ROLLBACK")
    days = check_rollups(conn)
    assert days["ratings"] == 365 and 350 < days["sessions"] <= 365
    conn.execute(
        "UPDATE sessions_daily SET rated = rated + 1 WHERE day = (SELECT MIN(day) FROM sessions_daily)"
    )
    try:
        check_rollups(conn)
        raise AssertionError("check_rollups missed a wrong total")
    except RuntimeError as e:
        assert "sessions rollups" in str(e)


def test_bulk_load_can_build_the_indexes_at_the_end(tmp_path):
    from bench.common import bulk_load

    path = str(tmp_path / "hostd.db")
    open_database(path).conn.close()
    with bulk_load(path, bench_stats.TABLES, drop_indexes=True) as conn:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'ratings'"
                " AND sql IS NOT NULL AND type != 'table'"
            ).fetchone()[0]
            == 0
        )
        bench_stats.generate(conn, 2000)
    db = open_database(path)
    fresh = open_database(str(tmp_path / "fresh.db"))
    assert _schema(db) == _schema(fresh)
    assert check_rollups(db.conn)["ratings"] == 365


def test_a_failed_seed_leaves_the_migrated_file_untouched(tmp_path):
    from bench.common import bulk_load

    path = str(tmp_path / "hostd.db")
    open_database(path).conn.close()
    try:
        with bulk_load(path, bench_stats.TABLES) as conn:
            bench_stats.generate(conn, 500)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    db = open_database(path)
    assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ratings' ORDER BY 1"
    fresh = open_database(str(tmp_path / "fresh.db"))
    assert db.execute(triggers).fetchall() == fresh.execute(triggers).fetchall()
    assert len(fresh.execute(triggers).fetchall()) == 13  # 3 daily, 3 monthly, 1 for work orders, 6 for 差评
