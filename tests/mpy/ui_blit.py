# Exact pixels of blit_mono and fill_rect, including odd widths and clipping.
#   micropython ui_blit.py OUT.spi
import sys

from spi_recorder import DummyPin, RecordingSPI

from firmware.panel import ST7789

dc = DummyPin()
spi = RecordingSPI(open(sys.argv[1], "wb"), dc)
panel = ST7789(spi, dc, sleep_ms=lambda ms: None)
panel.fill(0x0000)
# 13 x 3 pattern, stride 2 bytes: row r has bit x set when (x + r) % 3 == 0.
pattern = bytearray(6)
for r in range(3):
    for x in range(13):
        if (x + r) % 3 == 0:
            pattern[r * 2 + (x >> 3)] |= 0x80 >> (x & 7)
panel.blit_mono(pattern, 3, 4, 13, 3, 0xF800, 0x001F)  # red on blue
panel.blit_mono(pattern, 312, 10, 13, 3, 0x07E0, 0xFFFF)  # green on white, clipped at x=320
panel.blit_mono(pattern, 20, 238, 13, 3, 0xF800, 0x07E0)  # clipped at the bottom
panel.blit_mono(pattern, 40, 4, 9, 3, 0xFFFF, 0x0000, 2)  # left 9 columns of the 13
panel.fill_rect(300, 230, 40, 40, 0x1234)  # clipped at both edges
panel.fill_rect(100, 100, 200, 50, 0xABCD)  # larger than one chunk
spi.stream.close()
