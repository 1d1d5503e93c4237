"""`hostd device flash`: argument checks, and the exact esptool calls.

There is no ESP32 here, so esptool's entry point (`esptool.main`) is the one
stand-in: it records its argument lists. Everything before it is real: the
click command, the .bin checks (ESP image magic, chip id in the header).
"""

import os
import pty

import esptool
import pytest
from click.testing import CliRunner
from hostd_support import make_home

from hostd.cli import cli
from hostd.devices import flash


def esp_image(path, chip_id=0):
    """A file shaped like the head of an ESP-IDF app image: magic 0xE9, chip id at byte 12."""
    head = bytearray(64)
    head[0] = 0xE9
    head[12] = chip_id & 0xFF
    head[13] = chip_id >> 8
    path.write_bytes(bytes(head) + b"\x00" * 1024)
    return path


@pytest.fixture
def port():
    master, slave = pty.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.fixture
def calls(monkeypatch):
    made = []
    monkeypatch.setattr(esptool, "main", lambda argv: made.append(list(argv)))
    return made


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "device", "flash", *args])


def one_line_error(result, words):
    assert result.exit_code != 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in result.output, result.output
    assert words in last, last


def test_it_erases_then_writes_at_the_bootloader_offset(tmp_path, port, calls):
    image = esp_image(tmp_path / "ESP32_GENERIC-v1.25.0.bin")
    result = run(tmp_path, "--port", port, "--firmware", str(image), "--baud", "115200")
    assert result.exit_code == 0, result.output
    base = ["--chip", "esp32", "--port", port, "--baud", "115200"]
    assert calls == [base + ["erase-flash"], base + ["write-flash", "-z", "0x1000", str(image)]]
    assert "hostd device provision ID --port %s" % port in result.output


def test_an_s3_image_goes_to_offset_zero(tmp_path, port, calls):
    image = esp_image(tmp_path / "s3.bin", chip_id=9)
    result = run(tmp_path, "--port", port, "--firmware", str(image), "--chip", "esp32s3")
    assert result.exit_code == 0, result.output
    assert calls[1][-3:] == ["-z", "0x0", str(image)] and calls[1][:2] == ["--chip", "esp32s3"]


def test_a_missing_file(tmp_path, port, calls):
    one_line_error(
        run(tmp_path, "--port", port, "--firmware", str(tmp_path / "none.bin")), "no firmware file"
    )
    assert calls == []


def test_not_a_bin(tmp_path, port, calls):
    hexfile = esp_image(tmp_path / "firmware.hex")
    one_line_error(run(tmp_path, "--port", port, "--firmware", str(hexfile)), "is not a .bin")
    text = tmp_path / "readme.bin"
    text.write_text("not firmware at all\n" * 4)
    one_line_error(run(tmp_path, "--port", port, "--firmware", str(text)), "not an ESP firmware image")
    assert calls == []


def test_wrong_chip(tmp_path, port, calls):
    image = esp_image(tmp_path / "c3.bin", chip_id=5)
    one_line_error(run(tmp_path, "--port", port, "--firmware", str(image)), "built for esp32c3, not esp32")
    result = run(tmp_path, "--port", port, "--firmware", str(image), "--chip", "esp8266")
    assert result.exit_code == 2 and "esp8266" in result.output
    assert calls == []


def test_a_missing_port(tmp_path, calls):
    image = esp_image(tmp_path / "fw.bin")
    one_line_error(run(tmp_path, "--port", "/dev/ttyUSB99", "--firmware", str(image)), "no serial port")
    assert calls == []


def test_an_esptool_failure_is_one_line(tmp_path, port, monkeypatch):
    def fail(argv):
        raise esptool.FatalError("Failed to connect to ESP32: No serial data received.")

    monkeypatch.setattr(esptool, "main", fail)
    image = esp_image(tmp_path / "fw.bin")
    one_line_error(run(tmp_path, "--port", port, "--firmware", str(image)), "Failed to connect to ESP32")


def test_an_unknown_device_is_refused_before_erasing(tmp_path, port, calls):
    make_home(tmp_path / "home")
    image = esp_image(tmp_path / "fw.bin")
    one_line_error(
        run(tmp_path, "--port", port, "--firmware", str(image), "--device", "nobody"), "no device 'nobody'"
    )
    assert calls == []


def test_the_calls_function_matches_micropython_download_page():
    assert flash.esptool_calls("/dev/ttyUSB0", "fw.bin")[1] == [
        "--chip",
        "esp32",
        "--port",
        "/dev/ttyUSB0",
        "--baud",
        "460800",
        "write-flash",
        "-z",
        "0x1000",
        "fw.bin",
    ]
