"""Text on the 1-bit panel keeps its strokes whole.

A character drawn in 1 bit must not fall into more pieces (4-connected: a
diagonal step reads as a break on a panel) than the same character drawn six
times larger, where no stroke is thinner than a pixel. Checked for every
glyph the device carries (firmware/glyphs.py) and for the host's bitmaps of
names (hostd/devices/render.py), both cut at hostd.devices.mono.INK.
"""

import pytest
from PIL import Image, ImageDraw, ImageFont

from firmware import glyphs
from hostd.devices import mono, render

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
NAMES = "不动产登记转移抵押权首次合并办理户口迁移营业执照张晓明欧阳娜娜李建国王芳谢您的评价暂停服务"


def reference_pieces(char, size):
    """Pieces of `char` drawn at 6 x `size` (strokes several pixels wide)."""
    font = ImageFont.truetype(FONT, size * 6)
    gray = Image.new("L", (size * 7, size * 7), 0)
    ImageDraw.Draw(gray).text((size // 2, 0), char, fill=255, font=font)
    return mono.pieces(gray.point(lambda v: 1 if v >= 128 else 0, mode="1"))


def glyph_image(data, size, index):
    n = (size + 7) // 8 * size
    return Image.frombytes("1", (size, size), bytes(data[index * n : (index + 1) * n]))


def test_every_device_glyph_keeps_its_strokes():
    checked = 0
    for size, chars, data in glyphs.FONTS:
        for i, char in enumerate(chars):
            if not "\u4e00" <= char <= "\u9fff":
                continue  # digits and punctuation: no strokes to break
            got = mono.pieces(glyph_image(data, size, i))
            assert got <= reference_pieces(char, size), (size, char, got)
            checked += 1
    assert checked > 60


@pytest.mark.parametrize("kind", ["item", "staff"])
def test_host_name_bitmaps_keep_their_strokes(kind):
    renderer = render.Renderer(FONT)
    size = render.ITEM_FONT_PX if kind == "item" else render.STAFF_FONT_PX
    for char in NAMES:
        w, h, data = render.unpack(getattr(renderer, kind)(char))
        got = mono.pieces(Image.frombytes("1", (w, h), data))
        assert got <= reference_pieces(char, size), (kind, char, got)


def test_the_check_finds_broken_strokes():
    """FreeType's own 1-bit mode, at the old 16 px, breaks characters apart:
    the check above would say so."""
    font = ImageFont.truetype(FONT, 16)
    broken = []
    for char in "谢您价暂服请":
        image = Image.new("1", (20, 20), 0)
        ImageDraw.Draw(image).text((2, 0), char, fill=1, font=font)
        if mono.pieces(image) > reference_pieces(char, 16):
            broken.append(char)
    assert len(broken) >= 3, broken
