"""Working days (stub: natural days only, until the working-day calendar lands).

Contract used by sessions and work orders:
  rating_deadline(config, created_at) -> int   end of the rate-later period
  add_days(start_ts, days, working, calendar=None) -> int
"""
DAY = 86400


def add_days(start_ts, days, working, calendar=None):
    return int(start_ts + days * DAY)


def rating_deadline(config, created_at):
    rating = config["rating"]
    return add_days(created_at, rating["period_days"], rating["working_days"])
