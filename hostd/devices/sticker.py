"""A window's counter sticker (窗口评价二维码): an A6 PDF with its standing QR code.

`hostd window qr 07 --out sticker.pdf` writes it: the hall, the window's
title, the QR code of the window's standing link (hostd/rules/links.py
window_url: 78 mm across, which a phone reads from a metre away) and what to
do, in Chinese; fpdf2 with the installed CJK font (render.find_font).
"""

import io

from PIL import Image

from hostd.devices.render import find_font, qr_png

SIZE_MM = (105, 148)  # A6, portrait
QR_MM = 78


def write(out, url, hall_name, title, font=""):
    """Write the sticker PDF to `out`."""
    from fpdf import FPDF  # lazy: fpdf2 loads only for a sticker

    pdf = FPDF(orientation="P", unit="mm", format=SIZE_MM)
    pdf.set_auto_page_break(False)
    pdf.set_margins(8, 8, 8)
    pdf.add_font("cjk", fname=find_font(font))
    pdf.add_page()
    width = SIZE_MM[0] - 16
    pdf.set_text_color(200, 22, 29)
    pdf.set_font("cjk", size=15)
    pdf.cell(width, 9, "政务服务“好差评”", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=10)
    pdf.cell(width, 6, hall_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=20)
    pdf.cell(width, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y() + 2
    pdf.image(_png(url), x=(SIZE_MM[0] - QR_MM) / 2, y=top, w=QR_MM, h=QR_MM)
    pdf.set_y(top + QR_MM + 2)
    pdf.set_font("cjk", size=13)
    pdf.cell(width, 8, "请用手机扫码，评价本窗口的服务", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(
        width,
        4.5,
        "评价自愿、独立，工作人员看不到您的选择。如有意见建议，也可拨打 12345 政务服务便民热线。",
        align="C",
    )
    pdf.set_font("cjk", size=6)
    pdf.set_y(SIZE_MM[1] - 8)
    pdf.cell(width, 4, url, align="C")
    pdf.output(str(out))


def _png(url):
    return Image.open(io.BytesIO(qr_png(url, 1200)))
