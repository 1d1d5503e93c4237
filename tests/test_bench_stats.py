"""bench/stats.py at a tiny size: it generates a consistent hall and reports figures."""
from bench import stats as bench_stats
from hostd import stats, workorders
from hostd.store import open_database


def test_generated_hall_is_consistent_and_figures_are_reported(tmp_path):
    path = str(tmp_path / "hostd.db")
    raw = bench_stats.run(ratings=5000, repeats=1, keep=path)
    assert raw["counts"]["ratings"] == 5000 and raw["counts"]["sessions"] == 4900
    assert raw["counts"]["work_orders"] > 50
    assert set(raw["query_ms_median"]) == {name for name, _ in bench_stats.dashboard_queries()}
    figures = bench_stats.figures(raw)
    assert figures["stats_query_ms_p95"]["baseline"] == "stats_count_ms"
    assert figures["stats_query_ms_p95"]["value"] > 0 and figures["stats_db_mb"]["value"] > 0
    db = open_database(path)
    year = stats.rates(db, stats.period("2026Q1")[0], stats.period("2027Q1")[0])
    assert year["total"] == 5000 and year["sessions"] == 4900
    assert year["bad"] == raw["counts"]["work_orders"] == year["bad_orders"]
    assert 0.7 < year["good_rate"] < 0.85 and 0.8 < year["active_rate"] < 0.9
    # the rollups the triggers kept during the bulk insert match the raw rows
    q = stats.period("2026Q4")
    assert stats.breakdown(db, "window", *q) == stats.breakdown(db, "window", q[0] + 1, q[1])
    assert workorders.counts(db, now=q[1])["open"] > 0
    db.conn.close()


def test_run_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    bench_stats.run(ratings=1000, repeats=1)
    assert list(tmp_path.iterdir()) == []
