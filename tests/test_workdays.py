"""Working days: chinese-calendar, the admin's override file, and dates neither covers."""

import datetime
import logging

import chinese_calendar
import pytest
from session_rows import cst

from hostd.base import config as config_schema
from hostd.base.errors import ConfigError
from hostd.rules import workdays


def make_config(tmp_path=None, override=None, **rating):
    config = config_schema.defaults()
    config["rating"].update(rating)
    if override is not None:
        path = tmp_path / "holidays.toml"
        path.write_text(override, encoding="utf-8")
        config["rating"]["holiday_file"] = str(path)
    return config


def test_national_day_2026_and_the_adjusted_saturday():
    # 2026-09-30 (Wed) + 5 working days: 10-01..10-07 off (National Day),
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休 working day), 10-12 Mon, 10-13 Tue.
    assert chinese_calendar.is_workday(datetime.date(2026, 10, 10))
    expected = [
        d for d in chinese_calendar.get_workdays(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    ][4]
    assert expected == datetime.date(2026, 10, 13)
    created = cst(2026, 9, 30, 10, 0)
    deadline, missing = workdays.deadline_check(make_config(), created)
    assert missing == []
    assert deadline == cst(2026, 10, 14, 0, 0)  # the whole of 10-13 is in the period
    assert workdays.rating_deadline(make_config(), created) == deadline
    assert workdays.add_days(created, 5, True, workdays.Calendar()) == cst(2026, 10, 13, 10, 0)
    # Friday 10-09 + 1 working day is the adjusted Saturday, not Monday.
    assert workdays.add_days(cst(2026, 10, 9, 16, 30), 1, True) == cst(2026, 10, 10, 16, 30)


def test_natural_days():
    created = cst(2026, 9, 30, 10, 0)
    config = make_config(working_days=False, period_days=7)
    assert workdays.rating_deadline(config, created) == cst(2026, 10, 8, 0, 0)
    assert workdays.add_days(created, 7, False) == cst(2026, 10, 7, 10, 0)


def test_agrees_with_chinese_calendar_on_many_dates():
    calendar = workdays.Calendar()
    start = datetime.date(2010, 1, 1)
    for step in range(0, 5800, 37):  # every 37th day of 2010-2025
        day = start + datetime.timedelta(step)
        for days in (1, 5, 10):
            # counted from the day after the service, whatever kind of day that was
            oracle = chinese_calendar.get_workdays(day + datetime.timedelta(1), day + datetime.timedelta(40))[
                days - 1
            ]
            if chinese_calendar.is_workday(day):
                assert oracle == chinese_calendar.find_workday(days, day)
            ts = int(datetime.datetime(day.year, day.month, day.day, 9, tzinfo=workdays.ZONE).timestamp())
            got = workdays.local_date(workdays.add_days(ts, days, True, calendar))
            assert got == oracle, (day, days)


def test_uncovered_year_is_never_guessed_silently(caplog, monkeypatch):
    monkeypatch.setattr(workdays, "_cache", {})  # a fresh process: it warns once per year
    created = cst(2026, 12, 29, 10, 0)
    with caplog.at_level(logging.WARNING, logger="hostd.workdays"):
        deadline, missing = workdays.deadline_check(make_config(), created)
    assert missing == [2027]
    # Monday-Friday is the stated fallback: 12-30, 12-31, 2027-01-01 (Fri), 01-04, 01-05
    assert deadline == cst(2027, 1, 6, 0, 0)
    warned = [r for r in caplog.records if "2027" in r.getMessage()]
    assert warned and warned[0].levelname == "WARNING"
    assert "rating.holiday_file" in warned[0].getMessage()


def test_override_file_covers_2027(tmp_path, caplog):
    config = make_config(
        tmp_path,
        override="""
[2027]
holidays = ["2027-01-01", "2027-02-06..2027-02-12"]
workdays = ["2027-02-14"]
""",
    )
    created = cst(2026, 12, 31, 10, 0)
    with caplog.at_level(logging.WARNING, logger="hostd.workdays"):
        deadline, missing = workdays.deadline_check(config, created)
    assert missing == []
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    # 2027-01-01 is a holiday; 01-04..01-08 are the five working days.
    assert deadline == cst(2027, 1, 9, 0, 0)
    # Spring Festival off, Sunday 02-14 works: Fri 02-05 + 1 working day = Sun 02-14
    calendar = workdays.load_calendar(config)
    assert workdays.add_days(cst(2027, 2, 5, 9, 0), 1, True, calendar) == cst(2027, 2, 14, 9, 0)


def test_override_corrects_a_known_year(tmp_path):
    config = make_config(tmp_path, override='[2026]\nholidays = ["2026-10-08"]\n', period_days=1)
    assert workdays.rating_deadline(config, cst(2026, 9, 30, 10, 0)) == cst(2026, 10, 10, 0, 0)


@pytest.mark.parametrize(
    "text, words",
    [
        ('[2027]\nholidays = ["2027-13-01"]\n', "is not a date"),
        ('[2027]\nholiday = ["2027-01-01"]\n', "unknown key"),
        ('[2027]\nholidays = ["2028-01-01"]\n', "is not in 2027"),
        ("[next]\nholidays = []\n", "each table is a year"),
        ("[2027\n", "not valid TOML"),
    ],
)
def test_bad_override_file_says_what_to_fix(tmp_path, text, words):
    config = make_config(tmp_path, override=text)
    with pytest.raises(ConfigError) as err:
        workdays.rating_deadline(config, cst(2026, 12, 31, 10, 0))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_missing_override_file(tmp_path):
    config = make_config()
    config["rating"]["holiday_file"] = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="holiday_file"):
        workdays.rating_deadline(config, cst(2026, 12, 31, 10, 0))
