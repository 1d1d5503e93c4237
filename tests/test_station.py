"""`hostd device station` end to end: boards appear on serial ports one after
another; each is flashed by the real esptool (the ROM stand-in of
tests/rom_board.py), given the next device id, provisioned through the same
port into a simulator board (the stand-in relays to it after the reset, as a
real board's USB port goes from the ROM to MicroPython), and labelled.

The boards, in order:
  A   good                                      -> st-01, ready
  X   an ESP32-S3 for an ESP32 image            -> refused at flash, no id used
  C   flashes, but MicroPython never answers    -> st-02 kept for its MAC, failed
  C'  the same board (MAC) plugged in again     -> st-02 again (never a second id), ready
st-03 stays free for the next board.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostd_helpers import HostdProcess
from hostd_support import make_home
from PIL import Image
from rom_board import RomBoard
from test_flash import esp_image

from hostd.cli import cli
from hostd.db.store import open_database
from hostd.devices import boards, label, label_sheet, station
from simulator.supervisor import Supervisor

MPREMOTE = str(Path(sys.executable).parent / "mpremote")
MAC_A = (0x24, 0x0A, 0xC4, 0x00, 0x00, 0x0A)
MAC_C = (0x24, 0x0A, 0xC4, 0x00, 0x00, 0x0C)


def hostd(home, *args):
    return CliRunner().invoke(cli, ["--home", str(home.path), *args])


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    work = tmp_path_factory.mktemp("station")
    home = make_home(work / "home", hall="h1")
    for n in (1, 2, 3):
        result = hostd(home, "device", "add", "st-0%d" % n, "--window", "0%d" % n)
        assert result.exit_code == 0, result.output
    daemon = HostdProcess(home)
    sims = [Supervisor(work / ("sim%d" % n), panel=True, firmware="none").start() for n in (1, 2)]
    for sim in sims:
        assert sim.wait_event("ready", 30)
    ports = work / "ports"
    ports.mkdir()
    firmware = esp_image(work / "ESP32_GENERIC-v1.25.0.bin", size=600 * 1024, seed=7)
    lines = []
    bench = station.Station(
        home,
        open_database(home.db_path),
        str(ports / "ttyUSB*"),
        str(firmware),
        labels_dir=work / "labels",
        say=lines.append,
        boot_wait=8,
        heartbeat_timeout=60,
        poll_s=0.2,
    )
    yield {"home": home, "sims": sims, "ports": ports, "firmware": firmware, "station": bench, "lines": lines}
    for sim in sims:
        sim.stop(kill=True)
    daemon.stop()


def plug(bench, name, board, stop_after):
    """Plug `board` in as ports/name, wait until the station has handled it, unplug it."""
    link = bench["ports"] / name
    os.symlink(board.path, link)
    try:
        deadline = time.monotonic() + 240  # a hang guard, not a verdict on speed
        while len(bench["station"].results) < stop_after:
            assert time.monotonic() < deadline, "\n".join(bench["lines"])
            time.sleep(0.2)
    finally:
        link.unlink()
        board.stop()
    return bench["station"].results[-1]


def config_on(sim):
    done = subprocess.run(
        [MPREMOTE, "connect", sim.port, "fs", "cat", ":config.json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(done.stdout) if done.returncode == 0 else None


def test_a_batch_of_boards_through_the_station(bench):
    stop = threading.Event()
    runner = threading.Thread(
        target=bench["station"].run, kwargs={"stop": stop, "boards_max": 4}, daemon=True
    )
    runner.start()
    data = bench["firmware"].read_bytes()
    sim1, sim2 = bench["sims"]
    try:
        board_a = RomBoard("esp32", mac=MAC_A, then=sim1.port)
        a = plug(bench, "ttyUSB0", board_a, 1)
        assert a.ok, "\n".join(bench["lines"])
        assert (a.device_id, a.window, a.mac) == ("st-01", "01", "24:0a:c4:00:00:0a")
        assert board_a.read(0x1000, len(data)) == data

        x = plug(bench, "ttyUSB1", RomBoard("esp32s3"), 2)
        assert not x.ok and x.device_id is None and "is an ESP32-S3" in x.detail

        board_c = RomBoard("esp32", mac=MAC_C)  # nothing boots after the reset
        c = plug(bench, "ttyUSB2", board_c, 3)
        assert not c.ok and c.device_id == "st-02" and c.detail.startswith("provision: ")
        assert "MicroPython did not start within 8 s" in c.detail
        assert "plug it in again to retry as st-02" in c.detail

        board_c2 = RomBoard("esp32", mac=MAC_C, then=sim2.port)
        c2 = plug(bench, "ttyUSB3", board_c2, 4)  # another socket of the hub
        assert c2.ok and c2.device_id == "st-02" and c2.window == "02", "\n".join(bench["lines"])
        assert board_c2.read(0x1000, len(data)) == data
    finally:
        stop.set()
        runner.join(30)
    print("\n".join(bench["lines"]))
    for r in bench["station"].results:
        print(
            "board %s: %.1f s from plug-in to label (%s)"
            % (r.device_id, r.seconds, "ok" if r.ok else "failed")
        )

    summary = [station.line(r) for r in bench["station"].results]
    assert all(s in bench["lines"] for s in summary)
    assert summary[0].startswith("st-01        01       24:0a:c4:00:00:0a ok")
    assert summary[1].startswith("-            -        -                 FAILED  flash: ")

    db = open_database(bench["home"].db_path)
    states = {r["device_id"]: r["state"] for r in db.query("SELECT device_id, state FROM fleet")}
    assert states["st-01"] == "online" and states["st-02"] == "online"  # before mpremote stops them
    assert config_on(sim1)["device_id"] == "st-01"
    assert config_on(sim2)["device_id"] == "st-02"
    rows = {r["mac"]: (r["device_id"], r["result"]) for r in boards.listing(db)}
    assert rows == {"24:0a:c4:00:00:0a": ("st-01", "ok"), "24:0a:c4:00:00:0c": ("st-02", "ok")}
    assert boards.unassigned(db) == ["st-03"]

    labels = Path(bench["station"].labels_dir)
    assert sorted(p.name for p in labels.glob("*.png")) == ["st-01.png", "st-02.png"]
    png = Image.open(labels / "st-02.png")
    assert png.size == label.SIZE and png.mode == "1"
    pdf = (labels / station.SHEET).read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 1


def test_the_sheet_places_each_label_in_its_slot():
    first = label.render("st-01", "h1", "01")
    second = label.render("st-02", "h1", "02")
    pages = label_sheet.pages([first, second] * 13)  # 26 labels: two A4 pages
    assert len(pages) == 2 and pages[0].size == label_sheet.PAGE
    w, h = label.SIZE
    left, top = label_sheet.slot(1)
    assert pages[0].crop((left, top, left + w, top + h)).tobytes() == second.tobytes()
    left, top = label_sheet.slot(24)  # the first slot of page two
    assert (left, top) == label_sheet.slot(0)
    assert pages[1].crop((left, top, left + w, top + h)).tobytes() == first.tobytes()
    right = label_sheet.slot(2)[0] + w
    assert right < label_sheet.PAGE[0] - 100  # inside a printer's margins


def test_a_board_keeps_the_id_it_was_given(tmp_path):
    home = make_home(tmp_path / "home")
    for n in (1, 2):
        assert hostd(home, "device", "add", "b-0%d" % n, "--window", str(n)).exit_code == 0
    db = open_database(home.db_path)
    assert boards.unassigned(db) == ["b-01", "b-02"]
    assert boards.claim(db, "aa:01", "b-01", "esp32") == "b-01"
    assert boards.unassigned(db) == ["b-02"]
    assert boards.claim(db, "aa:01", "b-02", "esp32") == "b-01"  # the same board comes back
    assert boards.unassigned(db, ["b-02", "b-01"]) == ["b-02"]
    boards.record(db, "aa:01", "failed: no MicroPython")
    assert boards.listing(db)[0]["result"] == "failed: no MicroPython"


def test_the_station_command_refuses_an_unknown_id_before_any_board(tmp_path):
    home = make_home(tmp_path / "home")
    firmware = esp_image(tmp_path / "fw.bin")
    result = hostd(
        home,
        "device",
        "station",
        "--ports",
        str(tmp_path / "tty*"),
        "--firmware",
        str(firmware),
        "--ids",
        "ghost",
    )
    assert result.exit_code != 0 and result.output.strip().splitlines()[-1].startswith(
        "Error: no device 'ghost'"
    )
