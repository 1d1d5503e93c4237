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


class LogFormatter(logging.Formatter):
    """Log lines stamped in the hall's time, whatever the host's TZ."""

    def converter(self, timestamp):  # type: ignore[override]
        return time.gmtime(timestamp + OFFSET)


class JsonLogFormatter(LogFormatter):
    """One JSON object a line (log.format = "json"): time (the hall's, with
    its offset), level, logger, message, and the traceback when there is one."""

    def format(self, record):
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + "+08:00",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)
