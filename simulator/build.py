"""Compile the virtual board's modules and pack them into a ROM image.

On an ESP32 the REPL, `machine` and `network` are C code or modules frozen
into the MicroPython firmware: they cost no heap. The virtual board's
equivalents (simulator/board/*.py except boot.py) are compiled by `mpy-cross`
and packed into build/board.romfs, which simulator/launch.py maps outside
the heap for every simulated device.

The device's firmware is another image, the one `hostd device provision`
writes into the device's romfs partition (hostd/devices/firmware_image.py builds it);
`firmware_image()` gives its path for the simulator's `--firmware auto`.
"""

from pathlib import Path

from hostd.devices import firmware_image as device_image

ROOT = Path(__file__).resolve().parent.parent
PARTITION_FILE = "romfs.img"  # a simulated device's romfs partition (simulator/launch.py)
PRELOAD_MARKER = "romfs.repo"
BOARD = ROOT / "simulator" / "board"
DEFAULT_OUT = ROOT / "build" / "board"


def board_image(out=DEFAULT_OUT):
    """Build (if stale) the board's ROM image; return its path."""
    out = Path(out)
    tree = out / "mpy"
    for source in sorted(BOARD.glob("*.py")):
        if source.name != "boot.py":
            device_image.compile_file(
                source, tree / (source.stem + ".mpy"), "/board/%s.mpy" % source.stem
            )  # its __file__ (boot.py)
    return device_image.pack_romfs(tree, out / "board.romfs")


def firmware_image():
    """The repo's firmware as a ROMFS image (what provisioning deploys)."""
    return device_image.romfs_image()


def script_image(folder, out):
    """The firmware image plus the MicroPython programs in `folder` (*.py)
    at its top level, built (if stale) in `out`; return its path.

    It is what a developer deploys to test on a board (`mpremote romfs
    deploy`): the firmware's bytecode as provisioning puts it at /rom, and
    the test programs beside it, each run in place by `boot.py -m NAME`
    (simulator/launch.py). Every file name in it is a fixed /rom/... name,
    never the checkout's."""
    out = Path(out)
    tree = device_image.compile_tree(out / "mpy")
    image = out / "scripts.romfs"
    sources = sorted(Path(folder).glob("*.py"))
    wanted = {source.stem + ".mpy" for source in sources}
    for stale in tree.glob("*.mpy"):
        if stale.name not in wanted:
            stale.unlink()
            image.unlink(missing_ok=True)  # the newest-file check cannot see a removal
    for source in sources:
        device_image.compile_file(
            source, tree / (source.stem + ".mpy"), "%s/%s.mpy" % (device_image.ROMFS_MOUNT, source.stem)
        )
    return device_image.pack_romfs(tree, image)


def preload_firmware(flash_dir, firmware="auto"):
    """The developer shortcut: put the repo's firmware into the romfs partition.

    "auto" does it when the partition file is missing or was preloaded before
    (the marker romfs.repo; a real deploy drops it), so a developer always
    runs the current firmware while a provisioned device keeps its own;
    "none" leaves a blank board blank. Returns True when the partition holds
    the preload (the board then starts firmware.main without a main.py).
    """
    flash_dir = Path(flash_dir)
    partition, marker = flash_dir / PARTITION_FILE, flash_dir / PRELOAD_MARKER
    if firmware == "none":
        return False
    if firmware != "auto":
        raise ValueError("firmware must be auto or none")
    if partition.exists() and not marker.exists():
        return False
    image = firmware_image().read_bytes()
    if not partition.exists() or partition.read_bytes()[: len(image)] != image:
        tmp = partition.with_suffix(".tmp")
        tmp.write_bytes(image)
        tmp.replace(partition)
    marker.write_text("the romfs partition holds the repo's firmware (python -m simulator --firmware auto)\n")
    return True


if __name__ == "__main__":
    print(board_image())
    print(firmware_image())
