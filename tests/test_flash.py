"""`hostd device flash` with the real esptool, against a board in download mode.

The board is esp32-mock-bootloader's ROM stand-in on a PTY (tests/rom_board.py):
esptool syncs with it, detects the chip, uploads its stub, erases, writes
compressed blocks and checks the MD5, all through hostd's command. The test
reads the stand-in's flash back and compares it with the file.

The argument checks run against a stand-in too, and show that it was never
spoken to: nothing is erased before every check has passed.
"""

import os
import pty
import random

import pytest
import serial
from click.testing import CliRunner
from hostd_support import make_home
from rom_board import RomBoard

from hostd.base.progress import Bar
from hostd.cli import cli
from hostd.devices import flash

MICROPYTHON_SIZE = 1_638_400  # ESP32_GENERIC v1.2x is about 1.6 MB


def esp_image(path, chip_id=0, size=64 * 1024, seed=1):
    """A file shaped like an ESP-IDF app image (magic 0xE9, chip id at byte 12),
    with a body that compresses about as well as real firmware does."""
    head = bytearray(64)
    head[0] = 0xE9
    head[12] = chip_id & 0xFF
    head[13] = chip_id >> 8
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 12)) for _ in range(512)]
    body = bytearray()
    while len(body) < size - len(head):
        body += rng.choice(words)
    path.write_bytes(bytes(head) + bytes(body[: size - len(head)]))
    return path


@pytest.fixture
def board():
    made = RomBoard("esp32", mac=(0x24, 0x0A, 0xC4, 0x01, 0x02, 0x03))
    yield made
    made.stop()


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "device", "flash", *args])


def one_line_error(result, words):
    assert result.exit_code != 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in result.output, result.output
    assert words in last, last
    return last


def untouched(board):
    return board.sessions == 0 and board.flash.written == 0 and board.read(0, 4096) == b"\xff" * 4096


def test_an_esp32_image_is_written_at_0x1000_and_verified(tmp_path, board):
    image = esp_image(tmp_path / "ESP32_GENERIC-v1.25.0.bin", size=MICROPYTHON_SIZE)
    data = image.read_bytes()
    result = run(tmp_path, "--port", board.path, "--firmware", str(image))
    assert result.exit_code == 0, result.output
    assert board.read(0x1000, len(data)) == data
    assert board.read(0, 0x1000) == b"\xff" * 0x1000  # erased, nothing before the offset
    assert board.read(0x1000 + len(data), 4096) == b"\xff" * 4096
    out = result.output
    assert "board: ESP32, MAC 24:0a:c4:01:02:03" in out
    assert "verified: the board's MD5 of 1.6 MB at 0x1000 matches the file" in out
    assert "write  [########################] 100%  1.6 MB / 1.6 MB  done in" in out
    assert "erase  [########################] 100%  4.0 MB / 4.0 MB  done in" in out
    assert "MicroPython written: 1.6 MB at 0x1000 on an ESP32 (MAC 24:0a:c4:01:02:03)" in out
    assert "hostd device provision ID --port %s" % board.path in out
    assert "esptool v" not in out and "Writing at" not in out  # esptool's own lines stay out


def test_an_s3_image_goes_to_offset_zero(tmp_path):
    s3 = RomBoard("esp32s3")
    try:
        image = esp_image(tmp_path / "s3.bin", chip_id=9, size=200 * 1024, seed=2)
        data = image.read_bytes()
        result = run(tmp_path, "--port", s3.path, "--firmware", str(image))
        assert result.exit_code == 0, result.output
        assert s3.read(0, len(data)) == data
        assert "at 0x0 on an ESP32-S3" in result.output
    finally:
        s3.stop()


def test_a_board_of_another_chip_is_named_and_left_alone(tmp_path):
    s3 = RomBoard("esp32s3")
    try:
        image = esp_image(tmp_path / "ESP32_GENERIC.bin")
        last = one_line_error(run(tmp_path, "--port", s3.path, "--firmware", str(image)), "is an ESP32-S3")
        assert "built for ESP32" in last and "download the MicroPython .bin for ESP32-S3" in last
        assert s3.flash.written == 0 and s3.read(0, 4096) == b"\xff" * 4096
    finally:
        s3.stop()


def test_no_answer_says_how_to_enter_download_mode(tmp_path):
    master, slave = pty.openpty()  # a port with nothing in download mode behind it
    try:
        image = esp_image(tmp_path / "fw.bin")
        last = one_line_error(
            run(tmp_path, "--port", os.ttyname(slave), "--firmware", str(image)), "no answer from the board"
        )
        assert "hold BOOT, press and release EN (RST), then release BOOT" in last
    finally:
        os.close(master)
        os.close(slave)


def test_a_port_in_use_names_who_holds_it(tmp_path, board):
    holder = serial.Serial(board.path, exclusive=True)
    try:
        image = esp_image(tmp_path / "fw.bin")
        last = one_line_error(run(tmp_path, "--port", board.path, "--firmware", str(image)), "is in use")
        assert "close the program holding it" in last
        assert untouched(board)
    finally:
        holder.close()


def test_a_cable_pulled_mid_write_says_to_flash_again(tmp_path):
    cut = RomBoard("esp32", cut_after=5)
    try:
        image = esp_image(tmp_path / "fw.bin", size=400 * 1024)
        last = one_line_error(run(tmp_path, "--port", cut.path, "--firmware", str(image)), "lost the board")
        assert "during write" in last and "holds no complete firmware now" in last
        assert "run the same command again" in last
        assert cut.flash.written == 5
    finally:
        cut.stop()
    again = RomBoard("esp32")  # the same board, plugged in again
    try:
        result = run(tmp_path, "--port", again.path, "--firmware", str(image))
        assert result.exit_code == 0, result.output
        assert again.read(0x1000, len(image.read_bytes())) == image.read_bytes()
    finally:
        again.stop()


def test_a_missing_file(tmp_path, board):
    one_line_error(
        run(tmp_path, "--port", board.path, "--firmware", str(tmp_path / "none.bin")), "no firmware file"
    )
    assert untouched(board)


def test_not_a_bin(tmp_path, board):
    hexfile = esp_image(tmp_path / "firmware.hex")
    one_line_error(run(tmp_path, "--port", board.path, "--firmware", str(hexfile)), "is not a .bin")
    text = tmp_path / "readme.bin"
    text.write_text("not firmware at all\n" * 4)
    one_line_error(run(tmp_path, "--port", board.path, "--firmware", str(text)), "not an ESP firmware image")
    assert untouched(board)


def test_a_chip_option_that_contradicts_the_image(tmp_path, board):
    image = esp_image(tmp_path / "c3.bin", chip_id=5)
    one_line_error(
        run(tmp_path, "--port", board.path, "--firmware", str(image), "--chip", "esp32"),
        "built for esp32c3, not esp32",
    )
    result = run(tmp_path, "--port", board.path, "--firmware", str(image), "--chip", "esp8266")
    assert result.exit_code == 2 and "esp8266" in result.output
    assert untouched(board)


def test_a_missing_port(tmp_path):
    image = esp_image(tmp_path / "fw.bin")
    one_line_error(run(tmp_path, "--port", "/dev/ttyUSB99", "--firmware", str(image)), "no serial port")


def test_an_unknown_device_is_refused_before_erasing(tmp_path, board):
    make_home(tmp_path / "home")
    image = esp_image(tmp_path / "fw.bin")
    one_line_error(
        run(tmp_path, "--port", board.path, "--firmware", str(image), "--device", "nobody"),
        "no device 'nobody'",
    )
    assert untouched(board)


def test_the_progress_line_counts_bytes_and_time_left():
    now = [100.0]
    lines = []
    bar = Bar("write", 1000 * 1024, say=lines.append, tty=False, clock=lambda: now[0])
    for step in range(1, 11):
        now[0] += 2
        bar.update(step * 100 * 1024)
    bar.done()
    assert lines[0] == "write  [##----------------------]  10%  100.0 KB / 1000.0 KB  18 s left"
    assert lines[4] == "write  [############------------]  50%  500.0 KB / 1000.0 KB  10 s left"
    assert len(lines) == 10  # one line per tenth, then the last
    assert lines[-1].endswith("100%  1000.0 KB / 1000.0 KB  done in 20 s")


def test_the_chip_table_matches_esptool():
    from esptool.targets import CHIP_DEFS

    for name, (offset, chip_id, label) in flash.CHIPS.items():
        assert CHIP_DEFS[name].CHIP_NAME == label
        assert CHIP_DEFS[name].IMAGE_CHIP_ID == chip_id
        assert CHIP_DEFS[name].BOOTLOADER_FLASH_OFFSET == offset
