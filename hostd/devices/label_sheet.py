"""A printable sheet of device labels: A4 pages at 300 dpi, 3 x 8 labels of
50 x 30 mm each with a thin cut frame, saved as one PDF (Pillow writes it).

For an office printer and scissors (or A4 label stock of that grid), where
`hostd device label`'s single PNG is for a thermal label printer.
"""

import os
from pathlib import Path

from PIL import Image, ImageDraw

from hostd.devices import label

PAGE = (2480, 3508)  # A4 at 300 dpi
COLUMNS, ROWS = 3, 8
GAP = 48  # 4 mm between labels
PER_PAGE = COLUMNS * ROWS


def slot(index):
    """(left, top) in page pixels of the label at `index` on its page."""
    w, h = label.SIZE
    left0 = (PAGE[0] - COLUMNS * w - (COLUMNS - 1) * GAP) // 2
    top0 = (PAGE[1] - ROWS * h - (ROWS - 1) * GAP) // 2
    col, row = index % COLUMNS, (index // COLUMNS) % ROWS
    return left0 + col * (w + GAP), top0 + row * (h + GAP)


def pages(labels):
    """The A4 pages (mode "1") holding `labels`, PIL images of label.SIZE, in order."""
    out = []
    for n, image in enumerate(labels):
        if n % PER_PAGE == 0:
            out.append(Image.new("1", PAGE, 1))
        page = out[-1]
        left, top = slot(n)
        page.paste(image, (left, top))
        w, h = label.SIZE
        ImageDraw.Draw(page).rectangle([left - 6, top - 6, left + w + 5, top + h + 5], outline=0, width=1)
    return out


def write(path, labels):
    """Write `labels` as a PDF of A4 pages at `path` (atomically); return the page count."""
    sheets = pages(labels)
    if not sheets:
        return 0
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    sheets[0].save(tmp, format="PDF", resolution=300, save_all=True, append_images=sheets[1:])
    os.replace(tmp, path)
    return len(sheets)
