"""Shared fixtures: real MicroPython, real Mosquitto on a free loopback port."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MICROPYTHON = str(BIN / "micropython")
HEAP = "100K"  # a plain ESP32's free heap


def micropython_env():
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([str(ROOT), str(ROOT / "tests" / "mpy"), ".frozen"])
    return env


def run_micropython(script, *args, timeout=120, heap=HEAP, cwd=None, check=True):
    """Run a MicroPython script (a path, or source text) on the unix port."""
    if isinstance(script, str) and "\n" in script:
        cmd = [MICROPYTHON, "-X", f"heapsize={heap}", "-c", script, *args]
    else:
        cmd = [MICROPYTHON, "-X", f"heapsize={heap}", str(script), *args]
    proc = subprocess.run(
        cmd, env=micropython_env(), cwd=cwd, timeout=timeout,
        capture_output=True, text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"micropython exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            pytest.fail("mosquitto is not installed: run `make install` as root "
                        "or `sudo apt-get install -y mosquitto`")
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
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)],
                                     stdout=self.log, stderr=self.log)
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
