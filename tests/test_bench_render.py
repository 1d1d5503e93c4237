from bench import render as bench_render
from protocol import messages


def test_render_bench_quick():
    raw = bench_render.run(sessions=12, items=3, staff=2)
    figs = bench_render.figures(raw)
    assert figs["render_ms_median_warm"]["value"] > 0 and figs["render_ms_median_cold"]["value"] > 0
    assert 0 < figs["session_message_bytes"]["value"] <= raw["bytes_max"] < messages.MAX_HOST_MESSAGE
    assert figs["render_ms_median_cold"]["baseline"] == "render_qr_only_ms"
