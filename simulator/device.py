"""One simulated 评价器 as seen from CPython: the real firmware in a MicroPython process.

The firmware runs unchanged on the MicroPython unix port (100 KB heap) over
the virtual board in simulator/board/: littlefs flash in a host file, five
buttons, the SPI display stream, and a serial console on a pseudo-terminal
that `mpremote` opens like a real board's port. simulator/supervisor.py does
the work; this class starts and stops it, presses buttons, cuts power, and
reads the flash while the device is off.
"""

import json
import subprocess
import time
from pathlib import Path

from simulator import build
from simulator.supervisor import BOARD, HEAP, SPEAKER_FILE, Supervisor, micropython_command, micropython_env  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
FLASH_BLOCKS = 512  # as simulator/board/boot.py mounts it


class FlashScriptError(RuntimeError):
    pass


class SimDevice:
    def __init__(self, flash_dir, name="device", firmware="auto", heap=None):
        self.firmware = firmware  # "auto": preload the repo's firmware (simulator/build.py preload_firmware)
        self.heap = heap  # -X heapsize, e.g. "100K"; None: the board's (100 KB, a plain ESP32)
        self.flash_dir = Path(flash_dir)
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.image = self.flash_dir / "flash.img"
        self.spi_stream = self.flash_dir / "panel.spi"
        self.log_path = self.flash_dir / "device.log"
        self.name = name
        self.board = None

    # -- the flash, while the device is off -------------------------------
    def run_on_flash(self, code, timeout=60):
        """Run MicroPython `code` with the flash mounted at /flash (cwd); return stdout."""
        script = (
            "import os, blockdev\n"
            f"blockdev.mount({self.image.name!r}, '/flash', block_count={FLASH_BLOCKS})\n"
            "os.chdir('/flash')\n" + code
        )
        if self.running():
            raise FlashScriptError("the device is running; stop it before touching its flash")
        # A file, not -c: the unix port aborts on arguments of 256 bytes or more.
        # boot.py (simulator/launch.py) maps the ROMs, then runs it as the main program.
        (self.flash_dir / "flash_script.py").write_text(script)
        proc = subprocess.run(
            micropython_command(build.firmware_image(), HEAP, "-m", "flash_script"),  # the repo's firmware
            env=micropython_env(),
            cwd=self.flash_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip() or "failed").splitlines()[-1]
            raise FlashScriptError(detail)
        return proc.stdout

    def write_config(self, values):
        text = json.dumps(values)
        self.run_on_flash(f"from firmware import config\nimport json\nconfig.save(json.loads({text!r}))\n")

    def write_files(self, files):
        """Put {name: bytes} on the flash (what `hostd device provision` copies,
        e.g. the voice clips), copied from host files a chunk at a time."""
        staging = self.flash_dir / "upload"
        staging.mkdir(exist_ok=True)
        code = ["def _copy(src, dst):", "    i, o = open(src, 'rb'), open(dst, 'wb')", "    while True:",
                "        b = i.read(2048)", "        if not b:", "            break", "        o.write(b)",
                "    i.close()", "    o.close()"]  # fmt: skip
        for name, data in files.items():
            (staging / name).write_bytes(bytes(data))
            code.append("_copy(%r, %r)" % (str((staging / name).resolve()), name))
        self.run_on_flash("\n".join(code) + "\n")

    def outbox_state(self):
        """{'depth': n, 'next_seq': s} of the device's flash outbox."""
        out = self.run_on_flash(
            "from firmware.outbox import Outbox\nimport json\n"
            "o = Outbox('outbox')\nprint(json.dumps({'depth': o.depth(), 'next_seq': o.next_seq}))\n"
        )
        return json.loads(out.strip().splitlines()[-1])

    # -- power ------------------------------------------------------------
    def start(self, record_panel=False, ap_up=True, ap_password=None):
        """Power on. With `record_panel` the panel is decoded (screenshot()) and its
        SPI stream also goes to the file `spi_stream`. `ap_up`, `ap_password`:
        the hall's Wi-Fi access point (Supervisor.wifi() changes it later)."""
        self.board = Supervisor(
            self.flash_dir,
            log_path=self.log_path,
            panel=record_panel,
            spi_file=self.spi_stream if record_panel else None,
            firmware=self.firmware,
            **({"heap": self.heap} if self.heap else {}),
        )
        self.board.ap_up, self.board.ap_password = ap_up, ap_password
        self.board.start()
        return self

    @property
    def proc(self):
        return self.board.proc if self.board is not None else None

    @property
    def port(self):
        """The serial console, /dev/pts/N, for `mpremote connect`."""
        return self.board.port if self.board is not None else None

    def running(self):
        return self.board is not None and self.board.running()

    def wait_ready(self, timeout=20):
        """Wait until the console is up (the flash is mounted); True if it is."""
        return self.board is not None and self.board.wait_event("ready", timeout)

    def press(self, button, hold_ms=None):
        """Press button 1..5, counted from the left (1 = 非常满意); with
        `hold_ms`, hold it down that long (1.5 s or more: a long press)."""
        if not 1 <= button <= 5:
            raise ValueError("buttons are numbered 1 to 5 from the left")
        self.board.press(button, hold_ms)

    @property
    def speaker(self):
        """The WAV file the board's I2S amplifier plays into (this power-on's)."""
        return self.flash_dir / SPEAKER_FILE

    def inject_fault(self):
        """Make the board's next button read raise MemoryError, once: what a
        fragmented heap does to a real board at the worst moment."""
        return self.board.control("fault")

    def screenshot(self, path):
        """Save the panel as it is now to a PNG (needs start(record_panel=True))."""
        return self.board.screenshot(path)

    def power_cut(self):
        """SIGKILL the device and leave it off (start() switches it on again)."""
        if self.board is not None:
            self.board.stop(kill=True)
        self.board = None

    def stop(self, timeout=5):
        if self.board is not None:
            self.board.stop()
        self.board = None

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
