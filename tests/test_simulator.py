"""The serial simulator (`python -m simulator`) as a developer and `mpremote` see it.

One simulator process runs for the whole module: the real firmware on the
MicroPython unix port, a real Mosquitto, and the real `mpremote` talking to
the simulator's pseudo-terminal. The tests run in file order: the first ones
need the firmware running; the mpremote ones leave it at the REPL, as on a
real board.
"""

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import serial
from PIL import Image

from conftest import Mosquitto
from protocol import messages
from simulator.device import SimDevice

MPREMOTE = str(Path(sys.executable).parent / "mpremote")
KEY = "5a" * 32
DEVICE, HALL = "sim01", "h1"


class Sim:
    """`python -m simulator --stdin` with its output collected line by line."""

    def __init__(self, flash):
        self.lines, self.errors = [], []
        self.cond = threading.Condition()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--flash", str(flash), "--stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._collect, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._collect, args=(self.proc.stderr, self.errors), daemon=True).start()

    def _collect(self, stream, into):
        for line in stream:
            with self.cond:
                into.append((time.monotonic() - self.t0, line.rstrip("\n")))
                self.cond.notify_all()

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait_line(self, pattern, count=1, timeout=20, into=None):
        """The `count`-th line matching `pattern` as (seconds since start, text)."""
        into = self.lines if into is None else into
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [entry for entry in into if re.search(pattern, entry[1])]
                if len(hits) >= count:
                    return hits[count - 1]
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(f"no line {pattern!r} (#{count}); got {self.lines} {self.errors}")
                self.cond.wait(0.2)

    def count(self, pattern):
        with self.cond:
            return sum(1 for _, text in self.lines if re.search(pattern, text))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("sim")
    broker = Mosquitto(work).start()
    flash = work / "flash"
    SimDevice(flash).write_config(
        {
            "device_id": DEVICE,
            "hall": HALL,
            "window": "07",
            "key": KEY,
            "broker_host": "127.0.0.1",
            "broker_port": broker.port,
            "heartbeat_s": 5,
        }
    )
    got = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: got.append((m.topic, m.payload))
    client.connect("127.0.0.1", broker.port)
    client.subscribe("hcp/v1/#", 1)
    client.loop_start()
    sim = Sim(flash)
    yield {"sim": sim, "work": work, "mqtt": client, "got": got}
    if sim.proc.poll() is None:
        sim.proc.kill()
    sim.proc.wait()
    client.loop_stop()
    broker.stop()


def mpremote(port, *args, timeout=30):
    return subprocess.run([MPREMOTE, "connect", port, *args], capture_output=True, text=True, timeout=timeout)


def port_of(world):
    return world["sim"].wait_line(r"^serial: ")[1].split()[1]


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def read_until(port, needle, timeout=10):
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        data += port.read(256)
    return data


def test_boot_prints_the_serial_port_then_runs_the_firmware(world):
    sim = world["sim"]
    at, line = sim.wait_line(r"^serial: ")
    assert re.fullmatch(r"serial: /dev/pts/\d+", line)
    running_at, _ = sim.wait_line(r"^device: firmware running")
    print(f"boot: serial line after {at:.2f} s, firmware running after {running_at:.2f} s")
    assert at < 15


def test_a_press_from_the_script_shows_the_thanks_screen(world):
    sim, got = world["sim"], world["got"]
    status = f"hcp/v1/{HALL}/{DEVICE}/status"
    assert wait_for(lambda: any(t == status and b'"online"' in p for t, p in got), 15), got
    session = messages.sign(
        bytes.fromhex(KEY),
        [
            messages.VERSION,
            messages.SESSION,
            DEVICE,
            "sess-1",
            "A001",
            "户口迁移",
            "s1",
            "张三",
            "0042",
            1,
            120,
            "https://example.org/q",
            int(time.time()),
            [],
        ],
    )
    world["mqtt"].publish(f"hcp/v1/{HALL}/{DEVICE}/session", session, 1)
    time.sleep(0.8)  # the session screen is drawn
    shot = world["work"] / "thanks.png"
    rating = f"hcp/v1/{HALL}/{DEVICE}/rating"
    sim.send("press 1\n")
    # The rating is on flash before the thanks screen shows, and goes out at
    # once: once it has arrived, the thanks screen is up (for thanks_ms).
    assert wait_for(lambda: any(t == rating for t, _ in got), 15), got
    sim.send(f"screenshot {shot}\n")
    sim.wait_line(r"^screenshot ")
    image = Image.open(shot).convert("RGB")
    assert image.size == (320, 240)
    assert image.getpixel((4, 4)) == (255, 255, 255)
    # 谢谢您的评价 in black on white, nothing else: no level shown (回避式)
    assert {c for _n, c in image.getcolors(65536)} == {(255, 255, 255), (0, 0, 0)}
    assert sum(1 for y in range(88, 120) for x in range(64, 256) if image.getpixel((x, y)) == (0, 0, 0)) > 300
    fields = json.loads([p for t, p in got if t == rating][0])
    assert fields[5] == 5  # level 5: 非常满意, the leftmost button


def test_ctrl_c_interrupts_the_firmware_into_the_friendly_repl(world):
    with serial.Serial(port_of(world), timeout=0.1) as port:
        port.write(b"\x03")
        out = read_until(port, b">>> ")
        assert b"KeyboardInterrupt" in out and out.endswith(b">>> "), out
        port.write(b"6 * 7\r")
        assert b"6 * 7\r\n42\r\n>>> " in read_until(port, b"42\r\n>>> ")


def test_ctrl_d_at_the_repl_soft_resets_and_the_firmware_starts_again(world):
    sim = world["sim"]
    before = sim.count(r"^device: firmware running")
    with serial.Serial(port_of(world), timeout=0.1) as port:
        port.write(b"\r")
        read_until(port, b">>> ")
        port.write(b"\x04")
        out = read_until(port, b"firmware starting")
        assert b"MPY: soft reboot\r\n" in out and b"firmware starting" in out, out
    sim.wait_line(r"^device: firmware running", count=before + 1)


def test_mpremote_lists_the_flash(world):
    done = mpremote(port_of(world), "fs", "ls")
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ config\.json", done.stdout), done.stdout
    assert re.search(r"\d+ outbox", done.stdout) or "outbox" in done.stdout


def test_mpremote_copies_files_in_and_out_byte_identical(world):
    port, work = port_of(world), world["work"]
    binary = work / "all-bytes.bin"
    binary.write_bytes(bytes(range(256)) * 9 + b"\r\n\x03\x04\x01\x05A\x01")  # framing bytes too
    text = work / "note.txt"
    text.write_text("窗口 07\nline two\r\n")
    for source in (binary, text):
        done = mpremote(port, "fs", "cp", str(source), ":" + source.name)
        assert done.returncode == 0, done.stderr
        back = work / (source.name + ".back")
        done = mpremote(port, "fs", "cp", ":" + source.name, str(back))
        assert done.returncode == 0, done.stderr
        assert back.read_bytes() == source.read_bytes()


def test_mpremote_exec(world):
    done = mpremote(port_of(world), "exec", "print(1+1)")
    assert done.returncode == 0 and done.stdout.strip() == "2", (done.stdout, done.stderr)


def test_a_missing_file_is_enoent(world):
    port = port_of(world)
    done = mpremote(port, "fs", "cat", "missing")
    assert done.returncode == 1
    assert "No such file or directory" in done.stderr  # mpremote's words for errno 2
    done = mpremote(port, "exec", "open('missing')")
    assert done.returncode == 1
    assert "OSError: [Errno 2] ENOENT" in done.stdout + done.stderr


def test_mpremote_soft_reset_reboots_the_board(world):
    sim = world["sim"]
    before = sim.count(r"^device: boot ")
    done = mpremote(port_of(world), "soft-reset")
    assert done.returncode == 0, done.stderr
    sim.wait_line(r"^device: boot raw", count=1)
    assert sim.count(r"^device: boot ") == before + 1
    done = mpremote(port_of(world), "resume", "exec", "import os; print(os.getcwd())")
    assert done.returncode == 0 and done.stdout.strip() == "/flash", (done.stdout, done.stderr)


def test_a_bad_script_line_gets_one_line_of_error(world):
    sim = world["sim"]
    sim.send("press 9\n")
    at, line = sim.wait_line(r"press 9", into=sim.errors)
    assert line.startswith("simulator: line ") and "press 1-5" in line
    assert not any("Traceback" in text for _, text in sim.errors)
    assert sim.proc.poll() is None


def test_power_cut_boots_again_with_the_flash_kept(world):
    sim, work = world["sim"], world["work"]
    readies = sim.count(r"^device: console up")
    sim.send("power-cut\n")
    sim.wait_line(r"^power cut")
    sim.wait_line(r"^device: console up", count=readies + 1)
    back = work / "after-cut.bin"
    done = mpremote(port_of(world), "fs", "cp", ":all-bytes.bin", str(back))
    assert done.returncode == 0, done.stderr
    assert back.read_bytes() == (work / "all-bytes.bin").read_bytes()
    done = mpremote(port_of(world), "fs", "ls")
    assert "config.json" in done.stdout


def test_wifi_and_freeze_lines_are_understood(world):
    """The script's Wi-Fi and freeze lines reach the board (their effects on the
    firmware are tested in tests/test_recovery.py)."""
    sim = world["sim"]
    sim.send("wifi down\nwifi up\nfreeze\nwifi sideways\n")
    sim.wait_line(r"^Wi-Fi down$")
    sim.wait_line(r"^Wi-Fi up$")
    sim.wait_line(r"^loop frozen; the watchdog resets the board$")
    at, line = sim.wait_line(r"wifi sideways", into=sim.errors)
    assert "wifi down|up" in line


def test_quit_ends_the_simulator(world):
    sim = world["sim"]
    sim.send("quit\n")
    assert sim.proc.wait(10) == 0
