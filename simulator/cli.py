"""`python -m simulator`: one virtual 评价器 with a serial port, buttons and a screen.

    python -m simulator [--flash DIR] [--stdin] [--firmware auto|none]
    python -m simulator fleet --devices N --home HOSTD_HOME

Prints `serial: /dev/pts/N` once the console is up; `mpremote connect` that
port as a real board's. Presses come from the keyboard (keys 1-5, counted
from the left: 1 = 非常满意; p power cut, w Wi-Fi down/up, f freeze the
loop, s screenshot, q quit) or, with --stdin, from a line script:

    press 1 .. press 5     wait SECONDS     power-cut
    wifi down|up           freeze           screenshot PATH.png
    quit                   # a comment

`wifi down` takes the hall's access point away (the device, when its config
names a Wi-Fi network, shows 离线 and why, keeps ratings on flash, and
rejoins when `wifi up` brings it back); `freeze` hangs the firmware's loop
until the hardware watchdog resets the board.

In a terminal the screen is drawn live; otherwise events are printed.
"""

import argparse
import os
import select
import signal
import sys
import threading
import time
from pathlib import Path

from simulator.supervisor import Supervisor

USAGE = "use: press 1-5, wait SECONDS, power-cut, wifi down|up, freeze, screenshot PATH.png, quit"
SETTLE_S = 0.15  # the panel counts as drawn when no SPI bytes came for this long


class Session:
    """The running simulator: one Supervisor, and what the user sees of it."""

    def __init__(self, flash, draw, firmware="auto"):
        self.draw = draw
        self.status = ""
        self.board = Supervisor(flash, on_event=self._event, firmware=firmware)
        self.shots = 0
        self._drawn = -1
        self._quit = threading.Event()

    def _event(self, word):
        text = {"ready": "console up", "firmware": "firmware running", "repl": "at the REPL"}.get(word, word)
        if self.draw:
            self.status = text
        else:
            say(f"device: {text}")

    def start(self, timeout=60):
        self.board.start()
        if not self.board.wait_event("ready", timeout):
            raise SystemExit("simulator: the device did not boot; see " + str(self.board.log_path))
        say(f"serial: {self.board.port}")

    # -- commands ---------------------------------------------------------
    def press(self, n):
        self.board.press(n)
        if not self.draw:
            say(f"pressed {n}")

    def power_cut(self):
        if not self.draw:
            say("power cut; booting again from the same flash")
        since = self.board.power_cycle()
        self.board.wait_event("ready", 30, since=since)

    def wifi(self, up):
        self.board.wifi(up=up)
        if not self.draw:
            say("Wi-Fi %s" % ("up" if up else "down"))

    def screenshot(self, path):
        self.settle()
        path = Path(path)
        if path.parent and not path.parent.is_dir():
            raise ValueError(f"no directory {path.parent} for the screenshot")
        self.board.screenshot(path)
        if not self.draw:
            say(f"screenshot {path}")

    def settle(self, limit=3.0):
        """Wait until the panel has been quiet for SETTLE_S (at most `limit` seconds)."""
        deadline = time.monotonic() + limit
        version = self.board.panel_version
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self.board.panel_version != version:
                version = self.board.panel_version
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= SETTLE_S:
                return

    def run_line(self, line):
        """Run one script line; False on `quit`. Raises ValueError on a bad line."""
        words = line.split("#", 1)[0].split()
        if not words:
            return True
        cmd, args = words[0], words[1:]
        if cmd == "press" and len(args) == 1 and args[0] in ("1", "2", "3", "4", "5"):
            self.press(int(args[0]))
        elif cmd == "wait" and len(args) == 1 and _seconds(args[0]) is not None:
            self._quit.wait(_seconds(args[0]))
        elif cmd == "power-cut" and not args:
            self.power_cut()
        elif cmd == "wifi" and args in (["down"], ["up"]):
            self.wifi(args[0] == "up")
        elif cmd == "freeze" and not args:
            self.board.freeze()
            if not self.draw:
                say("loop frozen; the watchdog resets the board")
        elif cmd == "screenshot" and len(args) == 1 and args[0].lower().endswith(".png"):
            self.screenshot(args[0])
        elif cmd == "quit" and not args:
            return False
        else:
            raise ValueError(f"cannot understand {line.strip()!r}; {USAGE}")
        return True

    # -- the screen -------------------------------------------------------
    def redraw(self, force=False):
        from simulator import screen

        version = self.board.panel_version
        if not force and version == self._drawn:
            return
        self._drawn = version
        with self.board._lock:
            image = self.board.panel.image()
        status = (
            f"serial {self.board.port} | {self.status} | keys 1-5 press, p power cut, w Wi-Fi, f freeze, "
            "s screenshot, q quit"
        )
        sys.stdout.write(screen.frame(image, status[:200]))
        sys.stdout.flush()

    def draw_loop(self):
        while not self._quit.wait(0.1):
            self.redraw()

    def stop(self):
        self._quit.set()
        self.board.stop()


def say(text):
    print(text, flush=True)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 86400 else None


def run_script(session, stream):
    for number, line in enumerate(stream, 1):
        try:
            if not session.run_line(line):
                return
        except (ValueError, OSError) as e:
            print(f"simulator: line {number}: {e}", file=sys.stderr, flush=True)


def run_keys(session):
    """Keys from the terminal until q (the terminal is in cbreak mode meanwhile)."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            key = os.read(fd, 1).decode(errors="replace")
            if key in "12345" and key:
                session.press(int(key))
            elif key == "p":
                session.power_cut()
            elif key == "w":
                session.wifi(not session.board.ap_up)
            elif key == "f":
                session.board.freeze()
            elif key == "s":
                session.shots += 1
                path = session.board.flash_dir / f"screenshot-{session.shots}.png"
                session.screenshot(path)
                session.status = f"saved {path}"
            elif key in ("q", ""):
                return
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fleet"]:
        from simulator import fleet

        return fleet.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--flash", default="sim-flash", help="directory of the flash image (kept across runs)"
    )
    parser.add_argument("--stdin", action="store_true", help="read a press script from stdin")
    parser.add_argument(
        "--firmware",
        choices=("auto", "none"),
        default="auto",
        help="auto: a device with no firmware of its own gets the repo's (developer "
        "shortcut); none: a blank board with MicroPython only, to provision "
        "with `hostd device provision`",
    )
    args = parser.parse_args(argv)
    draw = sys.stdout.isatty()
    session = Session(args.flash, draw, args.firmware)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        session.start()
        if draw:
            sys.stdout.write("\x1b[2J")
            threading.Thread(target=session.draw_loop, daemon=True).start()
        if args.stdin:
            run_script(session, sys.stdin)
        elif sys.stdin.isatty():
            run_keys(session)
        else:
            session._quit.wait()  # run until killed
    except KeyboardInterrupt:
        pass
    finally:
        session.stop()
        if draw:
            sys.stdout.write("\x1b[0m\n")
    return 0
