"""The fleet curve as a PNG (docs/fleet-curve.png): CPU of hostd and of its
Mosquitto, and the ack latency p99, against the number of devices. Drawn
with Pillow (already a dependency) in English, so it needs no CJK font."""

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, PAD = 900, 420, 60
COLOURS = {"hostd CPU %": (200, 60, 40), "Mosquitto CPU %": (40, 110, 200), "ack p99 ms": (60, 150, 60)}


def _panel(draw, font, box, rows, series, title):
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(160, 160, 160))
    draw.text((x0, y0 - 22), title, fill=(0, 0, 0), font=font)
    xs = [r["devices"] for r in rows]
    top = max([max(r[key] or 0 for r in rows) for key in series.values()] + [1]) * 1.15

    def at(n, v):
        span = (max(xs) - min(xs)) or 1
        return x0 + 10 + (x1 - x0 - 20) * (n - min(xs)) / span, y1 - (y1 - y0) * (v or 0) / top

    for i in range(5):  # grid and labels
        v = top * i / 4
        y = at(xs[0], v)[1]
        draw.line((x0, y, x1, y), fill=(230, 230, 230))
        draw.text((x0 - 50, y - 7), "%.1f" % v, fill=(90, 90, 90), font=font)
    for n in xs:
        x = at(n, 0)[0]
        draw.text((x - 18, y1 + 6), "{:,}".format(n), fill=(90, 90, 90), font=font)
    for row, (label, key) in enumerate(series.items()):
        points = [at(r["devices"], r[key]) for r in rows]
        draw.line(points, fill=COLOURS[label], width=3)
        for x, y in points:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=COLOURS[label])
        draw.text((x1 - 170, y0 + 8 + 18 * row), label, fill=COLOURS[label], font=font)


def plot(raw, path):
    rows = sorted(raw["sizes"], key=lambda r: r["devices"])
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(14)
    half = WIDTH // 2
    _panel(
        draw,
        font,
        (PAD, PAD, half - 20, HEIGHT - PAD),
        rows,
        {"hostd CPU %": "hostd_cpu_pct", "Mosquitto CPU %": "broker_cpu_pct"},
        "CPU (% of one core) by devices",
    )
    _panel(
        draw,
        font,
        (half + PAD, PAD, WIDTH - 20, HEIGHT - PAD),
        rows,
        {"ack p99 ms": "ack_ms_p99"},
        "rating ack latency p99 (ms) by devices",
    )
    draw.text(
        (PAD, HEIGHT - 22),
        "devices (1%% rate), heartbeat every %d s" % raw["heartbeat_s"],
        fill=(0, 0, 0),
        font=font,
    )
    image.save(path)
    return path
