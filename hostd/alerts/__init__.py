"""Alerts: what needs a person, raised once when it starts and cleared once
when it ends, shown on the dashboard and sent to the hall's group chat.

    hours.py       the hall's opening hours (hall.opening_hours, working days)
    conditions.py  each condition, read from the database and the host
    ledger.py      the alerts table: raise, clear, what the webhook has not yet had
    webhook.py     WeCom / DingTalk group robots (and plain JSON): messages cut
                   to their limits, signed where the robot asks for it
    watch.py       the job of `hostd run` that checks every alerts.check_seconds
"""
