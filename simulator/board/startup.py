# Power-on of the virtual board, after boot.py mapped the ROMFS image.
#
#   boot.py FLASH_IMAGE [MODE CONTROL_FD EVENTS_FD SPI_FD]
#
# MODE is "friendly" (a power-on or soft reset: run the firmware, then the
# REPL once it stops) or "raw" (a soft reset from the raw REPL: straight to
# the raw REPL, as a board skips main.py there). The three FDs are pipes the
# supervisor (simulator/supervisor.py) opened, "-" for none: button presses
# in, events out, the display's SPI stream out. stdin/stdout are the serial
# console (simulator/board/console.py).
#
# Mounts the littlefs image at /flash and makes it the working directory, as
# the ESP32 has its flash at /, then runs main.py from there as a board does
# (provisioning writes one that imports firmware.main from the ROM). The
# console module is imported only once the firmware stops, so that a running
# device has the heap a real board leaves it (the REPL is C code there).
import os
import sys

import blockdev
import vboard

FLASH_BLOCKS = 512  # 2 MB of 4 KB blocks, like an ESP32's data partition


def _fd(arg):
    return None if arg == "-" else int(arg)


def _has_main():
    try:
        return os.stat("main.py")[0] & 0x8000 != 0
    except OSError:
        return False


def _release_firmware():
    """Give the stopped firmware's heap back before the REPL starts (on a
    board the REPL is C code and needs next to none): its modules' objects
    would otherwise stay referenced.

    The heap may be full to the last block here (the firmware stopped at its
    peak), so nothing is allocated before the first collection: the
    firmware's loop (firmware/app.py) has unwound, so only its modules hold
    its objects; they go one by one."""
    import gc

    gc.collect()
    while True:  # one module at a time: even a list of their names may not fit
        for name in sys.modules:  # iterating a dict allocates nothing
            if name.startswith("firmware") or name.startswith("protocol"):
                break
        else:
            break
        sys.modules.pop(name).__dict__.clear()  # whoever still holds it, holds nothing
        gc.collect()


def run_firmware():
    """Run main.py as a board does (the firmware, once provisioned); the reset
    it asked for, or None. Without main.py, HCP_AUTORUN=1 (the simulator's
    `--firmware auto` preload) imports firmware.main from the ROM directly."""
    if _has_main():
        start = "main.py"
    elif os.getenv("HCP_AUTORUN") == "1":
        start = None
    else:
        print("board: no main.py; MicroPython is at the REPL")
        return None
    vboard.event("firmware")
    try:
        if start:
            with open(start) as f:
                code = f.read()
            exec(code, {"__name__": "__main__"})
        else:
            import firmware.main  # noqa: F401
    except SystemExit:
        return vboard.reset_kind or "soft"
    except KeyboardInterrupt as e:
        _release_firmware()  # first: printing the traceback needs heap
        sys.print_exception(e, sys.stdout)
    except Exception as e:
        _release_firmware()
        if type(e).__name__ == "ConfigError":
            # One line, and the REPL stays up so the board can be provisioned.
            print("firmware:", e)
        else:
            sys.print_exception(e, sys.stdout)
    return None


def _intern_console():
    """On a board the REPL is C code and its names are in ROM. Here
    console.py's names (qstrs) are interned at power-on, while the heap is
    whole, and the module is dropped at once: importing it again when the
    firmware stops must not need the qstr pool to grow (a ~7 KB block) on a
    heap the firmware left fragmented."""
    import console  # noqa: F401

    sys.modules.pop("console", None)


def main(argv):
    argv = argv + ["friendly", "-", "-", "-"]
    image, mode, control, events, spi = argv[0], argv[1], _fd(argv[2]), _fd(argv[3]), _fd(argv[4])
    if events is not None:
        vboard.attach_events(open(events, "wb"))
    blockdev.mount(image, "/flash", block_count=FLASH_BLOCKS)
    os.chdir("/flash")
    if control is not None:
        vboard.attach_control(open(control, "rb"))
    if spi is not None:
        vboard.record_panel(spi)
    vboard.event("ready")
    _intern_console()
    reset = None
    if mode != "raw":
        print("board: flash mounted, firmware starting")
        reset = run_firmware()
    import console

    if reset:
        console.reboot(reset)
    console.repl(mode)
