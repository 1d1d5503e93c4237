"""Small server-side SVG charts (no JavaScript, no CDN: a hall LAN has no internet).

Each function returns an <svg> string, escaped, ready for a template's |safe.
"""

from html import escape

COLORS = {"good": "#2e7d32", "middle": "#f9a825", "bad": "#c62828", "bar": "#0b4f8a"}


def hbars(rows, width=460, unit="%", scale=100.0, title=""):
    """Horizontal bars: rows = [(label, value 0..1 or None, color)]."""
    row_h, left, top = 30, 110, 28 if title else 6
    height = top + row_h * len(rows) + 6
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">'
        % (width, height, escape(title))
    ]
    if title:
        out.append('<text x="0" y="18" font-size="16" font-weight="bold">%s</text>' % escape(title))
    span = width - left - 70
    for i, (label, value, color) in enumerate(rows):
        y = top + i * row_h
        w = 0 if value is None else max(1, int(span * min(value, 1.0)))
        text = "-" if value is None else "%.1f%s" % (value * scale, unit)
        out.append(
            '<text x="%d" y="%d" font-size="15" text-anchor="end">%s</text>'
            % (left - 8, y + 19, escape(label))
        )
        out.append('<rect x="%d" y="%d" width="%d" height="20" fill="#e9eef4"/>' % (left, y + 4, span))
        out.append('<rect x="%d" y="%d" width="%d" height="20" fill="%s"/>' % (left, y + 4, w, color))
        out.append('<text x="%d" y="%d" font-size="15">%s</text>' % (left + span + 6, y + 19, escape(text)))
    out.append("</svg>")
    return "".join(out)


def stacked_columns(columns, width=620, height=220, title=""):
    """Columns of good/middle/bad counts: columns = [(label, good, middle, bad)]."""
    top, bottom, left = 28 if title else 8, 26, 40
    plot_h = height - top - bottom
    peak = max([g + m + b for _, g, m, b in columns] or [0]) or 1
    n = max(len(columns), 1)
    slot = (width - left - 8) / n
    bar = max(4, slot * 0.7)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">'
        % (width, height, escape(title))
    ]
    if title:
        out.append('<text x="0" y="18" font-size="16" font-weight="bold">%s</text>' % escape(title))
    out.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%d</text>' % (left - 4, top + 10, peak))
    out.append(
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>'
        % (left, top + plot_h, width - 4, top + plot_h)
    )
    every = max(1, n // 10)
    for i, (label, good, middle, bad) in enumerate(columns):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for count, key in ((good, "good"), (middle, "middle"), (bad, "bad")):
            h = plot_h * count / peak
            if h > 0:
                y -= h
                out.append(
                    '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>'  # noqa: E501
                    % (x, y, bar, h, COLORS[key], escape(label), key, count)
                )
        if i % every == 0:
            out.append(
                '<text x="%.1f" y="%d" font-size="12" text-anchor="middle">%s</text>'
                % (x + bar / 2, height - 8, escape(label))
            )
    out.append("</svg>")
    return "".join(out)


def legend():
    items = (("好评", COLORS["good"]), ("中评", COLORS["middle"]), ("差评", COLORS["bad"]))
    return "".join(
        '<span style="display:inline-block;width:12px;height:12px;background:%s"></span> %s &nbsp;'
        % (color, name)
        for name, color in items
    )
