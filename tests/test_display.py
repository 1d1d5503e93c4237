"""Screens of the device, drawn by real MicroPython through the real panel driver.

tests/mpy/ui_screens.py draws every screen into SPI recordings
(simulator/board/spi_recorder.py); simulator/panel_decode.py turns them back
into pictures here, which are saved as PNGs under the test's tmp dir and
checked pixel by pixel.
"""

import base64
import json
import subprocess
import sys

import pytest
import qrcode
from PIL import Image, ImageDraw, ImageFont

from conftest import ROOT, run_micropython
from hostd.devices.render import qr_part as host_qr_part  # the QR as the host sends it: its module matrix
from protocol import messages
from simulator.panel_decode import PanelDecoder, decode, decode_file, records

MPY = ROOT / "tests" / "mpy"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
KEY = b"0123456789abcdef0123456789abcdef"


# -- host-style parts: [name, width, height, base64 MONO_HLSB] -------------------


def text_part(name, text, w, h, size):
    img = Image.new("1", (w, h), 0)  # mode "1" rows are MSB-first: MONO_HLSB, 1 = ink
    ImageDraw.Draw(img).text((0, (h - size) // 2 - 2), text, fill=1, font=ImageFont.truetype(FONT, size))
    return [name, w, h, base64.b64encode(img.tobytes()).decode()]


def qr_part(data, size=120):
    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    scale = size // len(matrix)
    off = (size - scale * len(matrix)) // 2
    img = Image.new("1", (size, size), 0)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    [off + x * scale, off + y * scale, off + (x + 1) * scale - 1, off + (y + 1) * scale - 1],
                    fill=1,
                )
    return ["qr", size, size, base64.b64encode(img.tobytes()).decode()]


def session_parts():
    """Realistic sizes: item 300x48, staff 200x24, QR 120x120."""
    return [
        text_part("item", "不动产登记（转移登记）", 300, 48, 26),
        text_part("staff", "张晓明", 200, 24, 22),
        qr_part("https://hcp.example.gov.cn/r/s-20260705-0001"),
    ]


# -- the screens -----------------------------------------------------------------


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    return render_screens(tmp_path_factory.mktemp("screens"), session_parts())


def render_screens(out, session):
    parts = {
        "session": session,
        "idle": [
            text_part("window", "3号窗口 不动产登记", 300, 48, 30),
            text_part("staff", "张晓明", 200, 24, 22),
        ],
    }
    (out / "parts.json").write_text(json.dumps(parts))
    proc = run_micropython(MPY / "ui_screens.py", str(out), str(out / "parts.json"))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    layout, steps = lines[0], lines[1:]
    panel = PanelDecoder()
    shots = {}
    for step in [{"step": 0, "name": "init"}] + steps:
        path = out / ("%02d-%s.spi" % (step["step"], step["name"]))
        for dc, data in records(path.read_bytes()):
            panel.feed(dc, data)
        image = panel.image()
        image.save(path.with_suffix(".png"))  # look at them: pytest's tmp dir
        shots[step["name"]] = (bytes(panel.pixels), image, step)
    return layout, shots, panel


def pixels(shot):
    return shot[0]


def raw(shot, x, y):
    at = (y * 320 + x) * 2
    return (shot[0][at] << 8) | shot[0][at + 1]


def count(shot, x0, y0, x1, y1, colour):
    return sum(1 for y in range(y0, y1) for x in range(x0, x1) if raw(shot, x, y) == colour)


def area(x0, y0, x1, y1):
    return (x1 - x0) * (y1 - y0)


def test_no_missing_glyphs_on_any_screen(screens):
    _, shots, _ = screens
    for name, (_, _, step) in shots.items():
        assert step.get("missing", 0) == 0, name


def test_driver_initialises_the_panel(screens):
    *_, panel = screens
    for cmd in (0x01, 0x11, 0x3A, 0x36, 0x29):  # SWRESET SLPOUT COLMOD MADCTL DISPON
        assert panel.commands.get(cmd) == 1


def test_session_options_sit_over_the_five_buttons(screens):
    layout, shots, _ = screens
    shot = shots["session"]
    y0, y1 = layout["tile_y"], layout["tile_y"] + layout["tile_h"]
    col = layout["column"]
    for i, (bg, fg) in enumerate(layout["option_colours"]):
        x0, x1 = i * col + 1, (i + 1) * col - 1
        tile = count(shot, x0, y0, x1, y1, bg)
        text = count(shot, x0, y0, x1, y1, fg)
        assert tile > 0.5 * area(x0, y0, x1, y1), i
        assert text > 150, i  # the label's glyph pixels
        # Nothing of this option leaks into its neighbours' columns.
        assert raw(shot, i * col, (y0 + y1) // 2) == layout["white"]


def test_qr_module_matrix_is_scaled_to_the_same_pixels(screens, tmp_path):
    """A 1-pixel-per-module QR (about 165 bytes) draws exactly what the
    host-scaled 120x120 bitmap (1.8 KB) draws."""
    _, shots, _ = screens
    session = session_parts()
    session[2] = host_qr_part("https://hcp.example.gov.cn/r/s-20260705-0001")
    assert len(base64.b64decode(session[2][3])) < 250
    _, small, _ = render_screens(tmp_path, session)
    box = [(x, y) for y in range(52, 172) for x in range(198, 318)]
    assert [raw(small["session"], x, y) for x, y in box] == [raw(shots["session"], x, y) for x, y in box]
    assert count(small["session"], 198, 52, 318, 172, 0) > 2000  # black modules drawn


def test_session_shows_item_staff_number_prompt_and_qr(screens):
    layout, shots, _ = screens
    shot = shots["session"]
    black, white = layout["black"], layout["white"]
    assert count(shot, 10, 2, 310, 50, black) > 500  # item bitmap
    assert count(shot, 2, 56, 194, 80, black) > 100  # staff name bitmap
    assert count(shot, 2, 88, 34, 104, black) > 40  # 工号 glyphs
    assert count(shot, 42, 88, 106, 104, black) > 100  # "0042"
    assert count(shot, 2, 120, 82, 140, black) > 100  # 请您评价
    qr_black = count(shot, 198, 52, 318, 172, black)
    assert 0.3 < qr_black / area(198, 52, 318, 172) < 0.7
    assert count(shot, 198, 52, 318, 172, black) + count(shot, 198, 52, 318, 172, white) == area(
        198, 52, 318, 172
    )


def test_missing_parts_fall_back_to_ascii(screens):
    layout, shots, _ = screens
    black, white = layout["black"], layout["white"]
    fallback = shots["session_fallback"]
    assert count(fallback, 10, 14, 10 + 8 * 8 * 3, 38, black) > 300  # "ITEM-001" x3
    assert count(fallback, 198, 52, 318, 172, white) == area(198, 52, 318, 172)  # no QR
    bad = shots["bad_parts"]
    assert bad[2]["screen"] == "session"
    assert count(bad, 10, 14, 10 + 8 * 8 * 3, 38, black) > 300  # bad base64: ITEM-002
    assert count(bad, 198, 52, 318, 172, white) == area(198, 52, 318, 172)  # short QR data


def test_reason_screen(screens):
    layout, shots, _ = screens
    y0, y1 = layout["tile_y"], layout["tile_y"] + layout["tile_h"]
    for name in ("reason", "reason_noqr"):
        shot = shots[name]
        for i in range(5):
            x0, x1 = i * 64 + 1, i * 64 + 63
            assert count(shot, x0, y0, x1, y1, layout["reason_bg"]) > 0.5 * area(x0, y0, x1, y1)
            assert count(shot, x0, y0, x1, y1, layout["white"]) > 150
    qr = count(shots["reason"], 198, 52, 318, 172, layout["black"])
    assert qr > 0.3 * area(198, 52, 318, 172)  # 其他或扫码填写: the QR stays
    assert count(shots["reason_noqr"], 198, 52, 318, 78, layout["black"]) == 0


def test_thanks_screens_show_the_chosen_level(screens):
    layout, shots, _ = screens
    y0 = layout["tile_y"]
    for level in (5, 4, 3, 2, 1):
        shot = shots["thanks%d" % level]
        bg, fg = layout["option_colours"][5 - level]
        assert raw(shot, 160, 112) == bg
        assert count(shot, 60, 50, 260, 82, layout["black"]) > 300  # 谢谢您的评价
        assert count(shot, 0, 110, 320, 166, fg) > 200  # the level's label
        assert count(shot, 0, y0, 320, 240, layout["white"]) == area(0, y0, 320, 240)
        assert pixels(shot) != pixels(shots["session"])
    assert pixels(shots["thanks5"]) != pixels(shots["thanks1"])


def test_idle_screens(screens):
    layout, shots, _ = screens
    white, black, red = layout["white"], layout["black"], layout["red"]
    y0 = layout["tile_y"]
    idle = shots["idle"]
    assert count(idle, 10, 4, 310, 52, black) > 500  # window part
    assert count(idle, 10, 64, 210, 88, black) > 100  # staff name
    assert count(idle, 0, y0, 320, 240, white) == area(0, y0, 320, 240)  # online: no options
    offline = shots["idle_offline"]
    assert count(offline, 1, y0, 63, 240, layout["option_colours"][0][0]) > 2000
    mx, my, mw, mh = layout["marker"]
    assert count(offline, mx, my, mx + mw, my + mh, red) > 0.5 * mw * mh
    back = shots["online_again"]
    assert count(back, mx, my, mx + mw, my + mh, white) == mw * mh
    changed = [
        i for i in range(0, len(pixels(back)), 2) if pixels(back)[i : i + 2] != pixels(offline)[i : i + 2]
    ]
    assert changed and all(
        mx <= (i // 2) % 320 < mx + mw and my <= (i // 2) // 320 < my + mh for i in changed
    )  # set_online redraws only the marker
    paused = shots["paused"]
    assert count(paused, 96, 100, 224, 132, red) > 300  # 暂停服务
    assert count(paused, 0, y0, 320, 240, white) == area(0, y0, 320, 240)
    fallback = shots["idle_fallback"]
    assert count(fallback, 10, 16, 10 + 3 * 8 * 3, 40, black) > 100  # "W01" x3


def test_outbox_full_banner_is_persistent_until_cleared(screens):
    layout, shots, _ = screens
    red, h = layout["red"], layout["banner_h"]
    full = shots["full"]
    assert count(full, 0, 0, 320, h, red) > 0.6 * area(0, 0, 320, h)
    assert count(full, 0, 0, 320, h, layout["white"]) > 300  # 存储已满，请联系管理员
    both = shots["full_offline"]
    assert count(both, 0, 0, 320, h, red) > 0.6 * area(0, 0, 320, h)
    mx, my, mw, mh = layout["marker"]
    assert count(both, mx, my, mx + mw, my + mh, red) > 0.5 * mw * mh
    cleared = shots["not_full"]
    assert count(cleared, 0, 0, 320, h, red) == 0
    assert count(cleared, 10, 2, 310, 50, layout["black"]) > 500  # the item is back


def test_revoked_screen(screens):
    layout, shots, _ = screens
    shot = shots["revoked"]
    assert count(shot, 80, 84, 240, 116, layout["red"]) > 300  # 设备已停用
    assert count(shot, 112, 140, 208, 156, layout["black"]) > 100  # 请联系管理员
    assert count(shot, 0, 150, 320, 240, layout["red"]) == 0
    assert count(shot, 0, 170, 320, 240, layout["white"]) == area(0, 170, 320, 240)


# -- the driver's pixels, exactly ------------------------------------------------


def test_blit_mono_and_fill_rect_pixels(tmp_path):
    spi = tmp_path / "blit.spi"
    run_micropython(MPY / "ui_blit.py", str(spi))
    panel = decode_file(spi)
    panel.image().save(tmp_path / "blit.png")

    def ink(x, r):
        return (x + r) % 3 == 0

    for r in range(3):
        for x in range(13):
            assert panel.raw(3 + x, 4 + r) == (0xF800 if ink(x, r) else 0x001F)
        for x in range(8):  # clipped at the right edge: columns 0..7 only
            assert panel.raw(312 + x, 10 + r) == (0x07E0 if ink(x, r) else 0xFFFF)
        for x in range(9):  # a left part of a wider bitmap (stride 2)
            assert panel.raw(40 + x, 4 + r) == (0xFFFF if ink(x, r) else 0x0000)
        assert panel.raw(49, 4 + r) == 0x0000
    for r in range(2):  # clipped at the bottom: rows 0..1 only
        for x in range(13):
            assert panel.raw(20 + x, 238 + r) == (0xF800 if ink(x, r) else 0x07E0)
    assert panel.raw(16, 4) == 0 and panel.raw(2, 4) == 0  # nothing beside the bitmap
    assert all(panel.raw(x, y) == 0x1234 for x in range(300, 320) for y in range(230, 240))
    assert all(panel.raw(x, y) == 0xABCD for x in (100, 200, 299) for y in (100, 125, 149))
    assert panel.raw(99, 100) == 0 and panel.raw(300, 149) == 0 and panel.raw(100, 150) == 0


# -- the decoder on its own --------------------------------------------------------


def record(dc, data):
    return bytes([dc]) + len(data).to_bytes(2, "big") + bytes(data)


def test_decoder_windows_and_split_records():
    stream = (
        record(0, [0x2A])
        + record(1, [0, 10, 0, 11])  # CASET x 10..11
        + record(0, [0x2B])
        + record(1, [0, 20])
        + record(1, [0, 21])  # RASET in parts
        + record(0, [0x2C])
        + record(1, [0xF8, 0x00, 0x07])  # a pixel split
        + record(1, [0xE0, 0x00, 0x1F, 0xFF, 0xFF])
    )
    whole = decode(stream)
    assert [whole.raw(10, 20), whole.raw(11, 20), whole.raw(10, 21), whole.raw(11, 21)] == [
        0xF800,
        0x07E0,
        0x001F,
        0xFFFF,
    ]
    assert whole.rgb(10, 20) == (255, 0, 0) and whole.rgb(11, 21) == (255, 255, 255)
    piecewise = PanelDecoder()
    for i in range(len(stream)):  # one byte at a time, as from a pipe
        piecewise.feed_stream(stream[i : i + 1])
    assert piecewise.pixels == whole.pixels and piecewise.pixels_written == 4


def test_decoder_cli(tmp_path):
    spi = tmp_path / "s.spi"
    spi.write_bytes(
        record(0, [0x2A])
        + record(1, [0, 0, 0, 0])
        + record(0, [0x2B])
        + record(1, [0, 0, 0, 0])
        + record(0, [0x2C])
        + record(1, [0xF8, 0])
    )
    png = tmp_path / "s.png"
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.panel_decode", str(spi), str(png)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(png).getpixel((0, 0)) == (255, 0, 0)
    missing = subprocess.run(
        [sys.executable, "-m", "simulator.panel_decode", str(tmp_path / "nope.spi"), str(png)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "cannot read" in missing.stderr


# -- glyphs and memory ---------------------------------------------------------


def test_glyphs_module_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_glyphs.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_glyphs_cover_every_fixed_string():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_glyphs
    finally:
        sys.path.pop(0)
    from firmware import glyphs

    fonts = {font[0]: font for font in glyphs.FONTS}
    wanted = make_glyphs.ui_text()
    assert set(wanted) == {16, 20, 32}
    for size, chars in wanted.items():
        size_, have, data = fonts[size]
        assert set(chars) == set(have)
        assert len(data) == len(have) * ((size + 7) // 8) * size
    assert "满" in fonts[20][1] and "，" in fonts[16][1]


def session_fields(parts):
    """A session message's fields, with `parts`, as hostd pushes it."""
    url = "https://hcp.example.gov.cn/r/s-20260705-0001"
    head = [1, "S", "dev-w01", "s-20260705-0001", "ITEM-001", "不动产登记", "staff-42", "张晓明", "0042"]
    return head + [1, 120, url, 1795248000, parts]


def test_memory_on_a_100k_heap(tmp_path):
    parts = session_parts()
    parts[2] = host_qr_part("https://hcp.example.gov.cn/r/s-20260705-0001")  # as the host sends it
    fields = session_fields(parts)
    wire = messages.sign(KEY, fields)
    assert len(wire) <= messages.MAX_HOST_MESSAGE
    (tmp_path / "session.wire").write_bytes(wire)
    (tmp_path / "session.json").write_text(json.dumps(fields))
    # As on the board: the modules run in place from the ROMFS image
    # (tests/conftest.py run_micropython), not compiled on the 100 KB heap.

    def run(heap_kb, session="session.json", *mode):
        (tmp_path / "flash.img").unlink(missing_ok=True)
        return run_micropython(
            MPY / "ui_memory.py",
            tmp_path / "flash.img",
            tmp_path / session,
            *mode,
            heap="%dK" % heap_kb,
            timeout=60,
            check=False,
        )

    proc = run(100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["screen"] == "session" and got["missing"] == 0
    # Modules compiled from .mpy sit in the heap on the unix port (64-bit:
    # about twice their ESP32 size); the UI's own data must stay small.
    # Parts are decoded a few rows at a time (firmware/display.py rows()):
    # drawing allocates short-lived chunks, never a whole bitmap.
    # (It counts garbage too: display.text() takes each character as a short
    # slice, ~2.5 KB of garbage per screen, where it used to intern it as a
    # qstr that the heap never got back.)
    assert got["data_peak_upper_bound"] < 40 * 1024
    # Garbage, collected as it goes; not a peak. (The option tiles' labels are
    # sliced from one string in ROM, T20_LEVELS: ~1.4 KB of garbage per screen
    # for ~1 KB less heap held for good.)
    assert got["draw_alloc"] < 30 * 1024
    # The smallest heap on which the whole run (imports, littlefs, outbox,
    # decoding the signed session message, drawing) still succeeds.
    low, high = 32, 100
    while high - low > 2:
        mid = (low + high) // 2
        if run(mid, "session.json", "fit").returncode == 0:
            high = mid
        else:
            low = mid
    got["smallest_heap_kb"] = high
    # The signed message checked by protocol.messages.decode on the device,
    # as firmware/app.py does, fits beside everything else.
    decoded = run(100, "session.wire", "fit")
    assert decoded.returncode == 0, decoded.stdout + decoded.stderr
    print("memory:", json.dumps(got))
    assert high <= 96  # 64-bit unix port; module code is most of it
