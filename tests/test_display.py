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
from PIL import Image, ImageDraw, ImageFont

from conftest import ROOT, run_micropython
from hostd.devices.render import Renderer, qr_matrix
from hostd.devices.render import qr_part as host_qr_part
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


URL = "https://hcp.example.gov.cn/r/s-20260705-0001"
WINDOW_URL = (
    "https://hcp.example.gov.cn/w/g1.07.Ab3dEf6hIj9kLm2oPq5sTu"  # a sticker's code (links.window_url)
)


def qr_part(data, scale=3):
    """The QR code as a bitmap already scaled `scale` times (the host sends
    its module matrix instead, which the device scales: the same pixels)."""
    matrix = qr_matrix(data)  # hostd's modules, quiet zone included
    size = scale * len(matrix)
    img = Image.new("1", (size, size), 0)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle([x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=1)
    return ["qr", size, size, base64.b64encode(img.tobytes()).decode()]


def session_parts():
    """As hostd renders them: item (two lines of 24 px), staff name with 工号
    0042 under it in the same font, and the QR code's module matrix."""
    return Renderer().session_parts("不动产登记（转移登记）及抵押权首次登记", "张晓明", URL, "0042")


# -- the screens -----------------------------------------------------------------


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    return render_screens(tmp_path_factory.mktemp("screens"), session_parts())


def render_screens(out, session):
    parts = {
        "session": session,
        "idle": [
            text_part("window", "3号窗口 不动产登记", 300, 48, 30),
            Renderer().staff("张晓明", "0042"),
            host_qr_part(WINDOW_URL),  # the window's standing code: shown while presses cannot reach the host
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


def qr_box(layout):
    x, y, w, h = layout["qr_box"]
    return x, y, x + w, y + h


def qr_pixels(layout, url=URL):
    """Black pixels of the QR code of `url` as the device scales it into its box."""
    matrix = qr_matrix(url)
    _, _, w, h = layout["qr_box"]
    scale = min(w // len(matrix), h // len(matrix))
    return sum(map(sum, matrix)) * scale * scale


def test_qr_module_matrix_is_scaled_to_the_same_pixels(screens, tmp_path):
    """The host's 1-pixel-per-module QR (about 165 bytes) draws exactly what a
    bitmap scaled 3 times on the host (1.2 KB) draws."""
    layout, shots, _ = screens
    session = session_parts()
    assert len(base64.b64decode(session[2][3])) < 250
    session[2] = qr_part(URL, scale=2)  # 37 modules: 2 pixels each in the 114 x 99 box
    _, big, _ = render_screens(tmp_path, session)
    x0, y0, x1, y1 = qr_box(layout)
    box = [(x, y) for y in range(y0, y1) for x in range(x0, x1)]
    assert [raw(big["session"], x, y) for x, y in box] == [raw(shots["session"], x, y) for x, y in box]
    assert count(shots["session"], x0, y0, x1, y1, 0) > 2000  # black modules drawn


def test_session_shows_item_staff_number_prompt_and_qr_with_its_caption(screens):
    layout, shots, _ = screens
    shot = shots["session"]
    black, white = layout["black"], layout["white"]
    assert count(shot, 6, 2, 314, 26, black) > 400 and count(shot, 6, 26, 314, 50, black) > 400  # two lines
    assert count(shot, 2, 62, 100, 86, black) > 100  # staff name
    assert count(shot, 100, 62, 198, 86, black) > 150  # 工号 0042, in the same font
    assert count(shot, 2, 110, 98, 134, black) > 150  # 请您评价, 24 px
    x0, y0, x1, y1 = qr_box(layout)
    assert count(shot, x0, y0, x1, y1, black) == qr_pixels(layout)  # every module, scaled
    assert count(shot, x0, y0, x1, y1, black) + count(shot, x0, y0, x1, y1, white) == area(x0, y0, x1, y1)
    assert count(shot, x0, y1, x1, y1 + 20, black) > 100  # 扫码评价
    assert count(shot, x0, y1 + 20, x1, layout["tile_y"], black) > 100  # 补充意见


def test_missing_parts_fall_back_to_ascii(screens):
    layout, shots, _ = screens
    black, white = layout["black"], layout["white"]
    x0, y0, x1, y1 = qr_box(layout)
    fallback = shots["session_fallback"]
    assert count(fallback, 10, 14, 10 + 8 * 8 * 3, 38, black) > 300  # "ITEM-001" x3
    assert count(fallback, 2, 62, 2 + 4 * 8 * 3, 86, black) > 150  # "0042" x3
    # No QR code, and no caption for one.
    assert count(fallback, x0, y0, x1, layout["tile_y"], white) == area(x0, y0, x1, layout["tile_y"])
    bad = shots["bad_parts"]
    assert bad[2]["screen"] == "session"
    assert count(bad, 10, 14, 10 + 8 * 8 * 3, 38, black) > 300  # bad base64: ITEM-002
    assert count(bad, x0, y0, x1, y1, white) == area(x0, y0, x1, y1)  # short QR data


def _tiles(shot, layout, colour):
    y0, y1 = layout["tile_y"], layout["tile_y"] + layout["tile_h"]
    return [count(shot, i * 64 + 1, y0, i * 64 + 63, y1, colour) for i in range(5)]


def test_reason_screen_labels_each_button_with_an_arrow_down_to_it(screens):
    layout, shots, _ = screens
    full_tile = area(1, 0, 63, layout["tile_h"])
    y_arrow = layout["tile_y"] + layout["tile_h"] - 14
    for name, blank in (("reason", None), ("reason_more", 3), ("reason_noqr", None)):
        shot = shots[name]
        for i, tile in enumerate(_tiles(shot, layout, layout["reason_bg"])):
            if i == blank:
                assert tile == 0, (name, i)  # a button with nothing to do has no tile
                continue
            assert tile > 0.5 * full_tile, (name, i)
            x0 = i * 64 + 1
            assert count(shot, x0, layout["tile_y"], x0 + 62, y_arrow, layout["white"]) > 100  # its label
            assert count(shot, x0 + 26, y_arrow, x0 + 36, y_arrow + 6, layout["white"]) >= 30  # the arrow
    # 其他: the QR code stays, with its caption.
    x0, y0, x1, y1 = qr_box(layout)
    assert count(shots["reason"], x0, y0, x1, y1, layout["black"]) == qr_pixels(layout)
    assert count(shots["reason_noqr"], x0, y0, x1, layout["tile_y"], layout["black"]) == 0
    # Two pages: other labels on the same buttons.
    assert pixels(shots["reason"]) != pixels(shots["reason_more"])


def test_reason_countdown_redraws_only_its_seconds(screens):
    layout, shots, _ = screens
    y = layout["count_y"]
    before, after = shots["reason"], shots["reason_count"]
    assert count(before, 4, y, 30, y + 20, layout["black"]) > 40  # "30"
    assert count(before, 30, y, 150, y + 20, layout["black"]) > 150  # 秒后自动跳过
    changed = [
        i // 2
        for i in range(0, len(pixels(after)), 2)
        if pixels(after)[i : i + 2] != pixels(before)[i : i + 2]
    ]
    assert changed and all(4 <= p % 320 < 30 and y <= p // 320 < y + 20 for p in changed)


def test_thanks_screen_is_the_same_whatever_the_level(screens):
    """回避式: the neutral thanks screen (show_thanks(0), the default) shows no
    level and no level colour; show_level (a hall's choice) shows it."""
    layout, shots, _ = screens
    neutral = shots["thanks0"]
    black, white = layout["black"], layout["white"]
    assert count(neutral, 64, 88, 256, 120, black) > 300  # 谢谢您的评价
    assert count(neutral, 0, 0, 320, 240, black) + count(neutral, 0, 0, 320, 240, white) == 320 * 240
    for level in (5, 4, 3, 2, 1):
        shot = shots["thanks%d" % level]
        bg, fg = layout["option_colours"][5 - level]
        assert raw(shot, 160, 142) == bg
        assert count(shot, 0, 140, 320, 188, fg) > 200  # the level's label
    assert pixels(shots["thanks5"]) != pixels(shots["thanks1"])


def test_idle_screens(screens):
    layout, shots, _ = screens
    white, black, red = layout["white"], layout["black"], layout["red"]
    y0 = layout["tile_y"]
    idle = shots["idle"]
    assert count(idle, 10, 4, 310, 52, black) > 500  # window part
    assert count(idle, 10, 64, 310, 88, black) > 250  # staff name and 工号 0042
    assert count(idle, 0, y0, 320, 240, white) == area(0, y0, 320, 240)  # online: no options
    x0, y_qr, x1, y1 = qr_box(layout)
    below_staff = 90  # the staff part (y 64-88) may run into the code's box
    assert count(idle, x0, below_staff, x1, y1, black) == 0  # online: no code
    offline = shots["idle_offline"]
    assert count(offline, x0, below_staff, x1, y1, black) > 1500  # offline: the window's standing code
    assert count(offline, 1, y0, 63, 240, layout["option_colours"][0][0]) > 1500
    mx, my, mw, mh = layout["marker"]
    assert count(offline, mx, my, mx + mw, my + mh, red) > 0.4 * mw * mh
    assert count(offline, mx, my, mx + mw, my + mh, white) > 80  # 离线, 20 px
    back = shots["online_again"]
    assert count(back, mx, my, mx + mw, my + mh, white) == mw * mh
    assert count(back, x0, below_staff, x1, y1, black) == 0  # the code goes with the link back
    changed = [
        i for i in range(0, len(pixels(back)), 2) if pixels(back)[i : i + 2] != pixels(offline)[i : i + 2]
    ]

    def marker_staff_or_code(x, y):
        marker = mx <= x < mx + mw and my <= y < my + mh
        return marker or 64 <= y < 88 or (x0 <= x < x1 and y_qr <= y < y0)

    assert changed and all(
        marker_staff_or_code((i // 2) % 320, (i // 2) // 320) for i in changed
    )  # only the marker, the staff line (moved aside for the code) and the code's box change
    paused = shots["paused"]
    assert count(paused, 96, 100, 224, 132, red) > 300  # 暂停服务
    assert count(paused, 0, y0, 320, 240, white) == area(0, y0, 320, 240)
    fallback = shots["idle_fallback"]
    assert count(fallback, 10, 16, 10 + 3 * 8 * 3, 40, black) > 100  # "W01" x3


def test_outbox_full_keeps_the_item_and_sends_the_citizen_to_the_qr_code(screens):
    layout, shots, _ = screens
    red, white, black = layout["red"], layout["white"], layout["black"]
    y0 = layout["tile_y"]
    full = shots["full"]
    assert count(full, 0, y0, 320, 240, red) > 0.6 * area(0, y0, 320, 240)  # over the buttons
    assert count(full, 0, y0, 320, 240, white) > 300  # 按键暂停，请扫二维码评价
    assert count(full, 6, 2, 314, 50, black) > 800  # the item stays
    x0, y_qr, x1, y1 = qr_box(layout)
    assert count(full, x0, y_qr, x1, y1, black) > 2000  # and so does the QR code
    both = shots["full_offline"]
    assert count(both, 0, y0, 320, 240, red) > 0.6 * area(0, y0, 320, 240)
    mx, my, mw, mh = layout["marker"]
    assert count(both, mx, my, mx + mw, my + mh, red) > 0.4 * mw * mh
    cleared = shots["not_full"]
    assert count(cleared, 0, y0, 320, 240, red) < count(full, 0, y0, 320, 240, red) // 2
    assert _tiles(cleared, layout, layout["option_colours"][0][0])[0] > 1500  # the options are back


def test_revoked_screen_points_to_another_channel(screens):
    layout, shots, _ = screens
    shot = shots["revoked"]
    assert count(shot, 80, 84, 240, 116, layout["red"]) > 300  # 设备已停用
    assert count(shot, 70, 140, 250, 160, layout["black"]) > 150  # 请扫窗口二维码评价
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
    assert set(wanted) == {20, 24, 32}  # nothing a citizen reads is smaller than 20 px
    for size, chars in wanted.items():
        size_, have, data = fonts[size]
        assert set(chars) == set(have)
        assert len(data) == len(have) * ((size + 7) // 8) * size
    assert "满" in fonts[20][1] and "，" in fonts[20][1] and "0123456789" in fonts[20][1]


def session_fields(parts):
    """A session message's fields, with `parts`, as hostd pushes it."""
    url = "https://hcp.example.gov.cn/r/s-20260705-0001"
    head = [1, "S", "dev-w01", "s-20260705-0001", "ITEM-001", "不动产登记", "staff-42", "张晓明", "0042"]
    return head + [1, 120, url, 1795248000, parts]


def test_memory_on_a_100k_heap(tmp_path):
    fields = session_fields(session_parts())
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
