"""A deadline step as hall staff write it in hostd.toml and policy files:
"N hours", "N working_days", "N natural_days" or "same_day" (by the end of
the local day it started). parse() gives (amount, unit) for
hostd/rules/deadlines.py add(); label() the Chinese for pages and reports.
"""

UNITS = {"hours": "小时", "working_days": "个工作日", "natural_days": "个自然日"}
SAME_DAY = (0, "same_day")
HELP = '"N hours", "N working_days", "N natural_days" (N 1-366) or "same_day"'


def parse(text):
    """(amount, unit) of "5 working_days"; ValueError otherwise."""
    if text == "same_day":
        return SAME_DAY
    parts = text.split() if isinstance(text, str) else []
    if len(parts) == 2 and parts[0].isdigit() and parts[1] in UNITS and 0 < int(parts[0]) <= 366:
        return (int(parts[0]), parts[1])
    raise ValueError("write %s" % HELP)


def valid(text):
    try:
        parse(text)
    except ValueError:
        return False
    return True


def label(step):
    """ "5个工作日", "48小时", "当天"; "-" for none."""
    if step is None:
        return "-"
    if step == SAME_DAY:
        return "当天"
    return "%d%s" % (step[0], UNITS[step[1]])
