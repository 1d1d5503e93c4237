"""Render what the device cannot draw: Chinese text and the QR code, as 1-bit parts.

The device has no CJK font, so the host sends `parts`: [name, width, height,
base64 of MONO_HLSB bytes] (row-major, MSB first, rows padded to whole
bytes, 1 = ink). firmware/display.py centres each part in its box:

    item    300 x 48   the item name (事项名称), two lines, ellipsis after
    staff   192 x 24   the staff name (工作人员姓名); 工号 is drawn by the device
    window  300 x 48   the window's name on the idle screen
    qr      the module matrix, one pixel per module: the device scales it up

Text parts are cropped to their ink, so short names cost few bytes.
Text parts are cached per (font, name, text): per item and per staff member.
The QR code is not cached (each session has its own link).
"""

import base64
import io
import os
import shutil
import subprocess
import threading
from collections import OrderedDict

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from hostd.base.errors import UserError
from hostd.devices import mono

ITEM_BOX = (300, 48)
STAFF_BOX = (196, 24)  # the name, then 工号 and the number, in one font
WINDOW_BOX = (300, 48)
ITEM_FONT_PX = 24  # two lines of 24 px in the 48 px box: the item is read first
STAFF_FONT_PX = 22
WINDOW_FONT_PX = 24
STAFF_NO_LABEL = "工号 "
STAFF_NO_GAP = "  "
QR_BORDER = 2  # modules of quiet zone inside the bitmap; the panel around it is white too
ELLIPSIS = "…"
KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/unifont/unifont.otf",
    "/usr/share/fonts/truetype/unifont/unifont.ttf",
)
CACHE_SIZE = 512


class NoFont(UserError):
    """No CJK font to render with."""


def find_font(configured=""):
    """The font file: render.font from hostd.toml, else the installed CJK font."""
    if configured:
        if not os.path.isfile(configured):
            raise NoFont('render.font = %r: no such file; fix hostd.toml or set it to ""' % configured)
        return configured
    for path in KNOWN_FONTS:
        if os.path.isfile(path):
            return path
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and os.path.isfile(out) and "dejavu" not in out.lower():
            return out
    raise NoFont(
        "no Chinese font installed: `apt-get install fonts-wqy-microhei`, or set render.font in hostd.toml"
    )


def pack(image):
    """A mode-'1' image (1 = ink) as MONO_HLSB bytes."""
    return image.tobytes()


def part(name, image):
    return [name, image.width, image.height, base64.b64encode(pack(image)).decode("ascii")]


def unpack(part_list):
    """(width, height, bytes) of a part: for tests and benches."""
    _name, w, h, b64 = part_list
    return w, h, base64.b64decode(b64)


def wrap(text, font, width, lines):
    """Split `text` into at most `lines` lines of at most `width` pixels; the
    last line ends in an ellipsis when text is left over."""
    text = " ".join(text.split())
    out = []
    rest = text
    while rest and len(out) < lines:
        n = _fit(rest, font, width)
        line, rest = rest[:n], rest[n:].lstrip()
        if rest and len(out) == lines - 1:
            while line and font.getlength(line + ELLIPSIS) > width:
                line = line[:-1]
            line = line.rstrip() + ELLIPSIS
            rest = ""
        out.append(line)
    return out


def _fit(text, font, width):
    """How many leading characters of `text` fit in `width` pixels (>= 1);
    break at a space when the line holds Latin words."""
    if font.getlength(text) <= width:
        return len(text)  # the common case, a short name: one measure, no search
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    if lo < len(text) and text[lo] != " " and " " in text[:lo]:
        cut = text[:lo].rfind(" ")
        if cut > 0 and text[cut - 1 : cut].isascii() and text[lo : lo + 1].isascii():
            return cut
    return lo


def text_image(lines, font, box, line_px):
    """Lines of text in a 1-bit image no wider than its ink, box-high at most."""
    w, h = box
    gray = Image.new("L", (w, min(h, line_px * len(lines))), 0)
    draw = ImageDraw.Draw(gray)
    ascent, descent = font.getmetrics()
    for i, line in enumerate(lines):
        y = i * line_px + (line_px - ascent - descent) // 2
        draw.text((0, y), line, font=font, fill=255)
    image = mono.to_mono(gray)
    bbox = image.getbbox() or (0, 0, 1, 1)
    return image.crop((0, bbox[1], bbox[2], bbox[3]))  # ink only: the device centres it


class Renderer:
    """Renders and caches text parts; thread-safe (the web server calls it)."""

    def __init__(self, font_path=None, cache_size=CACHE_SIZE):
        self.font_path = find_font(font_path or "")
        self._fonts = {}
        self._cache = OrderedDict()
        self._lock = threading.Lock()
        self.cache_size = cache_size
        self.hits = self.misses = 0

    def font(self, px):
        font = self._fonts.get(px)
        if font is None:
            font = self._fonts[px] = ImageFont.truetype(self.font_path, px)
        return font

    def _cached(self, key, make):
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return found
        made = make()
        with self._lock:
            self.misses += 1
            self._cache[key] = made
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return made

    def clear(self):
        with self._lock:
            self._cache.clear()

    def item(self, item_name):
        def make():
            font = self.font(ITEM_FONT_PX)
            lines = wrap(item_name, font, ITEM_BOX[0], 2)
            return part("item", text_image(lines, font, ITEM_BOX, ITEM_BOX[1] // 2))

        return self._cached(("item", item_name), make)

    def staff(self, staff_name, staff_no=None):
        """The staff member's name and, on the same line in the same font, 工号
        and their number (the device draws no ASCII beside Chinese). One line
        keeps the session message within the device's buffer; a long name is
        shortened, never the number."""

        def make():
            font = self.font(STAFF_FONT_PX)
            number = (STAFF_NO_GAP + STAFF_NO_LABEL + staff_no) if staff_no else ""
            room = STAFF_BOX[0] - int(font.getlength(number))
            name = wrap(staff_name, font, max(room, STAFF_FONT_PX), 1)
            line = (name[0] if name else "") + number
            return part("staff", text_image([line], font, STAFF_BOX, STAFF_BOX[1]))

        return self._cached(("staff", staff_name, staff_no), make)

    def window(self, window_title):
        def make():
            font = self.font(WINDOW_FONT_PX)
            lines = wrap(window_title, font, WINDOW_BOX[0], 1)
            return part("window", text_image(lines, font, WINDOW_BOX, WINDOW_BOX[1]))

        return self._cached(("window", window_title), make)

    def session_parts(self, item_name, staff_name, qr_text, staff_no=None):
        return [self.item(item_name), self.staff(staff_name, staff_no), qr_part(qr_text)]

    def idle_parts(self, window_title, staff_name=None, staff_no=None, qr_text=None):
        """The idle screen's parts; qr_text: the window's standing link, which the
        device shows while it cannot take presses (offline, outbox full)."""
        parts = [self.window(window_title)]
        if staff_name:
            parts.append(self.staff(staff_name, staff_no))
        if qr_text:
            parts.append(qr_part(qr_text))
        return parts


def qr_matrix(text):
    """The QR code's modules (list of rows of bools), quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QR_BORDER)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def qr_png(text, width):
    """The QR code of `text` as a 1-bit PNG at most `width` pixels wide (whole
    pixels a module, quiet zone included), at 203 dpi: for a receipt printer."""
    matrix = qr_matrix(text)
    modules = len(matrix)
    box = max(1, width // modules)
    image = Image.new("1", (modules * box, modules * box), 1)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle((x * box, y * box, x * box + box - 1, y * box + box - 1), fill=0)
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(203, 203))
    return out.getvalue()


def qr_part(text):
    matrix = qr_matrix(text)
    size = len(matrix)
    image = Image.new("1", (size, size), 0)
    px = image.load()
    assert px is not None  # an image made in memory always has its pixels
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                px[x, y] = 1
    return part("qr", image)


_shared = {}
_shared_lock = threading.Lock()


def renderer_for(config):
    """One Renderer per font path for the process (its cache is shared)."""
    path = config["render"]["font"]
    with _shared_lock:
        found = _shared.get(path)
        if found is None:
            found = _shared[path] = Renderer(path)
        return found
