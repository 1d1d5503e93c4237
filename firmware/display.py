# Screens of the 评价器 (rating device) on a 320x240 panel (firmware/panel.py).
#
# Nothing is kept as a full-screen framebuffer. Each screen is drawn as filled
# rectangles and small 1-bit bitmaps:
#   - fixed Chinese text from firmware/glyphs.py (generated from the T<size>
#     strings below by tools/make_glyphs.py);
#   - dynamic Chinese text (item, staff and window names) and the QR code as
#     bitmaps the host sends in `parts`: [name, width, height, base64 of
#     MONO_HLSB bytes], names "item", "staff", "qr", "window"; the running
#     device has them on flash instead, [name, width, height, (file,
#     offset)] (firmware/hostmsg.py), and both are read a few rows at a time;
#   - ASCII (codes and numbers) with framebuf's built-in 8x8 font, scaled up.
# A missing part falls back to ASCII (item_code, staff_no, window).
import binascii

import framebuf

from firmware import glyphs
from protocol.compat import const

# Fixed UI text, one tuple per glyph size in pixels: T<size>, read by index
# (the consts below). Change a string here, then run tools/make_glyphs.py.
# A tuple a size, not a name a string: every module-level name stays in the
# qstr pool for good, and the firmware's names must fit the pool block they
# share (README, "Device heap").
# The per-button texts, left to right: "|" between buttons, "/" between a
# tile's lines. One string each, cut when drawn: the pieces as tuples of
# strings would stay in the heap (~0.7 KB), a string stays in ROM.
# Citizen-facing text is 20 px at least (about 4 mm on a 2.8" panel), the
# host's item name 24 px; the glyphs are rendered for 1 bit without broken
# strokes (tools/make_glyphs.py, tests/test_glyph_strokes.py).
T20 = (
    "非常/满意|满意|基本/满意|不满意|非常/不满意",
    # The reason screen's two pages, five buttons each; "" is a blank tile.
    "态度|效率|质量|环境|更多|便捷性|其他|跳过||返回",
    "请选择不满意的原因",
    "秒后自动跳过0123456789",  # the countdown's words, then its digits' glyphs
    "扫码评价|补充意见",  # the caption under the QR code
    "离线",
    "请扫窗口二维码评价",  # 设备已停用: where else to rate
    "按键暂停，请扫二维码评价",  # outbox full: presses are refused
)
_LEVELS = const(0)  # T20 and T32
_REASONS = const(1)
_REASON_PROMPT = const(2)
_COUNT = const(3)
_CAPTION = const(4)
_OFFLINE = const(5)
_ELSEWHERE = const(6)
_FULL = const(7)
_COUNT_WORDS = const(6)  # the characters of T20[_COUNT] before its digits
T24 = ("请您评价",)
_PROMPT = const(0)
T32 = ("非常满意|满意|基本满意|不满意|非常不满意", "谢谢您的评价", "暂停服务", "设备已停用")
_THANKS = const(1)
_PAUSED = const(2)
_REVOKED = const(3)

# Layout and colours: const(), so they cost the device no heap (RGB565
# values: panel.rgb565(255, 255, 255) and so on; tests/test_display.py checks
# the panel's pixels against the same numbers).
_WIDTH = const(320)
_WHITE = const(0xFFFF)
_BLACK = const(0x0000)
_RED = const(0xA800)  # rgb565(170, 0, 0)
_REASON_BG = const(0x01F1)  # rgb565(0, 60, 140)
# Per button, left to right (levels 5..1): tile colour, text colour.
OPTION_COLOURS = (
    (0x0320, _WHITE),  # 非常满意: dark green, rgb565(0, 100, 0)
    (0x0420, _WHITE),  # 满意: green, rgb565(0, 135, 0)
    (0xFDE0, _BLACK),  # 基本满意: amber, rgb565(255, 190, 0)
    (0xC9E0, _WHITE),  # 不满意: orange-red, rgb565(200, 60, 0)
    (0xA000, _WHITE),  # 非常不满意: red, rgb565(160, 0, 0)
)

_BUTTONS = const(5)
_COLUMN = const(64)  # _WIDTH // _BUTTONS: each option sits over its physical button
_TILE_Y = const(192)
_TILE_H = const(48)
MARKER = (2, 160, 44, 24)  # the "离线" badge, left of the QR code's caption
_WHY_CHARS = const(18)  # why offline, in 8x8 ASCII right of the badge (up to the QR code)
_QR_X = const(204)  # the QR code's box: right of the staff and the prompt
_QR_Y = const(52)
_QR_W = const(114)
_QR_H = const(99)  # 3 pixels a module up to 33 modules (version 3 and its quiet zone)
_COUNT_Y = const(100)  # the reason screen's countdown line
_COUNT_W = const(26)  # its two digits, left of its words
_CHUNK_BYTES = const(192)  # bitmap bytes decoded or read at a time
_QR_ROWS = const(6)  # QR module rows scaled per blit (a multiple of 3)
_STRIP_BYTES = const(360)  # _QR_ROWS scaled rows of a QR code up to 120 pixels wide


def _segment(text, index, sep):
    """Part `index` of `text` split at `sep`, as one slice: split() would
    leave a list and a string per part behind on every screen."""
    start = 0
    for _ in range(index):
        start = text.find(sep, start) + 1
    end = text.find(sep, start)
    return text[start:] if end < 0 else text[start:end]


def option_x(index):
    """Left edge and width of the tile over button `index` (0 = leftmost)."""
    return index * _COLUMN + 1, _COLUMN - 2


def find_part(parts, name):
    """(width, height, ref) of the named host bitmap, or None if it is absent
    or malformed. `ref` is its base64 text as on the wire (checked: long
    enough, first rows decode), or (open file, offset) of its bytes on
    flash (firmware/hostmsg.py PartStore, checked when stored). Either way it is
    read a few rows at a time while drawing (rows()), never as a whole."""
    if not parts:
        return None
    for part in parts:
        if isinstance(part, list) and len(part) == 4 and part[0] == name:
            w, h, ref = part[1], part[2], part[3]
            if not isinstance(w, int) or not isinstance(h, int) or w <= 0 or h <= 0:
                return None
            if isinstance(ref, tuple):
                return w, h, ref
            if not isinstance(ref, str) or len(ref) < (((w + 7) >> 3) * h + 2) // 3 * 4:
                return None  # shorter than the bitmap it claims
            try:
                for _ in rows(ref, (w + 7) >> 3, min(h, 3)):
                    pass  # the first rows decode (the rest is checked as drawn)
            except ValueError:
                return None
            return w, h, ref
    return None


def rows(ref, stride, h, step=0, buf=None):
    """Yield (first row, row count, buffer) of a MONO_HLSB bitmap, `step`
    rows at a time (default: about _CHUNK_BYTES). `ref` is base64 text (step
    is a multiple of 3, so each chunk is whole 3-byte groups and decodes
    alone) or (open file, offset) on flash, read into `buf` when it is big enough
    (the display's own, taken at boot). Raises ValueError on bad or short data."""
    step = step or max(3, _CHUNK_BYTES // stride // 3 * 3)
    if isinstance(ref, str):
        row = 0
        while row < h:
            n = min(step, h - row)
            start = row * stride // 3 * 4
            data = binascii.a2b_base64(ref[start : start + (n * stride + 2) // 3 * 4])
            if len(data) < n * stride:
                raise ValueError("short bitmap")
            yield row, n, data
            row += n
        return
    if buf is None or len(buf) < min(step, h) * stride:
        buf = bytearray(min(step, h) * stride)
    f = ref[0]  # the parts file, open for as long as the device runs
    try:
        f.seek(ref[1])
        view = memoryview(buf)
        row = 0
        while row < h:
            n = min(step, h - row)
            if f.readinto(view[: n * stride]) < n * stride:  # this chunk's rows only
                raise ValueError("short bitmap")
            yield row, n, buf
            row += n
    except OSError:
        raise ValueError("bitmap file unreadable")


class Display:
    def __init__(self, panel):
        self.panel = panel
        self.full = False  # outbox full: presses refused, the citizen sent to the QR code
        self.online = True
        self.why = ""  # offline: why, in ASCII for hall IT ("WIFI PASSWORD"), beside the badge
        self.missing = 0  # characters drawn with no glyph (a bug in the UI text)
        self.failed = 0  # bitmaps left out for want of heap
        self.screen = None  # name of the screen on the panel
        self._redraw = None  # (method, args) that draws the current screen
        self._glyph = bytearray(128)  # one glyph copied out of flash (32 x 32 at most)
        # Taken once, at boot, while the heap is whole: the rows of a host
        # bitmap read from flash, and the strip a QR code is scaled into.
        self._rows = bytearray(_CHUNK_BYTES)
        self._strip = bytearray(_STRIP_BYTES)

    # Public screens --------------------------------------------------------

    def show_idle(self, window, staff_no, serving, parts, options=False):
        self._show("idle", self._idle, (window, staff_no, serving, parts, options))

    def show_session(self, item_code, staff_no, parts):
        self._show("session", self._session, (item_code, staff_no, parts))

    def show_reason(self, parts, page, left):
        """The 差评 reason screen: page 0 or 1 of its choices, `left` seconds
        before it is skipped on its own."""
        self._show("reason", self._reason, (parts, page, left))

    def show_thanks(self, level):
        """Thanks. 回避式 (policy.md): the same pixels whatever was chosen,
        unless level > 0 (device setting show_level) asks to show it."""
        self._show("thanks", self._thanks, (level,))

    def show_revoked(self):
        self._show("revoked", self._revoked, ())

    def countdown(self, left):
        """Redraw the reason screen's seconds left (and nothing else)."""
        if self.screen == "reason":
            self.panel.fill_rect(4, _COUNT_Y, _COUNT_W, 20, _WHITE)
            self._count(left)

    def set_full(self, full, redraw=True):
        """Outbox full: the buttons' row says presses are refused and points
        to the QR code, until the outbox drains. The item stays on screen."""
        if full != self.full:
            self.full = full
            if redraw:
                self.redraw()

    def set_online(self, online, why=""):
        if online != self.online and self.screen == "idle":
            # Idle: the window's standing QR code comes when the link goes
            # down and goes when it is back; the staff line moves aside for it.
            self.online = online
            self.why = why
            self.redraw()
            return
        if online != self.online or why != self.why:
            if not self.online and self.why and self.screen != "revoked":
                x, y, w, _h = MARKER
                self.panel.fill_rect(x + w + 4, y + 8, len(self.why[:_WHY_CHARS]) * 8, 8, _WHITE)
            self.online = online
            self.why = why
            self._marker()

    def redraw(self):
        if self._redraw is not None:
            method, args = self._redraw
            method(*args)
            self._overlays()

    # Layout ------------------------------------------------------------------

    def _show(self, name, method, args):
        self.screen = name
        self._redraw = (method, args)
        self.redraw()

    def _overlays(self):
        if self.full and self.screen != "thanks" and self.screen != "revoked":
            # Over the buttons' row: the item, staff and QR code stay.
            self.panel.fill_rect(0, _TILE_Y, _WIDTH, _TILE_H, _RED)
            words = T20[_FULL]
            self.text(words, (_WIDTH - len(words) * 20) // 2, _TILE_Y + 14, 20, _WHITE, _RED)
        self._marker()

    def _marker(self):
        x, y, w, h = MARKER
        if self.screen == "revoked":
            return
        if self.online:
            self.panel.fill_rect(x, y, w, h, _WHITE)
        else:
            self.panel.fill_rect(x, y, w, h, _RED)
            self.text(T20[_OFFLINE], x + 2, y + 2, 20, _WHITE, _RED)
            if self.why:
                self.ascii(self.why[:_WHY_CHARS], x + w + 4, y + 8, 1, _RED, _WHITE)

    def _idle(self, window, staff_no, serving, parts, options):
        panel = self.panel
        panel.fill(_WHITE)
        if not self.part(parts, "window", 10, 4, 300, 48):
            self.ascii(window or "", 10, 16, 3, _BLACK, _WHITE)
        if not serving:
            self.text(T32[_PAUSED], (_WIDTH - 4 * 32) // 2, 100, 32, _RED, _WHITE)
            return
        # The host's staff bitmap: the name, and 工号 in the same font; left of
        # the window's standing QR code when presses may not reach the host
        # (offline, outbox full), as on the session screen.
        qr = not self.online or self.full
        x = 2 if qr else 10
        if not self.part(parts, "staff", x, 64, 196 if qr else 300, 24) and staff_no:
            self.ascii(staff_no, x, 64, 3, _BLACK, _WHITE)
        if qr:
            self._qr(parts)
        if options:
            self._options()

    def _session(self, item_code, staff_no, parts):
        self.panel.fill(_WHITE)
        if not self.part(parts, "item", 6, 2, 308, 48):
            self.ascii(item_code, 10, 14, 3, _BLACK, _WHITE)
        if not self.part(parts, "staff", 2, 62, 196, 24) and staff_no:
            self.ascii(staff_no, 2, 62, 3, _BLACK, _WHITE)
        self.text(T24[_PROMPT], 2, 110, 24, _BLACK, _WHITE)
        self._qr(parts)
        self._options()

    def _reason(self, parts, page, left):
        self.panel.fill(_WHITE)
        self.text(T20[_REASON_PROMPT], 4, 64, 20, _BLACK, _WHITE)
        self._count(left)
        self._qr(parts)  # 其他: the citizen writes it after scanning
        labels = T20[_REASONS]
        for i in range(_BUTTONS):
            label = _segment(labels, page * _BUTTONS + i, "|")
            if label:
                x, w = option_x(i)
                self._tile(i, label, _REASON_BG, _WHITE)
                self._arrow(x + w // 2, _TILE_Y + _TILE_H - 14)

    def _count(self, left):
        self.text("%d" % left, 4, _COUNT_Y, 20, _BLACK, _WHITE)
        self.text(T20[_COUNT][:_COUNT_WORDS], 4 + _COUNT_W, _COUNT_Y, 20, _BLACK, _WHITE)

    def _qr(self, parts):
        """The QR code and its caption (扫码评价 · 补充意见), when there is one."""
        if self.part(parts, "qr", _QR_X, _QR_Y, _QR_W, _QR_H):
            x = _QR_X + (_QR_W - 80) // 2
            caption = T20[_CAPTION]
            self.text(_segment(caption, 0, "|"), x, _QR_Y + _QR_H + 1, 20, _BLACK, _WHITE)
            self.text(_segment(caption, 1, "|"), x, _QR_Y + _QR_H + 20, 20, _BLACK, _WHITE)

    def _arrow(self, cx, y):
        """A small triangle pointing down, at the button below."""
        for k in range(6):
            self.panel.fill_rect(cx - 5 + k, y + k, 11 - 2 * k, 1, _WHITE)

    def _thanks(self, level):
        panel = self.panel
        panel.fill(_WHITE)
        self.text(T32[_THANKS], (_WIDTH - len(T32[_THANKS]) * 32) // 2, 88, 32, _BLACK, _WHITE)
        if level > 0:  # show_level set by the hall: not 回避式
            index = 5 - level
            label = _segment(T32[_LEVELS], index, "|")
            bg, fg = OPTION_COLOURS[index]
            w = len(label) * 32 + 32
            x = (_WIDTH - w) // 2
            panel.fill_rect(x, 140, w, 48, bg)
            self.text(label, x + 16, 148, 32, fg, bg)

    def _revoked(self):
        self.panel.fill(_WHITE)
        self.text(T32[_REVOKED], (_WIDTH - len(T32[_REVOKED]) * 32) // 2, 84, 32, _RED, _WHITE)
        words = T20[_ELSEWHERE]
        self.text(words, (_WIDTH - len(words) * 20) // 2, 140, 20, _BLACK, _WHITE)

    def _options(self):
        for i in range(_BUTTONS):
            bg, fg = OPTION_COLOURS[i]
            self._tile(i, _segment(T20[_LEVELS], i, "|"), bg, fg)

    def _tile(self, index, label, bg, fg):
        """Tile `index` with the lines of `label` ("a/b"), from its top."""
        count = label.count("/") + 1
        x, w = option_x(index)
        self.panel.fill_rect(x, _TILE_Y, w, _TILE_H, bg)
        y = _TILE_Y + (4 if count > 1 else 6)
        for i in range(count):
            line = _segment(label, i, "/")
            self.text(line, x + (w - len(line) * 20) // 2, y, 20, fg, bg)
            y += 20

    # Drawing ----------------------------------------------------------------

    def part(self, parts, name, x, y, max_w, max_h):
        """Blit a host bitmap centred in a box; False when it is missing."""
        found = find_part(parts, name)
        if found is None:
            return False
        w, h, ref = found
        try:
            self._part(ref, w, h, name == "qr", x, y, max_w, max_h)
        except ValueError:
            pass  # bad base64 further on (the signature says the host sent it)
        except MemoryError:
            self.failed += 1  # the rest of the screen still draws; presses still count
        return True

    def _part(self, ref, w, h, qr, x, y, max_w, max_h):
        stride = (w + 7) >> 3
        if qr and w * 2 <= max_w and h * 2 <= max_h:
            # The host sends the QR code as its module matrix (one pixel per
            # module, ~165 bytes instead of ~1.8 KB): scale it up here.
            scale = min(max_w // w, max_h // h)
            self._blit_scaled(
                ref, stride, w, h, scale, x + (max_w - w * scale) // 2, y + (max_h - h * scale) // 2
            )
            return
        x += max(0, (max_w - w) // 2)
        y += max(0, (max_h - h) // 2)
        w = min(w, max_w)
        for row, n, data in rows(ref, stride, min(h, max_h), 0, self._rows):
            self.panel.blit_mono(data, x, y + row, w, n, _BLACK, _WHITE, stride)

    def _blit_scaled(self, ref, stride, w, h, scale, x, y):
        """Draw a 1-bit bitmap with each pixel as a scale x scale square,
        _QR_ROWS source rows per blit, through one small strip (~230 bytes)."""
        out_stride = (w * scale + 7) >> 3
        line = out_stride * scale  # bytes of one scaled source row
        strip = self._strip
        if len(strip) < line * _QR_ROWS:
            strip = bytearray(line * _QR_ROWS)
        for first, n, data in rows(ref, stride, h, _QR_ROWS, self._rows):
            for i in range(line * n):
                strip[i] = 0
            for r in range(n):
                base = r * stride
                top = r * line
                for col in range(w):
                    if data[base + (col >> 3)] & (0x80 >> (col & 7)):
                        px = col * scale
                        for k in range(scale):
                            at = top + ((px + k) >> 3)
                            bit = 0x80 >> ((px + k) & 7)
                            for dy in range(scale):  # no slices: nothing allocated
                                strip[at + dy * out_stride] |= bit
            self.panel.blit_mono(
                strip, x, y + first * scale, w * scale, n * scale, _BLACK, _WHITE, out_stride
            )

    def text(self, text, x, y, size, fg, bg):
        """Fixed Chinese text in glyphs of `size` pixels; returns the width drawn."""
        for font in glyphs.FONTS:  # (size, chars, bitmaps)
            if font[0] == size:
                break
        else:
            font = None
        start = x
        for i in range(len(text)):
            # A slice, not text[i] nor `for ch in text`: those intern each
            # character as a qstr, which the heap never gets back.
            ch = text[i : i + 1]
            index = font[1].find(ch) if font else -1
            if index < 0:
                self.missing += 1
                self.panel.fill_rect(x, y, size, size, fg)
                self.panel.fill_rect(x + 2, y + 2, size - 4, size - 4, bg)
            else:
                n = ((size + 7) >> 3) * size
                glyph = self._glyph
                glyph[:n] = memoryview(font[2])[index * n : (index + 1) * n]
                self.panel.blit_mono(glyph, x, y, size, size, fg, bg)
            # A digit takes 3/5 of a Chinese character (its glyph's ink is
            # on the left of its cell; the next one covers the blank rest).
            x += size if ord(ch) > 127 else size * 3 // 5
        return x - start

    def ascii(self, text, x, y, scale, fg, bg):
        """ASCII in the built-in 8x8 font, each pixel drawn scale x scale."""
        text = text[: (_WIDTH - x) // (8 * scale)]
        if not text:
            return 0
        w = len(text) * 8
        small = bytearray(w)  # w x 8 pixels, MONO_HLSB
        fb = framebuf.FrameBuffer(small, w, 8, framebuf.MONO_HLSB)
        fb.text(text, 0, 0, 1)
        if scale == 1:
            self.panel.blit_mono(small, x, y, w, 8, fg, bg)
            return w
        big_w = w * scale
        big = bytearray(((big_w + 7) >> 3) * 8 * scale)
        out = framebuf.FrameBuffer(big, big_w, 8 * scale, framebuf.MONO_HLSB)
        for py in range(8):
            for px in range(w):
                if fb.pixel(px, py):
                    out.fill_rect(px * scale, py * scale, scale, scale, 1)
        self.panel.blit_mono(big, x, y, big_w, 8 * scale, fg, bg)
        return big_w
