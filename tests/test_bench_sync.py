"""bench/sync.py in a tiny size: it drains everything and reports its figures."""
from bench import sync


def test_sync_bench_quick():
    raw = sync.run(records=400, batch_size=100)
    assert raw["confirmed"] == 400 and raw["left"] == 0 and raw["raw_ok"] == 400
    assert raw["ref"]["ratings"] == 200 and raw["ref"]["services"] == 200
    figs = sync.figures(raw)
    assert figs["sync_drain_per_s"]["value"] > 0
    assert figs["sync_drain_per_s"]["baseline"] == "sync_raw_post_per_s"
    assert figs["sync_backlog_db_mb"]["value"] > 0
    assert set(figs) == {"sync_drain_per_s", "sync_raw_post_per_s", "sync_backlog_db_mb",
                         "sync_backlog_bytes_per_record"}
