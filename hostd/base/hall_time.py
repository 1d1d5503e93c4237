"""The hall's time: every time hostd shows or prints is in it.

Times are stored as UTC seconds. What people read (the pages, the CLI, the
reports, the log) is the hall's local time: China Standard Time, UTC+8, the
one time zone of every hall in China, whatever the host's own TZ is set to.
`hall.timezone` names it (default Asia/Shanghai); it must be a zone at
UTC+8 without daylight saving, because the statistics count days at UTC+8
in the database (the summary tables' day numbers).
"""

import datetime
import json
import logging
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

OFFSET = 8 * 3600  # seconds east of UTC
ZONE_NAME = "Asia/Shanghai"
ZONE = ZoneInfo(ZONE_NAME)


def valid_zone(name):
    """Whether `name` is a zone at UTC+8 all year round (Asia/Shanghai, Asia/Hong_Kong, ...)."""
    if not isinstance(name, str):
        return False
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    for month in (1, 7):  # winter and summer: no daylight saving
        offset = datetime.datetime(2026, month, 15, tzinfo=zone).utcoffset()
        if offset is None or offset.total_seconds() != OFFSET:
            return False
    return True


def when(ts, pattern="%Y-%m-%d %H:%M"):
    """`ts` (UTC seconds) in the hall's time, or "-" for none."""
    return time.strftime(pattern, time.gmtime(int(ts) + OFFSET)) if ts is not None else "-"


def day_start(ts):
    """UTC seconds of the hall's midnight that began the day of `ts`."""
    return (int(ts) + OFFSET) // 86400 * 86400 - OFFSET


def parse_span(text):
    """ "08:30-12:00" -> (510, 720) minutes of the day; ValueError when it is not one."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(text)
    a, b = _minutes(start), _minutes(end)
    if not a < b:
        raise ValueError(text)
    return a, b


def _minutes(text):
    hours, sep, minutes = text.strip().partition(":")
    if not sep or len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(text)
    h, m = int(hours), int(minutes)
    if h > 24 or m > 59 or (h == 24 and m):
        raise ValueError(text)
    return 60 * h + m


def valid_spans(value):
    """Whether `value` is a list of "HH:MM-HH:MM" spans (hall.opening_hours)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return False
    try:
        for span in value:
            parse_span(span)
    except ValueError:
        return False
    return True


class LogFormatter(logging.Formatter):
    """Log lines stamped in the hall's time, whatever the host's TZ."""

    def converter(self, timestamp):  # type: ignore[override]
        return time.gmtime(timestamp + OFFSET)


SUBJECTS = ("device", "session", "order")


def about(device=None, session=None, order=None):
    """`extra=` for a log call about one device, session or work order: the
    JSON log carries it as a field of its own, for a collector to filter on
    (the text log names it in the message)."""
    given = {"device": device, "session": session, "order": order}
    return {k: (str(v) if k != "order" else v) for k, v in given.items() if v is not None}


class JsonLogFormatter(LogFormatter):
    """One JSON object a line (log.format = "json"): time (the hall's, with
    its offset), level, logger, message, the device, session or work order it
    is about (`about()`), and the traceback when there is one."""

    def format(self, record):
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + "+08:00",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in SUBJECTS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)
