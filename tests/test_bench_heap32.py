"""bench/heap32.py: one firmware path, byte for byte the same, on MicroPython's
32-bit WebAssembly port (Node.js) and on the 64-bit unix port."""

import json
import subprocess

from bench import __main__ as bench_main
from bench import heap32
from bench.common import figure

TUPLES = """
import gc
gc.collect()
a = gc.mem_alloc()
x = [(i, i) for i in range(1000)]
gc.collect()
print(json.dumps({"tuples": gc.mem_alloc() - a}))
"""


def test_the_webassembly_port_is_a_32_bit_micropython(tmp_path):
    assert heap32.wasm_ready(), "make install puts the WebAssembly port in bench/wasm/node_modules"
    (tmp_path / "tuples.py").write_text("import json\n" + TUPLES)
    unix = subprocess.run(
        [heap32.micropython_unix(), "tuples.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    wasm = subprocess.run(
        ["node", str(heap32.WASM / "run.mjs"), str(tmp_path), str(256 * 1024), "tuples.py"],
        cwd=heap32.WASM,
        capture_output=True,
        text=True,
        timeout=60,
    )
    size64 = json.loads(unix.stdout)["tuples"]
    size32 = json.loads(wasm.stdout)["tuples"]
    assert 0.45 < size32 / size64 < 0.55  # a pointer is 4 bytes there, 8 here


def test_the_firmware_path_runs_on_both_ports():
    raw = heap32.run()
    for step in ("boot", "built", "idle", "session", "pressed", "rated"):
        assert 0 < raw["wasm"][step] < raw["unix"][step], step
    assert raw["unix"]["session"] > raw["unix"]["boot"]  # a session on screen costs heap
    assert 0.5 < raw["ratio"] < 0.9  # less than 64-bit, more than half: buffers do not shrink
    figures = heap32.figures(raw)
    assert figures["heap32_session_bytes"]["baseline"] == "heap64_session_bytes"
    assert figures["heap32_ratio"]["value"] == raw["ratio"]


def test_the_32_bit_peak_is_the_firmware_peak_times_the_ratio():
    results = {
        "firmware_heap_peak_bytes": figure(56416, "bytes", "x"),
        "heap32_ratio": figure(0.7, "x", "y"),
    }
    peak = bench_main.derived(results)["firmware_heap_peak_bytes_32bit"]
    assert peak["value"] == 39491 and peak["baseline"] == "firmware_heap_peak_bytes"
    assert bench_main.derived({"heap32_ratio": figure(0.7, "x", "y")}) == {}  # the firmware bench did not run
