# The board's serial console: MicroPython's REPL protocol, written in MicroPython.
#
# Design. The unix port's own REPL has no raw REPL, so the virtual board runs
# this one instead. The supervising CPython process (simulator/supervisor.py)
# owns the pseudo-terminal that `mpremote` opens and relays it:
#
#   pty -> supervisor -> our stdin (a pipe)     bytes typed or sent by mpremote
#   our stdout (a pipe) -> supervisor -> pty    output; the supervisor turns a
#                                               bare "\n" into "\r\n" as a board's
#                                               HAL does
#   Ctrl-C (0x03)                               never arrives as a byte: the
#                                               supervisor sends SIGINT instead,
#                                               so it interrupts the firmware or
#                                               running code like a board's UART
#                                               interrupt; a KeyboardInterrupt
#                                               while we read is taken as Ctrl-C
#   events (a pipe)                             one word a line: ready, firmware,
#                                               repl, reset soft|raw|hard
#
# A soft reset ends this process after printing "MPY: soft reboot"; the
# supervisor starts a fresh one on the same pty, in friendly mode (runs the
# firmware) or raw mode (does not, as a board skips main.py in raw REPL).
# The framing follows MicroPython's pyexec.c, byte for byte as mpremote's
# transport_serial.py expects it.
import sys

import vboard
from micropython import const

# const(): no names left in the qstr pool or the module (the simulator
# interns this module's names at power-on, and they count against the pool
# block the firmware's names share; on a board the REPL is C code).
_CTRL_A = const(1)
_CTRL_B = const(2)
_CTRL_C = const(3)
_CTRL_D = const(4)
_CTRL_E = const(5)
_PASTE_WINDOW = const(256)  # raw-paste flow-control window (bytes)
_RAW_BANNER = const(b"raw REPL; CTRL-B to exit\r\n")
_COMPOUND = const(("if ", "while ", "for ", "try:", "def ", "class ", "with ", "@", "async "))

namespace = {"__name__": "__main__"}


class Reset(Exception):
    # Leaves the REPL for a reboot; kind is "soft" (friendly), "raw" or "hard".
    def __init__(self, kind):
        self.kind = kind


def write(data):
    if isinstance(data, str):
        data = data.encode()
    sys.stdout.buffer.write(data)


def getc():
    """The next input byte as an int; Ctrl-C (SIGINT) comes back as 3."""
    try:
        b = sys.stdin.buffer.read(1)
    except KeyboardInterrupt:
        return _CTRL_C
    if not b:
        raise Reset("hard")  # the supervisor went away
    return b[0]


def banner():
    v = sys.implementation.version
    built = sys.version.split(" on ")[-1]  # "3.4.0; MicroPython 9458e3a23f on 2026-07-05"
    write(
        "MicroPython v%d.%d.%d on %s; HCP rating device simulator with ESP32\r\n"
        'Type "help()" for more information.\r\n' % (v[0], v[1], v[2], built)
    )


def run(code, mode):
    """Compile and run source; SystemExit means a soft reset (as on a board)."""
    try:
        exec(compile(code, "<stdin>", mode), namespace)
    except SystemExit:
        raise Reset(vboard.reset_kind or "soft")
    except BaseException as e:  # noqa: B036  (KeyboardInterrupt too, as a board prints it)
        sys.print_exception(e, sys.stdout)


# -- raw REPL ----------------------------------------------------------------
def _raw_paste():
    write(b"R\x01")
    write(bytes((_PASTE_WINDOW & 0xFF, _PASTE_WINDOW >> 8)))
    code = bytearray()
    remain = _PASTE_WINDOW
    while True:
        c = getc()
        if c == _CTRL_C or c == _CTRL_D:
            write(b"\x04")  # end acknowledged
            if c == _CTRL_C:
                return None
            return code
        code.append(c)
        remain -= 1
        if remain == 0:
            write(b"\x01")  # the host may send another window
            remain = _PASTE_WINDOW


def _raw_exec(code):
    try:
        try:
            exec(compile(bytes(code), "<stdin>", "exec"), namespace)
            write(b"\x04")
        except SystemExit:
            write(b"\x04\x04")
            raise Reset(vboard.reset_kind or "raw")
        except BaseException as e:  # noqa: B036
            write(b"\x04")
            sys.print_exception(e, sys.stdout)
        write(b"\x04")
    except KeyboardInterrupt:  # interrupted while framing the answer
        write(b"\x04\x04")


def raw_repl():
    """Returns when the host asks for the friendly REPL (Ctrl-B)."""
    write(_RAW_BANNER)
    line = bytearray()
    while True:
        write(b">")
        line = bytearray()
        while True:
            c = getc()
            if c == _CTRL_A:
                if len(line) == 2 and line[0] == _CTRL_E and line[1] == ord("A"):
                    code = _raw_paste()
                    if code is not None:
                        _raw_exec(code)
                    break
                write(_RAW_BANNER)
                line = bytearray()
                break
            if c == _CTRL_B:
                write(b"\r\n")
                return
            if c == _CTRL_C:
                line = bytearray()
            elif c == _CTRL_D:
                write(b"OK")
                if not line:
                    write(b"\r\n")
                    raise Reset("raw")
                _raw_exec(line)
                break
            else:
                line.append(c)


# -- friendly REPL ------------------------------------------------------------
def readline(prompt):
    """A line (str), or a control code (int) typed at the start of a line."""
    write(prompt)
    line = bytearray()
    while True:
        c = getc()
        if c in (_CTRL_A, _CTRL_B, _CTRL_C, _CTRL_E) or (c == _CTRL_D and not line):
            return c
        if c == 13:
            write(b"\r\n")
            return bytes(line).decode()
        if c in (8, 127):
            if line:
                n = 1
                while line[-n] & 0xC0 == 0x80 and n < len(line):  # whole UTF-8 char
                    n += 1
                del line[-n:]
                write(b"\x08 \x08")
        elif c == 27:  # an arrow key or other escape sequence: ignore it
            c = getc()
            if c == ord("["):
                while True:
                    c = getc()
                    if 64 <= c <= 126:
                        break
        elif c >= 32 or c == 9:
            line.append(c)
            write(bytes((c,)))


def _open_brackets(text):
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth > 0


def _paste_mode():
    write(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
    code = bytearray()
    while True:
        c = getc()
        if c == _CTRL_C:
            write(b"\r\n")
            return
        if c == _CTRL_D:
            write(b"\r\n")
            run(bytes(code).decode(), "exec")
            return
        if c == 13:
            code.append(10)
            write(b"\r\n=== ")
        elif c != 10:
            code.append(c)
            write(bytes((c,)))


def friendly_repl():
    """Returns when the host asks for the raw REPL (Ctrl-A)."""
    banner()
    while True:
        try:
            line = readline(">>> ")
        except KeyboardInterrupt:
            line = _CTRL_C
        if line == _CTRL_A:
            write(b"\r\n")
            return
        if line == _CTRL_B:
            write(b"\r\n")
            banner()
        elif line == _CTRL_C:
            write(b"\r\n")
        elif line == _CTRL_D:
            write(b"\r\n")
            raise Reset("soft")
        elif line == _CTRL_E:
            _paste_mode()
        elif line.strip():
            source = line
            block = line.rstrip().endswith(":") or line.startswith(_COMPOUND)
            while block or _open_brackets(source) or source.endswith("\\"):
                more = readline("... ")
                if more == _CTRL_C:
                    write(b"\r\n")
                    source = None
                    break
                if not isinstance(more, str) or (block and not more.strip()):
                    break
                source += "\n" + more
            if source is not None:
                run(source + "\n", "single" if "\n" not in source else "exec")


def repl(mode):
    """The console loop; mode "raw" starts in the raw REPL. Never returns."""
    vboard.event("repl")
    while True:
        try:
            if mode == "raw":
                raw_repl()
                mode = "friendly"
            else:
                friendly_repl()
                mode = "raw"
        except Reset as r:
            reboot(r.kind)
        except KeyboardInterrupt:
            write(b"\r\n")  # a Ctrl-C between two reads: start the mode afresh


def reboot(kind):
    """End this process; the supervisor boots a fresh one ("soft", "raw" or "hard")."""
    if kind != "hard":
        write(b"MPY: soft reboot\r\n")
    vboard.event("reset " + kind)
    sys.exit({"soft": 10, "raw": 11}.get(kind, 12))
