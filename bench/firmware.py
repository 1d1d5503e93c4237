"""The real firmware's heap and boot time, on the simulator (MicroPython unix
port, firmware bytecode in ROMFS outside the heap, littlefs flash), with a
real Mosquitto and hostd's Collector.

One scenario, "a full rating": power on -> the firmware connects and sends
its first heartbeat -> hostd pushes who is on duty (idle: window 300x48 and
staff 200x24 bitmaps) and a session with every bitmap part (a two-line item
name 300x48, staff 200x24, the QR as its module matrix) -> the session screen
is drawn -> button 1 -> the device signs, appends to
its flash outbox, publishes -> hostd commits and acks -> the device drops it
(the next heartbeat reports outbox depth 0).

How heap is measured (MicroPython has no peak counter: micropython.mem_peak
counts every allocation ever made, garbage included):
  - after boot / after the rating: the firmware's own status heartbeat,
    which reports gc.mem_free() right after gc.collect() (firmware/app.py);
    used = the heap's size (gc.mem_alloc() + gc.mem_free() at start) - free;
  - peak: the smallest heap (up from the live heap after the rating in 8 KB
    steps, then bisection to `resolution_kb`) on which the whole scenario
    still succeeds: an upper bound of the live peak, with GC
    and fragmentation included, which is what a board must have.
The unix port is 64-bit: pointers and object headers are twice an ESP32's.
bench/heap32.py measures what that costs: the same firmware path on
MicroPython's 32-bit WebAssembly port needs heap32_ratio (0.70 when it was
written) of the 64-bit port's heap, not the half a pointer count suggests
(buffers, strings and bitmaps do not shrink).

The firmware's own heap vs the simulator's total: on an ESP32 the board's
own modules (boot, the flash mount, `machine`, `network`, `time`) are C code
and cost the heap nothing; on the simulator they are Python (boot.py,
blockdev, vboard, the machine/network shims) and sit in the same heap. So
each run also boots the same virtual board with a main.py that imports only
what the board provides (machine, network, time, the mounted flash) and
prints gc.mem_alloc() after gc.collect(); minus the bare unix port's
baseline (`micropython -c`, the ~1 KB any MicroPython has, an ESP32 too),
that is `board_heap_bytes`. The `firmware_heap_*` figures are the
simulator's totals minus it; the raw totals are reported too, unchanged, as
`simulator_heap_*`. The subtraction is measured in the same run, never a
constant.
qstrs: MicroPython interns every name a module uses (functions, attributes,
globals, keyword arguments, strings of up to 10 characters) in a qstr pool
that grows in doubling blocks and never shrinks. On this port the block
after the one that ends at the 620th entry holds 640 and takes 8,336 B at
once: a handful of new names past that line cost the device 8 KB. After the
rating, `mpremote exec` (the board's real serial console) stops the firmware
and prints micropython.qstr_info(); `simulator_qstrs` is its n_qstr (board
and console included, as the pool holds them), and tests/test_bench_firmware.py
keeps it under the line with room to spare.
simulator_boot_s: process start to the "firmware" board event (boot.py has
mounted the flash and imports firmware.main); firmware_online_s: to the
first heartbeat committed by hostd.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import figure, start_mosquitto, stop
from hostd.db.store import Store
from hostd.devices import registry, render
from hostd.devices import voice as voice_clips
from hostd.ingest.collector import Collector
from protocol import messages, topics

HALL, DEVICE, WINDOW = "benchfw", "fw01", "W01"
VOICE_CACHE = Path(tempfile.gettempdir()) / "hcp-bench-voice"
VOICE_LEVEL = 4
QSTR_BLOCK_END = 620  # qstr pool entries before the unix port's next 640-entry block


def heap_total(heap_kb):
    """gc.mem_alloc() + gc.mem_free() of a fresh unix port with this heap."""
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "micropython"),
            "-X",
            "heapsize=%dK" % heap_kb,
            "-c",
            "import gc\nprint(gc.mem_alloc() + gc.mem_free())",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(out.stdout.strip())


_BOARD_MAIN = "import gc, machine, network, time\n%s\ngc.collect()\nprint('board heap', gc.mem_alloc())\n"
# With the voice on, the board's I2S too (simulator/board/virtual_i2s.py, C on
# an ESP32), made as firmware/voice.py makes it.
_BOARD_I2S = (
    "Pin = machine.Pin\nI2S = machine.I2S\nspeaker = I2S(0, sck=Pin(14), ws=Pin(13), sd=Pin(22), "
    "mode=I2S.TX, bits=16, format=I2S.MONO, rate=8000, ibuf=4096)"
)


def bare_heap():
    """gc.mem_alloc() of the bare unix port after gc.collect(): what any
    MicroPython has in its heap (an ESP32's too)."""
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "micropython"),
            "-X",
            "heapsize=100K",
            "-c",
            "import gc\ngc.collect()\nprint(gc.mem_alloc())",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(out.stdout.strip())


def board_heap(timeout=20, voice=False):
    """gc.mem_alloc() after gc.collect() on the same virtual board as
    scenario() (ROMs mapped, flash mounted, the firmware image in its romfs
    partition) whose main.py imports only what the board provides (with
    `voice`, its I2S amplifier as well)."""
    from simulator.device import SimDevice

    workdir = Path(tempfile.mkdtemp(prefix="hostd-fwboard-"))
    device = SimDevice(workdir / "device", name="board", heap="100K")
    try:
        main = _BOARD_MAIN % (_BOARD_I2S if voice else "")
        device.run_on_flash("f = open('main.py', 'w')\nf.write(%r)\nf.close()\n" % main)
        device.start()
        if not device.wait_log("board heap", timeout):
            raise RuntimeError("the bare board did not report its heap: " + device.log_text()[-300:])
        for line in device.log_text().splitlines():
            if line.startswith("board heap "):
                return int(line.split()[2])
        raise RuntimeError("no board heap line")
    finally:
        device.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# -- a session as hostd pushes it: hostd's own renderer ------------------------
LONG_ITEM = "不动产登记（转移登记）及抵押权首次登记合并办理"  # a long item name: two lines
_renderer = []


def renderer():
    """hostd's Renderer (hostd/devices/render.py), so the heap is measured on the
    very parts hostd sends: never a copy of it here."""
    if not _renderer:
        _renderer.append(render.Renderer())
    return _renderer[0]


def session_message(key, session_id="s-bench-0001", device=DEVICE, staff=("张晓明", "0042")):
    """A session as hostd pushes it, with every bitmap part: the item name
    (two lines, 300x48), the staff name (200x24) and the QR module matrix."""
    url = "https://hcp.example.gov.cn/r/%s?t=1795248000&sig=3f9a1c7e5b2d" % session_id
    parts = renderer().session_parts(LONG_ITEM, staff[0], url, staff[1])
    return messages.sign(
        key,
        [
            messages.VERSION,
            messages.SESSION,
            device,
            session_id,
            "ITEM-001",
            LONG_ITEM,
            "staff-42",
            staff[0],
            staff[1],
            1,
            120,
            url,
            int(time.time()),
            parts,
        ],
    )


WINDOW_URL = (
    "https://hcp.example.gov.cn/w/g1.07.Ab3dEf6hIj9kLm2oPq5sTu"  # a sticker's link (links.window_url)
)


def idle_message(key, serving=True, device=DEVICE, window="3号窗口 不动产登记", staff=("张晓明", "0042")):
    """Who is on duty (or nobody: 暂停服务), with the window and staff bitmaps
    and the window's standing QR code (shown while offline or the outbox is full)."""
    parts = renderer().idle_parts(
        window, staff[0] if serving else None, staff[1] if serving else None, WINDOW_URL
    )
    return messages.sign(
        key,
        [
            messages.VERSION,
            messages.IDLE,
            device,
            WINDOW,
            "staff-42" if serving else None,
            staff[0] if serving else None,
            staff[1] if serving else None,
            serving,
            int(time.time()),
            parts,
        ],
    )


# -- one run of the scenario ---------------------------------------------------
def _status(store):
    with store.read() as db:
        row = db.execute(
            "SELECT free_heap, outbox_depth, last_seen FROM device_status WHERE device_id = ?", [DEVICE]
        ).fetchone()
    return row


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def _heard(device):
    """Samples the board's I2S has played so far (its speaker.wav)."""
    try:
        with wave.open(str(device.speaker)) as played:
            return played.getnframes()
    except (OSError, EOFError, wave.Error):  # not made yet, or its header mid-write
        return 0


def qstr_count(device, timeout=30):
    """(n_qstr, n_pool) of the running device's qstr pool, read through its
    serial console with mpremote (which stops the firmware, as Ctrl-C does)."""
    mpremote = str(Path(sys.executable).parent / "mpremote")
    out = subprocess.run(
        [mpremote, "connect", device.port, "resume", "exec", "import micropython; micropython.qstr_info()"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    found = re.search(r"n_pool=(\d+), n_qstr=(\d+)", out.stdout)
    if found is None:
        raise RuntimeError("no qstr_info from the device: %s" % (out.stderr or out.stdout)[-300:])
    return int(found.group(2)), int(found.group(1))


def scenario(heap_kb=100, timeout=30, shots=None, sessions=1, qstrs=False, voice=0):
    """Run the full rating once on a `heap_kb` heap; return what it measured.

    `shots`: a directory for PNGs of the panel (idle, session, thanks); the
    panel's SPI stream is then recorded, which costs the device a little
    heap (simulator/board/vboard.py): a stricter run, not a laxer one.
    `sessions` > 1: after the first rating, more sessions are pushed and
    rated (button 2) one after another, as a window's day goes.
    `qstrs`: at the end, read the qstr pool's size (qstr_count()) into
    result["qstrs"] and result["qstr_pools"] (None, and why in
    result["qstrs_error"], if mpremote cannot read them)."""
    from simulator.device import SimDevice

    workdir = Path(tempfile.mkdtemp(prefix="hostd-fwbench-"))
    broker, port = start_mosquitto(str(workdir))
    store = Store(workdir / "hostd.db")
    device = collector = None
    result = {"heap_kb": heap_kb, "ok": False}
    try:
        key = registry.add_device(store, DEVICE, WINDOW, HALL)
        collector = Collector(store, "127.0.0.1", port)
        if not collector.start(10):
            raise RuntimeError("collector could not subscribe")
        pusher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-session")
        pusher.connect("127.0.0.1", port)
        pusher.loop_start()
        device = SimDevice(workdir / "device", name=DEVICE, heap="%dK" % heap_kb)
        device.write_config(
            {
                "device_id": DEVICE,
                "hall": HALL,
                "window": WINDOW,
                "key": key.hex(),
                "broker_host": "127.0.0.1",
                "broker_port": port,
                "heartbeat_s": 5,
                "voice": voice,
            }
        )
        if voice:  # the clips hostd provisions (hostd/devices/voice.py), rendered once per machine
            device.write_files(dict(voice_clips.clips(VOICE_CACHE)))
        t0 = time.monotonic()
        device.start(record_panel=True)  # for boot_to_ready_s; screenshots only with `shots`
        if device.board.wait_event("firmware", timeout):
            result["boot_s"] = round(time.monotonic() - t0, 3)
        if _wait(lambda: device.board.panel_version > 0 or None, timeout):
            result["ready_s"] = round(time.monotonic() - t0, 3)  # the first screen is on the panel
        first = _wait(lambda: _status(store), timeout)
        if first is None:
            result["failed_at"] = "boot"
            result["log"] = device.log_text()[-400:]
            return result
        result["online_s"] = round(time.monotonic() - t0, 3)
        result["free_after_boot"] = first[0]
        topic = topics.topic(HALL, DEVICE, topics.SESSION)
        idle = idle_message(key)
        result["idle_bytes"] = len(idle)
        pusher.publish(topic, idle, qos=1)  # the idle screen's bitmaps stay on the device
        wire = session_message(key)
        result["session_bytes"] = len(wire)
        time.sleep(0.5)
        if shots is not None:
            device.screenshot(os.path.join(shots, "idle.png"))
        drawn = device.board.panel_version if device.board.panel is not None else None
        sent = time.monotonic()
        pusher.publish(topic, wire, qos=1)
        if voice:  # from the session message to the screen changing, and to the invitation's first sound
            screen = heard = None
            while (screen is None or heard is None) and time.monotonic() - sent < timeout:
                now = time.monotonic()
                if screen is None and device.board.panel_version != drawn:
                    screen = now
                if heard is None and _heard(device) > 0:
                    heard = now
                time.sleep(0.002)  # a 2 ms look, so the two times can be told apart
            result["screen_ms"] = screen and round((screen - sent) * 1000, 1)
            result["voice_start_ms"] = heard and round((heard - sent) * 1000, 1)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - sent)))  # the session screen is drawn
        if shots is not None:
            device.screenshot(os.path.join(shots, "session.png"))
        device.press(1)
        if not _wait(lambda: collector.stats["acked"] >= 1, timeout):
            result["failed_at"] = "rating"
            result["log"] = device.log_text()[-400:]
            return result
        with store.read() as db:
            result["rated_session"] = db.execute(
                "SELECT session_id FROM ratings WHERE device_id = ?", [DEVICE]
            ).fetchone()[0]
        if shots is not None:
            device.screenshot(os.path.join(shots, "thanks.png"))
        if result["rated_session"] != "s-bench-0001":  # rated, but not on the session
            result["failed_at"] = "session"
            result["log"] = device.log_text()[-400:]
            return result
        seen = first[2]
        after = _wait(
            lambda: (lambda r: r if r and r[2] > seen and r[1] == 0 else None)(_status(store)), timeout
        )
        if after is None or not device.running():
            result["failed_at"] = "ack"
            result["log"] = device.log_text()[-400:]
            return result
        for n in range(2, sessions + 1):
            time.sleep(3.5)  # thanks, then idle; past response_interval_ms
            session_id = "s-bench-%04d" % n
            pusher.publish(topic, session_message(key, session_id), qos=1)
            time.sleep(1.0)
            if shots is not None:
                device.screenshot(os.path.join(shots, "session%d.png" % n))
            device.press(2)
            if not _wait(lambda: collector.stats["acked"] >= n, timeout):  # noqa: B023 (called at once)
                result["failed_at"] = "rating %d" % n
                result["log"] = device.log_text()[-400:]
                return result
            with store.read() as db:
                rated = db.execute(
                    "SELECT session_id FROM ratings WHERE device_id = ? ORDER BY seq DESC LIMIT 1", [DEVICE]
                ).fetchone()[0]
            if rated != session_id:
                result["failed_at"] = "session %d" % n
                result["log"] = device.log_text()[-400:]
                return result
        if "Error" in device.log_text():  # e.g. a MemoryError caught in a handler
            result["failed_at"] = "log"
            result["log"] = device.log_text()[-400:]
            return result
        result["free_after_rating"] = after[0]
        if voice:  # what the board's I2S was given (simulator/board/virtual_i2s.py)
            result["heard_samples"] = _heard(device)
        if qstrs:
            try:
                result["qstrs"], result["qstr_pools"] = qstr_count(device, timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as e:  # the rating stands; say why
                result["qstrs"] = result["qstr_pools"] = None
                result["qstrs_error"] = str(e)
        result["ok"] = True
        pusher.loop_stop()
        return result
    finally:
        if device is not None:
            device.stop()
        if collector is not None:
            collector.stop()
        store.close()
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)


def smallest_heap(low_kb=24, high_kb=100, resolution_kb=2, timeout=30, step_kb=8, voice=0):
    """The smallest heap (KB) on which scenario() succeeds, `low_kb` being
    one on which it fails (e.g. the live heap after a rating). Steps up
    `step_kb` at a time from there until a run succeeds, then bisects: the
    answer is usually a few KB above the live heap, so this takes ~4 runs
    where a bisection over the whole range took 6."""
    tried = {}
    probe = low_kb + step_kb
    while probe < high_kb:
        tried[probe] = scenario(probe, timeout, voice=voice)["ok"]
        if tried[probe]:
            high_kb = probe
            break
        low_kb = probe
        probe += step_kb
    while high_kb - low_kb > resolution_kb:
        mid = (low_kb + high_kb) // 2
        tried[mid] = scenario(mid, timeout, voice=voice)["ok"]
        if tried[mid]:
            high_kb = mid
        else:
            low_kb = mid
    return high_kb, tried


def run(resolution_kb=2, timeout=20):
    full = scenario(100, timeout, qstrs=True)
    total = heap_total(100)
    if full["ok"]:
        # The live heap after the rating is a floor: no smaller heap can work.
        live_kb = (total - full["free_after_rating"]) // 1024
        smallest, tried = smallest_heap(max(24, live_kb), 100, resolution_kb, timeout)
    elif scenario(164, timeout)["ok"]:  # 100 KB is not enough: how much is?
        smallest, tried = smallest_heap(100, 164, resolution_kb, timeout)
    else:
        smallest, tried = None, {}
    free_after = full.get("free_after_rating")
    # The same with the voice on (config voice 4, the clips on flash): it
    # plays the invitation with each session and thanks after each rating.
    voiced = scenario(100, timeout, qstrs=True, voice=VOICE_LEVEL)
    voice_peak = None
    if voiced["ok"]:
        voice_peak, _ = smallest_heap(
            max(24, (total - voiced["free_after_rating"]) // 1024),
            100,
            resolution_kb,
            timeout,
            voice=VOICE_LEVEL,
        )
    bare = bare_heap()
    board = board_heap(timeout) - bare
    board_voice = board_heap(timeout, voice=True) - bare
    return {
        "board_heap_voice_bytes": board_voice,
        "heap_total_bytes": total,
        "run": full,
        "board_heap_bytes": board,
        "bare_heap_bytes": bare,
        "after_boot_bytes": total - full["free_after_boot"] if "free_after_boot" in full else None,
        "after_rating_bytes": total - free_after if free_after is not None else None,
        "smallest_heap_kb": smallest,
        "voice_run": voiced,
        "voice_smallest_heap_kb": voice_peak,
        "bisection": tried,
        "resolution_kb": resolution_kb,
    }


def _last_error(log):
    lines = [line for line in log.splitlines() if "Error" in line]
    return lines[-1].strip() if lines else "see the device log"


def _minus(value, board):
    return None if value is None or board is None else value - board


def figures(result):
    r = result["run"]
    voice = result.get("voice_run") or {}
    board = result.get("board_heap_bytes")
    peak = result["smallest_heap_kb"] and result["smallest_heap_kb"] * 1024
    own = (
        "; the firmware's own: the simulator's total minus board_heap_bytes (%s B, the "
        "virtual board's Python that an ESP32 has in C, measured in this run)" % board
    )
    boot_how = (
        "real firmware on the unix port, 100 KB heap (%d bytes usable), ROMFS code: heap "
        "size minus gc.mem_free() after gc.collect() in its first status heartbeat; "
        "64-bit port: a 32-bit one, as an ESP32, needs heap32_ratio of it (bench/heap32.py)"
        % result["heap_total_bytes"]
    )
    rating_how = "as above, from the first heartbeat after a full rating was acked (outbox depth 0)" + (
        ""
        if r["ok"]
        else "; FAILED on 100 KB at the %s step: %s" % (r.get("failed_at"), _last_error(r.get("log", "")))
    )
    peak_how = (
        "smallest -X heapsize (search to %d KB) on which boot + idle message with its "
        "window, staff and QR bitmaps (%d bytes) + session with every bitmap part, a two-line "
        "item name (%d-byte message) + press + signed outbox append + publish + ack still "
        "succeeds: an upper bound of the live peak incl. GC and fragmentation; 64-bit port: "
        "firmware_heap_peak_bytes_32bit is an ESP32's"
        % (result["resolution_kb"], r.get("idle_bytes", 0), r.get("session_bytes", 0))
    )
    return {
        "firmware_heap_after_boot_bytes": figure(
            _minus(result["after_boot_bytes"], board), "bytes", boot_how + own
        ),
        "firmware_heap_after_rating_bytes": figure(
            _minus(result["after_rating_bytes"], board), "bytes", rating_how + own
        ),
        "firmware_heap_peak_bytes": figure(
            _minus(peak, board), "bytes", peak_how + own, target="< 60 KB (61,440 B)"
        ),
        "firmware_heap_peak_bytes_voice": figure(
            _minus(
                result.get("voice_smallest_heap_kb") and result["voice_smallest_heap_kb"] * 1024,
                result.get("board_heap_voice_bytes"),
            ),
            "bytes",
            "as firmware_heap_peak_bytes, with the voice on (config voice %d, hostd's five clips on "
            "flash: the invitation plays with each session, thanks after each rating): firmware/voice.py, "
            "protocol/adpcm.py; hostd's default (device.voice_volume 4); the board's own, its I2S "
            "included, is board_heap_voice_bytes" % VOICE_LEVEL,
            baseline="firmware_heap_peak_bytes",
            target="< 60 KB (61,440 B)",
        ),
        "firmware_heap_after_boot_bytes_voice": figure(
            _minus(
                result["heap_total_bytes"] - voice["free_after_boot"] if "free_after_boot" in voice else None,
                result.get("board_heap_voice_bytes"),
            ),
            "bytes",
            "as firmware_heap_after_boot_bytes, with the voice on",
            baseline="firmware_heap_after_boot_bytes",
        ),
        "voice_start_ms": figure(
            voice.get("voice_start_ms"),
            "ms",
            "the session message published (hostd's broker, loopback) to the invitation's first "
            "samples in the simulated I2S's WAV file; the screen starts changing after "
            "voice_screen_ms of it (the invitation starts once the session screen is drawn)",
            baseline="voice_screen_ms",
        ),
        "voice_screen_ms": figure(
            voice.get("screen_ms"),
            "ms",
            "the same session message to the first bytes of its screen on the simulated panel",
        ),
        "simulator_qstrs_voice": figure(
            voice.get("qstrs"),
            "qstrs",
            "as simulator_qstrs, with the voice on: %s pool blocks" % voice.get("qstr_pools"),
            baseline="simulator_qstrs",
        ),
        "simulator_heap_after_boot_bytes": figure(
            result["after_boot_bytes"], "bytes", boot_how + "; the whole heap, board included"
        ),
        "simulator_heap_after_rating_bytes": figure(
            result["after_rating_bytes"], "bytes", rating_how + "; the whole heap, board included"
        ),
        "simulator_heap_peak_bytes": figure(peak, "bytes", peak_how + "; the whole heap, board included"),
        "board_heap_bytes": figure(
            board,
            "bytes",
            "the same virtual board (ROMs mapped, flash mounted) running a main.py that imports "
            "only machine, network and time, gc.mem_alloc() after gc.collect(), minus the bare "
            "unix port's (micropython -c, %s B): boot.py, blockdev, vboard, the shims; C code "
            "on an ESP32" % result.get("bare_heap_bytes"),
        ),
        "board_heap_voice_bytes": figure(
            result.get("board_heap_voice_bytes"),
            "bytes",
            "as board_heap_bytes, with the board's I2S amplifier made as firmware/voice.py makes it "
            "(simulator/board/virtual_i2s.py: C code on an ESP32)",
            baseline="board_heap_bytes",
        ),
        "simulator_qstrs": figure(
            r.get("qstrs"),
            "qstrs",
            "entries in the qstr pool after the rating (board, console and firmware), "
            "micropython.qstr_info() through mpremote; %s pool blocks; the next block, from "
            "entry %d, takes 8,336 B at once" % (r.get("qstr_pools"), QSTR_BLOCK_END + 1),
            target="<= %d" % QSTR_BLOCK_END,
        ),
        "boot_to_ready_s": figure(
            r.get("ready_s"),
            "s",
            "SimDevice.start() (power-on) to the first bytes of the first screen on the panel, "
            "before any network step; the first heartbeat committed by hostd came after %s s "
            "(firmware_online_s)" % r.get("online_s"),
            baseline="simulator_boot_s",
        ),
        "firmware_online_s": figure(
            r.get("online_s"),
            "s",
            "SimDevice.start() to the first heartbeat committed by hostd (the broker on loopback, "
            "no Wi-Fi join)",
            baseline="simulator_boot_s",
        ),
        "simulator_boot_s": figure(
            r.get("boot_s"),
            "s",
            "SimDevice.start() to the board's 'firmware' event (MicroPython "
            "process up, ROMFS mapped, flash mounted, firmware.main importing); first heartbeat "
            "committed by hostd after %s s" % r.get("online_s"),
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
