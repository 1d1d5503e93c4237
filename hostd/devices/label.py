"""A device label (设备标签): a 1-bit PNG for a 50 x 30 mm label at 300 dpi.

The QR code (of the device id, for scanning at replacement time) fills the
left square; the right side reads 设备编号 / 大厅 / 窗口. Pure black and white
(mode "1"), so a thermal label printer prints it as it is.
"""

import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from hostd.base.errors import UserError
from hostd.devices import render as parts

DPI = 300
SIZE = (590, 354)  # 50 x 30 mm at 300 dpi
MARGIN = 14
FONT_ENV = "HOSTD_LABEL_FONT"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


class FontMissing(UserError):
    pass


def font_path(path=None):
    path = Path(path or os.environ.get(FONT_ENV) or DEFAULT_FONT)
    if not path.is_file():
        raise FontMissing(
            "no CJK font at %s: install fonts-wqy-microhei (apt-get install "
            "fonts-wqy-microhei) or pass --font FILE (env %s)" % (path, FONT_ENV)
        )
    return path


def qr_matrix(device_id):
    """The QR modules (True = dark), quiet zone included: the same code as a
    device screen's (hostd.devices.render)."""

    return parts.qr_matrix(device_id)


def qr_geometry(device_id):
    """(left, top, module size in px, modules per side) of the QR on the label."""
    modules = len(qr_matrix(device_id))
    box = (SIZE[1] - 2 * MARGIN) // modules
    top = (SIZE[1] - box * modules) // 2
    return MARGIN, top, box, modules


def _fit(draw, text, font_file, size, width):
    while size > 12:
        font = ImageFont.truetype(str(font_file), size)
        if draw.textlength(text, font=font) <= width:
            return font
        size -= 2
    return ImageFont.truetype(str(font_file), size)


def render(device_id, hall, window, font=None):
    """The label as a PIL image, mode "1", SIZE pixels, 300 dpi."""

    font_file = font_path(font)
    image = Image.new("1", SIZE, 1)
    draw = ImageDraw.Draw(image)
    left, top, box, modules = qr_geometry(device_id)
    for y, row in enumerate(qr_matrix(device_id)):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * box, top + y * box
                draw.rectangle([x0, y0, x0 + box - 1, y0 + box - 1], fill=0)
    text_left = left + box * modules + MARGIN
    width = SIZE[0] - text_left - MARGIN
    lines = [("设备编号", device_id), ("大厅", hall), ("窗口", window)]
    y = MARGIN + 6
    for caption, value in lines:
        draw.text((text_left, y), caption, font=_fit(draw, caption, font_file, 30, width), fill=0)
        y += 38
        draw.text((text_left, y), value, font=_fit(draw, value, font_file, 44, width), fill=0)
        y += 62
    return image


def write(path, device_id, hall, window, font=None):
    return save(path, render(device_id, hall, window, font))


def save(path, image):
    """Write a rendered label as a 300 dpi PNG (atomically); return the path."""
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    image.save(tmp, format="PNG", dpi=(DPI, DPI))
    os.replace(tmp, path)
    return path
