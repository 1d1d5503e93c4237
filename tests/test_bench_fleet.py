"""bench/fleet.py and bench/storm.py at a tiny size: a real `hostd run` with its
own Mosquitto and protocol-level devices, each with its own login; what they
report is checked, never how fast it was."""

from bench import fleet, fleet_plot, storm


def test_the_fleet_curve_runs_and_reports_every_size(tmp_path):
    raw = fleet.run(sizes=(12, 30), measure_s=2, heartbeat_s=5, rate_every_s=0.5, plot=tmp_path / "curve.png")
    assert [row["devices"] for row in raw["sizes"]] == [12, 30]
    for row in raw["sizes"]:
        # every device connected with its own login, got its screen, and then its new one
        assert row["refresh"] == {
            "devices": row["devices"],
            "pushed": row["devices"],
            "seconds": row["refresh"]["seconds"],
        }
        assert row["bad_host_messages"] == 0 and row["reconnects"] == 0
        assert row["hostd_cpu_pct"] >= 0 and row["broker_rss_mb"] > 0 and row["hostd_rss_mb"] > 0
    figures = fleet.figures(raw)
    assert figures["fleet_30_hostd_cpu_pct"]["baseline"] == "fleet_30_broker_cpu_pct"
    assert figures["fleet_30_ack_ms_p99"]["baseline"] == "fleet_12_ack_ms_p99"
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fleet_plot.plot(raw, tmp_path / "again.png")


def test_a_reconnect_storm_loses_nothing_and_duplicates_nothing():
    raw = storm.run(devices=16, outbox=6)
    assert raw["ratings"] == 96 and raw["acked"] == 96  # each device verified each ack
    assert raw["rows"] == 96 and raw["lost"] == 0 and raw["duplicated"] == 0
    assert raw["bad_acks"] == 0 and raw["drain_s"] > 0
    assert storm.figures(raw)["storm_drain_per_s"]["baseline"] == "ingest_per_s"
