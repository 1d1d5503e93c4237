"""Working days (工作日): chinese-calendar plus the admin's override file.

Contract used by sessions, defaults and work orders:
  rating_deadline(config, created_at) -> int   end of the rate-later period
  add_days(start_ts, days, working, calendar=None) -> int
  deadline_check(config, created_at) -> (deadline, missing_years)

Days are China days: dates are taken in Asia/Shanghai whatever the host's
time zone, because the statutory calendar is.

The override file (config rating.holiday_file) is TOML, one table per year:

    [2027]
    holidays = ["2027-01-01", "2027-02-06..2027-02-12"]   # 法定节假日 (days off)
    workdays = ["2027-02-14"]                             # 调休 adjusted working days

A year listed there is covered: its listed dates win over chinese-calendar (so
an admin can also correct a known year), and in a year chinese-calendar does
not know, the unlisted dates follow the weekend rule (Monday-Friday work). A date is otherwise judged by
chinese-calendar, which knows 2004-2026 only.

A date that neither knows is never guessed silently: it is counted by the
plain weekend rule (Monday-Friday work), and a WARNING names the year and the
fix. The result reports the missing years, so the default-rating scheduler
(hostd/recording/defaults.py) holds the defaults of such periods until the year is added,
instead of defaulting on a guess.
"""

import datetime
import functools
import logging
import os
import tomllib
from importlib.metadata import version

import chinese_calendar

from hostd.base import hall_time
from hostd.base.errors import ConfigError

log = logging.getLogger("hostd.workdays")

ZONE = hall_time.ZONE  # the hall's time (hostd/base/hall_time.py)
DAY = 86400
_MAX_SCAN_DAYS = 400  # a period of 60 working days never spans more


class Calendar:
    """Which China dates are working days: overrides first, then chinese-calendar."""

    def __init__(self, overrides=None, source=""):
        self.overrides = overrides or {}  # year -> {date: is_workday}
        self.source = source
        self._warned = set()

    def covers(self, day):
        return day.year in self.overrides or _package_covers(day)

    def is_workday(self, day):
        """(is_workday, covered). Uncovered dates use Monday-Friday and warn."""
        year = self.overrides.get(day.year)
        if year is not None and day in year:
            return year[day], True
        if _package_covers(day):
            return chinese_calendar.is_workday(day), True
        if year is not None:  # an override year: unlisted dates follow the weekend rule
            return day.weekday() < 5, True
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "the working-day calendar does not cover %d (chinese-calendar %s knows "
                "%s; no override in %s): counting Monday-Friday for it and holding default "
                "ratings that depend on it; add [%d] to rating.holiday_file",
                day.year,
                _package_version(),
                _package_years(),
                self.source or "rating.holiday_file (unset)",
                day.year,
            )
        return day.weekday() < 5, False


def _package_years():
    lo, hi = _package_range()
    return "%d-%d" % (lo, hi)


@functools.lru_cache(maxsize=1)
def _package_range():
    days = list(chinese_calendar.constants.holidays) + list(chinese_calendar.constants.workdays)
    return min(d.year for d in days), max(d.year for d in days)


def _package_covers(day):
    return package_knows(day.year)


def package_knows(year):
    """True when chinese-calendar itself has `year` (the override is not needed)."""
    lo, hi = _package_range()
    return lo <= year <= hi


def _package_version():
    try:
        return version("chinesecalendar")
    except Exception:
        return "?"


def _parse_day(text, where):
    try:
        return datetime.date.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise ConfigError("%s: %r is not a date: write YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD" % (where, text))


def _expand(entry, where):
    if not isinstance(entry, str):
        raise ConfigError("%s: %r is not a date string" % (where, entry))
    if ".." in entry:
        first, last = (_parse_day(part, where) for part in entry.split("..", 1))
        if last < first:
            raise ConfigError("%s: range %r ends before it starts" % (where, entry))
        return [first + datetime.timedelta(n) for n in range((last - first).days + 1)]
    return [_parse_day(entry, where)]


def parse_overrides(raw, source="holiday file"):
    """{year: {date: is_workday}} from parsed TOML; ConfigError names what is wrong."""
    overrides = {}
    for key, table in raw.items():
        where = "%s [%s]" % (source, key)
        if not (isinstance(key, str) and key.isdigit() and len(key) == 4) or not isinstance(table, dict):
            raise ConfigError("%s: each table is a year such as [2027] with holidays/workdays lists" % where)
        year = int(key)
        unknown = set(table) - {"holidays", "workdays"}
        if unknown:
            raise ConfigError(
                "%s: unknown key(s) %s (allowed: holidays, workdays)" % (where, ", ".join(sorted(unknown)))
            )
        days = {}
        for name, working in (("holidays", False), ("workdays", True)):
            entries = table.get(name, [])
            if not isinstance(entries, list):
                raise ConfigError("%s: %s must be a list of dates" % (where, name))
            for entry in entries:
                for day in _expand(entry, "%s %s" % (where, name)):
                    if day.year != year:
                        raise ConfigError("%s: %s is not in %d" % (where, day, year))
                    days[day] = working
        overrides[year] = days
    return overrides


_cache = {}


def load_calendar(config):
    """The Calendar for this config; re-read when the override file changes."""
    path = config["rating"].get("holiday_file") or ""
    if not path:
        key = ("",)
    else:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(
                'rating.holiday_file = %r: %s: fix the path or set it to ""' % (path, exc.strerror)
            )
        key = (path, st.st_mtime_ns, st.st_size)
    calendar = _cache.get(key)
    if calendar is None:
        overrides = {}
        if path:
            try:
                with open(path, "rb") as f:
                    raw = tomllib.load(f)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError("%s: not valid TOML (%s): fix the file" % (path, exc))
            overrides = parse_overrides(raw, path)
        calendar = _cache[key] = Calendar(overrides, path)
    return calendar


def uncovered_years(config, now_ts, ahead_days=60):
    """Years the working-day calendar lacks between today and `ahead_days`
    from now (deadlines and default ratings will reach them): [] when it
    covers them all, or when periods count natural days."""
    if not config["rating"]["working_days"]:
        return []
    calendar = load_calendar(config)
    first = local_date(now_ts)
    years = sorted({first.year, local_date(now_ts + ahead_days * DAY).year})
    return [
        year
        for year in years
        if not calendar.covers(max(first, datetime.date(year, 1, 1)))
        or not calendar.covers(datetime.date(year, 12, 31))
    ]


def local_date(ts):
    return datetime.datetime.fromtimestamp(ts, ZONE).date()


def day_end(day):
    """The Unix time of the midnight that ends `day` (China time)."""
    nxt = day + datetime.timedelta(1)
    return int(datetime.datetime(nxt.year, nxt.month, nxt.day, tzinfo=ZONE).timestamp())


def _walk(start_ts, days, working, calendar):
    """(date of the Nth day after start, years not covered on the way)."""
    day = local_date(start_ts)
    missing = set()
    if not working:
        return day + datetime.timedelta(days), missing
    calendar = calendar or Calendar()
    counted = 0
    for _ in range(_MAX_SCAN_DAYS):
        if counted == days:
            return day, missing
        day += datetime.timedelta(1)
        is_work, covered = calendar.is_workday(day)
        if not covered:
            missing.add(day.year)
        if is_work:
            counted += 1
    raise ValueError("no %d working days within %d days of %s" % (days, _MAX_SCAN_DAYS, day))


def add_days(start_ts, days, working, calendar=None):
    """The same China clock time `days` natural or working days after `start_ts`.

    Working days are counted from the day after the start: a Friday 10:00
    plus 1 working day is the next working day (Monday, or a 调休 Saturday)
    at 10:00."""
    target, _missing = _walk(start_ts, days, working, calendar)
    start = datetime.datetime.fromtimestamp(start_ts, ZONE)
    moved = datetime.datetime(
        target.year, target.month, target.day, start.hour, start.minute, start.second, tzinfo=ZONE
    )
    return int(moved.timestamp())


def deadline_check(config, created_at):
    """(end of the rate-later period, sorted years the calendar lacked on the way).

    The period (rating.period_days, working or natural) counts from the day
    after the service and ends at midnight after its last day: a service on
    2026-09-30 with 5 working days may be rated until the end of 2026-10-13."""
    rating = config["rating"]
    calendar = load_calendar(config) if rating["working_days"] else None
    target, missing = _walk(created_at, rating["period_days"], rating["working_days"], calendar)
    return day_end(target), sorted(missing)


def rating_deadline(config, created_at):
    return deadline_check(config, created_at)[0]
