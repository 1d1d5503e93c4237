"""Render time and size of what a session pushes to the device (hostd/devices/render.py, push.py).

run(sessions=200, items=20, staff=10) renders `sessions` session screens for a
hall with `items` service items and `staff` staff members, each with its own
rate-later link (the QR code is never cached): cold (empty cache) and warm
(item and staff parts cached, a new link), plus the QR code alone as the
baseline. Quick: run(sessions=12, items=3, staff=2). Sizes are of the signed session message.
"""

import statistics
import time

from bench.common import figure
from hostd.devices import render
from protocol import messages

ITEMS = (
    "户口迁移",
    "居民身份证换领",
    "不动产登记（首次登记、转移登记、变更登记及抵押权登记）",
    "营业执照设立登记",
    "社会保障卡补换",
    "出入境通行证签注",
    "机动车驾驶证换证",
    "医疗保险关系转移接续",
)
NAMES = ("张三", "李四", "王小明", "欧阳娜娜", "赵六")
KEY = b"k" * 32


def _session(i, items, staff):
    item = (
        "%s%d" % (ITEMS[i % len(ITEMS)], (i // len(ITEMS)) % max(1, items // len(ITEMS) + 1))
        if items > len(ITEMS)
        else ITEMS[i % items]
    )
    name = NAMES[i % len(NAMES)] + ("%d" % (i % staff) if staff > len(NAMES) else "")
    qr = "http://192.168.10.2:8080/r/s%012x.1795248000.%s" % (i, "ab12" * 8)
    return item, name, qr


def _message(item, name, qr, parts):
    return messages.sign(
        KEY,
        [
            1,
            "S",
            "w07-a",
            "s0123456789ab",
            "A001",
            item[:40],
            "s1",
            name[:40],
            "0042",
            1,
            120,
            qr,
            1795248000,
            parts,
        ],
    )


def run(sessions=200, items=20, staff=10):
    renderer = render.Renderer(cache_size=4096)
    cold, warm, qr_only, sizes = [], [], [], []
    for i in range(sessions):
        item, name, qr = _session(i, items, staff)
        renderer.clear()  # cold: nothing cached
        started = time.perf_counter()
        parts = renderer.session_parts(item, name, qr)
        cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()  # warm: the same item and staff, a new session's link
        renderer.session_parts(item, name, qr + "x")
        warm.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        render.qr_part(qr + "y")
        qr_only.append((time.perf_counter() - started) * 1000)
        sizes.append(len(_message(item, name, qr, parts)))
    return {
        "sessions": sessions,
        "items": items,
        "staff": staff,
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm),
        "qr_ms": statistics.median(qr_only),
        "bytes_median": statistics.median(sizes),
        "bytes_max": max(sizes),
        "font": renderer.font_path,
    }


def figures(result):
    shape = "%d sessions over %d items and %d staff, font %s" % (
        result["sessions"],
        result["items"],
        result["staff"],
        result["font"],
    )
    return {
        "render_ms_median_cold": figure(
            round(result["cold_ms"], 2),
            "ms",
            "item name (2 lines), staff name and QR module matrix rendered to 1-bit parts with"
            " an empty cache (%s)" % shape,
            baseline="render_qr_only_ms",
        ),
        "render_ms_median_warm": figure(
            round(result["warm_ms"], 2),
            "ms",
            "the same with item and staff parts cached; only the QR code is made (%s)" % shape,
            baseline="render_qr_only_ms",
        ),
        "render_qr_only_ms": figure(
            round(result["qr_ms"], 2),
            "ms",
            "qrcode alone: the session's link to its module"
            " matrix part, the floor of a warm render (%s)" % shape,
        ),
        "session_message_bytes": figure(
            result["bytes_median"],
            "bytes",
            "signed session message (S) with its parts, median;"
            " max %d; limit %d (%s)" % (result["bytes_max"], messages.MAX_HOST_MESSAGE, shape),
        ),
    }
