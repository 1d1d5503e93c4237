"""bench/ingest.py reports the host's CPU per message beside the rates."""

from bench import ingest


def test_ingest_reports_cpu_per_message_for_both_paths():
    result = ingest.run(devices=3, per_device=20, window=5, processes=1, rounds=2)
    assert result["rows"] == result["expected_rows"] == 120
    assert result["acked"] == 120 and result["bad_replies"] == 0
    assert result["baseline_on_stock_paho"]  # the Collector's paho speedup is off for it
    # Well-formed figures only: a CPU figure's size depends on the machine's load.
    for name in ("ingest_cpu_us_per_rating", "baseline_cpu_us_per_message"):
        assert isinstance(result[name], float) and result[name] >= 0, (name, result[name])
    figs = ingest.figures(result)
    assert figs["ingest_cpu_us_per_rating"]["baseline"] == "baseline_cpu_us_per_message"
    assert figs["ingest_cpu_us_per_rating"]["value"] == result["ingest_cpu_us_per_rating"]
