"""Reporting periods: days, ISO weeks, months and quarters in China Standard
Time (UTC+8, no DST), as half-open [start, end) Unix seconds."""

import calendar
import datetime
import re
import time

from hostd.base import hall_time

TZ = hall_time.OFFSET  # the hall's time (hostd/base/hall_time.py)


class BadPeriod(ValueError):
    pass


def _local(y, m, d):
    return calendar.timegm((y, m, d, 0, 0, 0)) - TZ


def period(spec):
    """(start, end) of "2026Q4", "2026-11", "2026-11-21" or "2026-W47" (ISO week)."""
    spec = spec.strip()
    m = re.fullmatch(r"(\d{4})[Qq]([1-4])", spec)
    if m:
        y, q = int(m.group(1)), int(m.group(2))
        first = 3 * (q - 1) + 1
        end = _local(y + 1, 1, 1) if q == 4 else _local(y, first + 3, 1)
        return _local(y, first, 1), end
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", spec)
    if m and 1 <= int(m.group(2)) <= 12:
        y, mo = int(m.group(1)), int(m.group(2))
        return _local(y, mo, 1), (_local(y + 1, 1, 1) if mo == 12 else _local(y, mo + 1, 1))
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", spec)
    if m:
        start = _local(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return start, start + 86400
    m = re.fullmatch(r"(\d{4})-W(\d{1,2})", spec)
    if m:
        monday = datetime.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        start = _local(monday.year, monday.month, monday.day)
        return start, start + 7 * 86400
    raise BadPeriod("period %r: use 2026Q4, 2026-11, 2026-11-21 or 2026-W47" % spec)


def quarter_of(ts):
    t = time.gmtime(ts + TZ)
    return "%dQ%d" % (t.tm_year, (t.tm_mon + 2) // 3)


def day_start(ts):
    return (int(ts) + TZ) // 86400 * 86400 - TZ
