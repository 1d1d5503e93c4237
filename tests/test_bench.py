"""`make bench` in miniature: every benchmark runs with tiny sizes and gives
well-formed, sane results (all ratings stored, ratios > 0). No timing asserts."""

import json

import pytest

from bench import __main__ as bench_main
from bench import firmware, flash_wear, ingest, latency, outbox
from bench.common import percentile


def check_figures(figs):
    for name, fig in figs.items():
        assert set(fig) >= {"value", "unit", "how"}, name
        assert fig["how"], name
        if "baseline" in fig:
            assert fig["baseline"] in figs, name


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 50) is None


def test_ingest_stores_and_acks_every_rating():
    result = ingest.run(devices=4, per_device=30, window=5, processes=2, rounds=2)
    assert result["rows"] == result["expected_rows"] == 4 * 30 * 2
    assert result["acked"] == result["rows"]
    assert result["rejected"] == 0 and result["bad_replies"] == 0
    assert result["ingest_per_s"] > 0 and result["paho_baseline_per_s"] > 0
    assert result["ingest_ratio"] > 0
    figs = ingest.figures(result)
    check_figures(figs)
    assert figs["ingest_ratio"]["value"] == result["ingest_ratio"]


def test_ack_latency_measures_every_press():
    result = latency.run(devices=6, rate=30.0, seconds=1.0, processes=1)
    for path in ("ingest", "raw"):
        assert result[path]["sent"] == 30 and result[path]["acked"] == 30, result
        assert result[path]["bad"] == 0
        assert 0 < result[path]["p50_ms"] <= result[path]["p99_ms"] <= result[path]["max_ms"]
    assert result["rows"] == 30
    check_figures(latency.figures(result))


def test_outbox_append_and_its_baseline():
    result = outbox.run(appends=20, full=1000)
    assert result["outbox"]["appends"] == result["raw"]["appends"] == 20
    # the same rating bytes (their length grows with the seq's digits)
    assert (
        20 * (result["outbox"]["wire_bytes"] - 3)
        <= result["raw"]["file_bytes"]
        <= 20 * result["outbox"]["wire_bytes"]
    )
    figs = outbox.figures(result)
    check_figures(figs)
    assert figs["outbox_append_ms_median"]["value"] > 0
    assert figs["littlefs_append_ms_median"]["value"] > 0


def test_flash_wear_counts_every_erase_and_fills_the_outbox_to_its_capacity():
    result = flash_wear.run(ratings=60, screens=40, days=1, fill=300)
    r, s, d, f = result["rating"], result["screen"], result["days"], result["fill"]
    assert (r["count"], s["count"]) == (60, 40)
    assert result["beat"]["count"] == 60  # the App really sent its heartbeats (and wrote nothing: a figure)
    # The idle screen hostd sends after each session, unchanged: stored once, then nothing written.
    assert result["idle"] == {"count": 60, "erases": 0, "programs": 0}
    taken = result["idle_taken"]
    assert taken["rejected"] == 0 and taken["staff"] == "staff-42" and taken["kept_bytes"] > 300
    # littlefs erases a block before it programs a fresh one: every phase wrote, so each erased
    for phase in (r, s, result["raw_rating"], result["raw_screen"]):
        assert phase["programs"] > 0 and phase["erases"] > 0, phase
    assert d["erases_total"] >= r["erases"] + s["erases"]  # the per-block counts hold every phase's
    assert 0 < d["erase_mean"] <= d["erase_max"]
    assert f["held"] == 300 and "300" in f["refused"]  # refused at its capacity, none overwritten
    assert 0 < f["free_bytes"] < f["total_bytes"] == 512 * 4096
    figs = flash_wear.figures(result)
    check_figures(figs)
    assert figs["offline_days_at_200_per_day"]["value"] == 1.5
    worst, years, mean_years = flash_wear.projection(result)
    assert worst > 0 and 0 < years <= mean_years


def test_firmware_scenario_reports_boot_and_heap():
    run = firmware.scenario(100, timeout=20)
    assert run["boot_s"] > 0 and run["online_s"] >= run["boot_s"]
    total = firmware.heap_total(100)
    assert 90 * 1024 < total <= 100 * 1024
    assert 0 < run["free_after_boot"] < total
    assert run["session_bytes"] > 3000  # realistic bitmaps (QR as its module matrix), not an empty session
    if run["ok"]:
        assert 0 < run["free_after_rating"] < total
    else:
        assert run["failed_at"] in ("rating", "ack")


def test_main_writes_results_and_a_table(tmp_path, monkeypatch, capsys):
    fake = {"value": 2.0, "unit": "x", "how": "h"}

    class Fake:
        @staticmethod
        def run(**kw):
            return {"kw": kw}

        @staticmethod
        def figures(result):
            return {"a": dict(fake, baseline="b", target=5000), "b": dict(fake, value=4.0)}

    monkeypatch.setitem(bench_main.BENCHES, "fake", (Fake, {"n": 2}, {"n": 1}))
    out = tmp_path / "results.json"
    assert bench_main.main(["--only", "fake", "--quick", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["raw"]["fake"] == {"kw": {"n": 1}}
    assert set(data["bench_seconds"]) == {"fake"} and data["bench_seconds"]["fake"] >= 0
    assert data["figures"]["a"]["vs_baseline"] == 0.5
    assert set(data["figures"]) == {"a", "b"}  # only what ran
    printed = capsys.readouterr().out
    assert "ingest" not in printed.split("\n")[0] and "a " in printed
    assert "5000" in printed.split("\n")[2]  # a numeric target is shown, not a crash
    with pytest.raises(SystemExit):
        bench_main.main(["--only", "nope"])


def test_only_some_benchmarks_keeps_the_others_figures(tmp_path, monkeypatch):
    class One:
        @staticmethod
        def run(**kw):
            return {"v": kw["v"]}

        @staticmethod
        def figures(raw):
            return {"one_x": {"value": raw["v"], "unit": "x", "how": "h", "baseline": "two_y"}}

    class Two:
        @staticmethod
        def run(**kw):
            return {"v": kw["v"]}

        @staticmethod
        def figures(raw):
            return {"two_y": {"value": raw["v"], "unit": "y", "how": "h"}}

    monkeypatch.setitem(bench_main.BENCHES, "one", (One, {}, {"v": 1.0}))
    monkeypatch.setitem(bench_main.BENCHES, "two", (Two, {}, {"v": 4.0}))
    out = tmp_path / "results.json"
    assert bench_main.main(["--only", "one,two", "--quick", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["figures"]["one_x"]["vs_baseline"] == 0.25
    monkeypatch.setitem(bench_main.BENCHES, "two", (Two, {"v": 2.0}, {"v": 8.0}))
    assert bench_main.main(["--only", "two", "--quick", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data["raw"]) == {"one", "two"} and data["raw"]["two"] == {"v": 8.0}
    assert data["figures"]["two_y"]["value"] == 8.0 and data["figures"]["one_x"]["value"] == 1.0
    assert data["figures"]["one_x"]["vs_baseline"] == 0.125  # the ratio made again with the new baseline
    assert (
        bench_main.main(["--only", "two", "--out", str(out)]) == 0
    )  # a full run never mixes with a quick one
    assert set(json.loads(out.read_text())["raw"]) == {"two"}


def test_progress_lines_are_rate_limited():
    import io

    from bench.common import Progress

    out = io.StringIO()
    progress = Progress("demo", every=60.0, out=out)
    progress.say("starting")
    for i in range(1000):
        progress.tick(lambda: "step %d" % i)  # noqa: B023 (called at once)
    progress.every = 0.0
    progress.tick("now")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("bench: demo: starting (")
    assert lines[1].startswith("bench: demo: now (")


def test_a_quiet_benchmark_still_shows_it_is_running(monkeypatch):
    import time as _time

    lines = []

    class Slow:
        @staticmethod
        def run(**kw):
            _time.sleep(kw["s"])
            return {}

        @staticmethod
        def figures(result):
            return {}

    monkeypatch.setattr(bench_main, "HEARTBEAT_S", 1.0)
    monkeypatch.setitem(bench_main.BENCHES, "slow", (Slow, {"s": 0}, {"s": 1.6}))
    result = bench_main.run(["slow"], quick=True, log=lines.append)
    assert result["errors"] == {}
    beats = [line for line in lines if line.startswith("bench: slow: running (")]
    assert 1 <= len(beats) <= 2, lines  # after 1 s of silence, not every check (0.2 s)
    assert lines[0] == "bench: slow ..." and lines[-1].startswith("bench: slow took ")
