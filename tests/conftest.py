"""Shared fixtures: real MicroPython, real Mosquitto on a free loopback port."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from simulator import build, launch

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MPY = ROOT / "tests" / "mpy"
HEAP = launch.HEAP  # a plain ESP32's free heap
MARGIN_FLOOR = 4096  # bytes a heap-sensitive test program must leave free
MARGIN_LINE = "heap-margin:"  # tests/mpy/heap_margin.py report()
_images = {}


def scripts_image():
    """The firmware and tests/mpy/*.py as one ROMFS image (simulator/build.py)."""
    if "scripts" not in _images:
        _images["scripts"] = build.script_image(MPY, ROOT / "build" / "tests")
    return _images["scripts"]


def micropython_env():
    return launch.environment()


def micropython_command(program, *args, heap=HEAP):
    """The command that runs tests/mpy/`program`.py as on a board: the
    firmware and the test programs from a ROMFS image, boot.py by its bare
    name (simulator/launch.py). Run it in the folder that holds the files
    it names, and name them relatively (`board_args`)."""
    return launch.command(scripts_image(), heap, "-m", program, *args)


def start_micropython(program, *args, cwd, heap=HEAP, **popen):
    """Start tests/mpy/`program`.py (a name) as on a board, in `cwd` (a
    folder of the test's own: boot.py is copied there); a Popen."""
    return subprocess.Popen(
        micropython_command(program, *board_args(args, cwd), heap=heap),
        env=micropython_env(),
        cwd=cwd,
        **popen,
    )


def board_args(args, cwd):
    """`args` as the board gets them: a path under `cwd` by its relative
    name, a file elsewhere linked into `cwd` by its own name, so that no
    host folder's name enters the heap."""
    out = []
    for arg in args:
        if isinstance(arg, Path) or (isinstance(arg, str) and arg.startswith("/")):
            path = Path(arg)
            try:
                arg = str(path.relative_to(cwd)) or "."
            except ValueError:
                link = Path(cwd) / path.name
                if not link.exists():
                    link.symlink_to(path.resolve())
                arg = path.name
        out.append(str(arg))
    return out


def _program(script, cwd):
    """The module name that boot.py -m runs: a tests/mpy program by its name,
    or source text written into `cwd` as snippet.py."""
    if _is_source(script):
        (Path(cwd) / "snippet.py").write_text(script)
        return "snippet"
    path = Path(script)
    if not path.is_absolute():
        path = ROOT / path
    if path.parent.resolve() != MPY.resolve():
        raise ValueError("%s: MicroPython test programs live in tests/mpy" % script)
    return path.stem


def check_margin(proc, what, heap=HEAP, enforce=True):
    """Take the heap-margin line out of proc.stdout (its figure in
    proc.margin); fail, with the figure, when the program ran out of heap or
    left less than MARGIN_FLOOR free."""
    lines = proc.stdout.splitlines(keepends=True)
    margins = [int(line.split()[1]) for line in lines if line.startswith(MARGIN_LINE)]
    proc.stdout = "".join(line for line in lines if not line.startswith(MARGIN_LINE))
    proc.margin = margins[-1] if margins else None
    if not enforce:
        return proc
    if proc.returncode != 0 and "MemoryError" in proc.stdout + proc.stderr:
        raise AssertionError("%s ran out of its %s heap\n%s" % (what, heap, proc.stderr[-2000:]))
    if proc.margin is not None and proc.margin < MARGIN_FLOOR:
        raise AssertionError(
            "%s left %d B of its %s heap free at its tightest point, under the %d B "
            "floor: the firmware grew toward the heap's edge" % (what, proc.margin, heap, MARGIN_FLOOR)
        )
    return proc


def run_micropython(script, *args, timeout=120, heap=HEAP, cwd=None, check=True):
    """Run a MicroPython test program (a tests/mpy path, or source text) on
    the unix port, as on a board (`micropython_command`).

    The working folder is `cwd`, else the folder of the first path among
    `args` (outside the checkout), else a scratch folder. The result's `margin` is the heap the
    program reported free at its tightest point (tests/mpy/heap_margin.py)."""
    with tempfile.TemporaryDirectory(prefix="mpy-") as scratch:
        if cwd is None:
            cwd = _working_folder(args, scratch)
        cmd = micropython_command(_program(script, cwd), *board_args(args, cwd), heap=heap)
        proc = subprocess.run(
            cmd, env=micropython_env(), cwd=cwd, timeout=timeout, capture_output=True, text=True
        )
    check_margin(proc, "the program" if _is_source(script) else Path(script).name, heap, check)
    if check:
        if proc.returncode != 0:
            raise AssertionError(
                f"micropython exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
    return proc


def _working_folder(args, scratch):
    """The folder of the first path among `args` (the path itself if it is a
    folder), unless that lies in the checkout: boot.py is copied into the
    working folder, and the checkout gets none."""
    for arg in args:
        if isinstance(arg, Path) or str(arg).startswith("/"):
            path = Path(arg)
            folder = path if path.is_dir() else path.parent
            if not folder.resolve().is_relative_to(ROOT):
                return folder
            break
    return scratch


def _is_source(script):
    return isinstance(script, str) and "\n" in script


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count):
    """`count` distinct free ports: each socket stays bound until all are
    chosen, so two calls of free_port() in a row cannot hand out one port twice."""
    held = []
    try:
        for _ in range(count):
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def mosquitto_binary():
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )


class Mosquitto:
    """A real Mosquitto on a free loopback port with a generated config."""

    def __init__(self, workdir, extra_config=""):
        binary = mosquitto_binary()
        if binary is None:
            pytest.fail(
                "mosquitto is not installed: run `make install` as root "
                "or `sudo apt-get install -y mosquitto`"
            )
        self.binary = binary
        self.port = free_port()
        self.workdir = Path(workdir)
        self.config = self.workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence false\nlog_dest stderr\nset_tcp_nodelay true\n{extra_config}"
        )
        self.proc = None

    def start(self):
        self.log = open(self.workdir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=self.log, stderr=self.log)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path).start()
    yield broker
    broker.stop()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Headless Chromium (Debian's, through Playwright) for the page tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("%s is missing: run `make install` (scripts/system-deps.sh installs chromium)" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
