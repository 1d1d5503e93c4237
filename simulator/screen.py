"""Draw the device's panel in a terminal: half-block characters in 24-bit colour.

Each character cell shows two pixels, one above the other: the upper one as
the foreground of "▀", the lower one as the background. The 320x240 panel is
downscaled (box filter) to fit the terminal's width.
"""

import shutil

from PIL import Image

UPPER_HALF = "\u2580"


def size_for(columns, panel=(320, 240), max_columns=80):
    """(width, height) in pixels of the picture to draw in `columns` columns."""
    width = max(16, min(max_columns, columns))
    height = panel[1] * width // panel[0]
    return width, height + (height & 1)


def render(image, columns=None):
    """The picture as text: escape sequences plus one line per two pixel rows."""
    if columns is None:
        columns = shutil.get_terminal_size((80, 24)).columns
    width, height = size_for(columns, image.size)
    small = image.convert("RGB").resize((width, height), Image.BOX)
    px = small.load()
    lines = []
    for y in range(0, height, 2):
        cells = []
        last = None
        for x in range(width):
            top, bottom = px[x, y], px[x, y + 1]
            if (top, bottom) != last:
                cells.append("\x1b[38;2;%d;%d;%dm\x1b[48;2;%d;%d;%dm" % (*top, *bottom))
                last = (top, bottom)
            cells.append(UPPER_HALF)
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


def frame(image, status, columns=None):
    """A whole redraw: cursor home, the picture, a status line, clear below."""
    return "\x1b[H" + render(image, columns) + "\n\x1b[2K" + status + "\x1b[J"
