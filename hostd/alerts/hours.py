"""The hall's opening hours: hall.opening_hours ("08:30-12:00" ...) on working days.

A device silent at night or on a holiday is no news; the same silence at
10:00 on a working day is a window that cannot take ratings.
"""

import datetime

from hostd.base import hall_time
from hostd.rules import workdays


def is_open(config, ts):
    """Whether the hall is open at `ts`: a working day (the calendar, with its
    调休 days) and within one of hall.opening_hours, in the hall's time."""
    local = datetime.datetime.fromtimestamp(ts, hall_time.ZONE)
    working, _covered = workdays.load_calendar(config).is_workday(local.date())
    if not working:
        return False
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in map(hall_time.parse_span, config["hall"]["opening_hours"]))


def open_seconds(config, start, end, cap):
    """Seconds the hall was open between `start` and `end`, counted back from
    `end` and no further than `cap` (enough to know a limit is reached)."""
    if end <= start:
        return 0
    calendar = workdays.load_calendar(config)
    spans = [hall_time.parse_span(s) for s in config["hall"]["opening_hours"]]
    total, day = 0, hall_time.day_start(end)
    while day + 86400 > start and total < cap:
        date = datetime.datetime.fromtimestamp(day + 43200, hall_time.ZONE).date()
        if calendar.is_workday(date)[0]:
            for a, b in spans:
                total += max(0, min(end, day + 60 * b) - max(start, day + 60 * a))
        day -= 86400
    return min(total, cap)
