"""bench/sync.py in a tiny size: it drains everything and reports its figures."""

from bench import sync


def test_sync_bench_quick():
    raw = sync.run(records=400, batch_size=100, epoint_records=200)
    assert raw["confirmed"] == 400 and raw["left"] == 0 and raw["raw_ok"] == 400
    assert raw["ref"]["ratings"] == 200 and raw["ref"]["services"] == 200
    assert raw["epoint_confirmed"] == 200 and raw["epoint_left"] == 0 and raw["epoint_raw_ok"] == 200
    assert raw["epoint_ref"]["ratings"] == 100 and raw["epoint_ref"]["requests"] == 200
    figs = sync.figures(raw)
    assert figs["sync_drain_per_s"]["value"] > 0
    assert figs["sync_drain_per_s"]["baseline"] == "sync_raw_post_per_s"
    assert figs["sync_backlog_db_mb"]["value"] > 0
    assert figs["sync_epoint_drain_per_s"]["baseline"] == "sync_epoint_raw_post_per_s"
    assert set(figs) == {
        "sync_drain_per_s",
        "sync_raw_post_per_s",
        "sync_epoint_drain_per_s",
        "sync_epoint_raw_post_per_s",
        "sync_backlog_db_mb",
        "sync_backlog_bytes_per_record",
    }


def test_bulk_backlog_is_what_the_product_would_queue(tmp_path):
    from bench.common import bulk_load, check_rollups
    from hostd.db.store import open_database

    path = str(tmp_path / "hostd.db")
    open_database(path).conn.close()
    with bulk_load(path, sync.TABLES) as conn:
        sync.seed(conn, 250, chunk=100)
    db = open_database(path)
    fresh = open_database(str(tmp_path / "fresh.db"))
    schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    assert db.execute(schema).fetchall() == fresh.execute(schema).fetchall()
    rows = db.execute(
        "SELECT id, kind, key, ref, depends_on, blocked, body FROM upstream_outbox ORDER BY id"
    ).fetchall()
    assert len(rows) == 500
    for i in range(250):
        service, rating = rows[2 * i], rows[2 * i + 1]
        case = "C%09d" % i
        assert service[:6] == (2 * i + 1, "service", "svc:%s:1" % case, "s-%d" % i, None, 0)
        assert rating[:6] == (
            2 * i + 2,
            "rating",
            "dev:d1:%d:%s" % (i + 1, case),
            str(i + 1),
            "svc:%s:1" % case,
            1,
        )
        assert (service[6], rating[6]) == sync.expected_bodies(i)
    assert sync.check_bodies(db.conn, 250) > 100
    assert check_rollups(db.conn)["sessions"] == 1  # 250 seconds of one day
    db.execute("UPDATE upstream_outbox SET body = replace(body, '张三', '李四') WHERE id = 1")
    db.conn.commit()
    try:
        sync.check_bodies(db.conn, 250)
        raise AssertionError("check_bodies missed a changed body")
    except RuntimeError as e:
        assert "differs" in str(e)
