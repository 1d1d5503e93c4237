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
