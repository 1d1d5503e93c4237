"""Text for a 1-bit panel: where an anti-aliased pixel becomes ink.

Both the device's fixed glyphs (tools/make_glyphs.py) and the host's
bitmaps of names (hostd/devices/render.py) are drawn in grey by FreeType,
then cut to ink at INK. Drawn straight in 1 bit (FreeType's mono mode), or cut
too high, the thin strokes of WenQuanYi Micro Hei break apart below 24 px
(谢, 您, 价 fall into pieces); cut at INK they hold from 20 px up.
tests/test_glyph_strokes.py checks every glyph and a set of names: no more
pieces (4-connected) than the same character drawn six times larger.
"""

from PIL import Image

INK = 110  # grey level (0..255) from which a pixel is ink


def to_mono(gray: Image.Image) -> Image.Image:
    """A mode "L" image cut to a mode "1" image at INK (1 = ink)."""
    return gray.point([255 if v >= INK else 0 for v in range(256)], mode="1")


def pieces(image: Image.Image) -> int:
    """Connected pieces of ink, 4-connected (a diagonal step is a break on a
    panel: the eye sees two strokes)."""
    w, h = image.size
    px = image.load()
    assert px is not None
    seen = set()
    count = 0
    for y in range(h):
        for x in range(w):
            if not px[x, y] or (x, y) in seen:
                continue
            count += 1
            stack = [(x, y)]
            seen.add((x, y))
            while stack:
                cx, cy = stack.pop()
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < w and 0 <= ny < h and px[nx, ny] and (nx, ny) not in seen:
                        seen.add((nx, ny))
                        stack.append((nx, ny))
    return count
