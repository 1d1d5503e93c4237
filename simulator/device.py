"""One simulated 评价器 as seen from CPython: the real firmware in a MicroPython process.

The firmware runs unchanged on the MicroPython unix port (100 KB heap) over
the virtual board in simulator/board/: littlefs flash in a host file, five
buttons, the SPI display stream. This class starts and stops that process,
presses buttons, cuts power, and reads the flash while the device is off.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from simulator import build

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "simulator" / "board"
HEAP = "100K"
FLASH_BLOCKS = 512  # as simulator/board/boot.py mounts it


def micropython_command():
    """The unix port with the firmware's ROMFS image mapped (simulator/launch.py)."""
    return [sys.executable, "-m", "simulator.launch", str(build.romfs()), "-X", f"heapsize={HEAP}"]


def micropython_env():
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{BOARD}:.frozen"
    env["PYTHONPATH"] = str(ROOT)
    return env


class FlashScriptError(RuntimeError):
    pass


class SimDevice:
    def __init__(self, flash_dir, name="device"):
        self.flash_dir = Path(flash_dir)
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.image = self.flash_dir / "flash.img"
        self.spi_stream = self.flash_dir / "panel.spi"
        self.log_path = self.flash_dir / "device.log"
        self.name = name
        self.proc = None

    # -- the flash, while the device is off -------------------------------
    def run_on_flash(self, code, timeout=60):
        """Run MicroPython `code` with the flash mounted at /flash (cwd); return stdout."""
        script = (
            "import boot, os, blockdev\n"
            f"blockdev.mount({str(self.image)!r}, '/flash', block_count={FLASH_BLOCKS})\n"
            "os.chdir('/flash')\n" + code
        )
        if self.running():
            raise FlashScriptError("the device is running; stop it before touching its flash")
        # A file, not -c: the unix port aborts on arguments of 256 bytes or more.
        path = self.flash_dir / "flash-script.py"
        path.write_text(script)
        proc = subprocess.run(
            [*micropython_command(), str(path)],
            env=micropython_env(), capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip() or "failed").splitlines()[-1]
            raise FlashScriptError(detail)
        return proc.stdout

    def write_config(self, values):
        text = json.dumps(values)
        self.run_on_flash(f"from firmware import config\nimport json\nconfig.save(json.loads({text!r}))\n")

    def outbox_state(self):
        """{'depth': n, 'next_seq': s} of the device's flash outbox."""
        out = self.run_on_flash(
            "from firmware.outbox import Outbox\nimport json\n"
            "o = Outbox('outbox')\nprint(json.dumps({'depth': o.depth(), 'next_seq': o.next_seq}))\n"
        )
        return json.loads(out.strip().splitlines()[-1])

    # -- power ------------------------------------------------------------
    def start(self, record_panel=False):
        args = [*micropython_command(), str(BOARD / "boot.py"), str(self.image)]
        if record_panel:
            args.append(str(self.spi_stream))
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=micropython_env(), stdin=subprocess.PIPE,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=self.flash_dir)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def press(self, button):
        """Press button 1..5, counted from the left (1 = 非常满意)."""
        if not 1 <= button <= 5:
            raise ValueError("buttons are numbered 1 to 5 from the left")
        self.proc.stdin.write(f"press {button}\n".encode())
        self.proc.stdin.flush()

    def power_cut(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self, timeout=5):
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            if not self.running():
                break
            time.sleep(0.05)
        return False
