"""整改时限: when a 差评 work order must be contacted and done, by policy preset.

The seeds disagree (policy.md "Deadlines"), so the hall picks a preset in
hostd.toml, `[workorder] policy`:
  changsha-1210  长沙“1210”: contact within 1 working day, simple issues done
                 in 2 working days, complex ones in 10 working days
  ezhou          鄂州: revisit within 48 hours, simple 5, complex 15 natural days
  heilongjiang   黑龙江: verified and rectified within 10 working days
Working days come from hostd.rules.workdays (chinese-calendar + the admin override).
"""

from hostd.rules import workdays

HOUR = 3600

# step = (amount, unit); unit: "hours", "working_days" or "natural_days"
PRESETS = {
    "changsha-1210": {
        "label": "长沙“1210”：1个工作日内联系，简单问题2个工作日、复杂问题10个工作日内办结",
        "contact": (1, "working_days"),
        "simple": (2, "working_days"),
        "complex": (10, "working_days"),
    },
    "ezhou": {
        "label": "鄂州：48小时内回访，简单问题5个自然日、复杂问题15个自然日内办结",
        "contact": (48, "hours"),
        "simple": (5, "natural_days"),
        "complex": (15, "natural_days"),
    },
    "heilongjiang": {
        "label": "黑龙江：10个工作日内核实整改",
        "contact": None,
        "simple": (10, "working_days"),
        "complex": (10, "working_days"),
    },
}
DEFAULT = "changsha-1210"
COMPLEXITIES = ("simple", "complex")
_active = {"config": None}


def use(config):
    """Make `config` the one the pipeline hook (workorders.on_rating) uses.
    hostd run and the CLI call this once with the validated hostd.toml."""
    _active["config"] = config


def preset(config=None):
    config = config if config is not None else _active["config"]
    name = ((config or {}).get("workorder") or {}).get("policy", DEFAULT)
    return PRESETS[name]


def add(start, step, config=None):
    """`start` plus one (amount, unit) step, as Unix seconds. Working days
    follow the hall's calendar (chinese-calendar + rating.holiday_file)."""
    amount, unit = step
    if unit == "hours":
        return int(start + amount * HOUR)
    config = config if config is not None else _active["config"]
    calendar = workdays.load_calendar(config) if config else None
    return int(workdays.add_days(start, amount, unit == "working_days", calendar))


def due_dates(config, opened_at, complexity="simple"):
    """{"contact_due": int or None, "done_due": int} for an order opened at `opened_at`."""
    if complexity not in COMPLEXITIES:
        raise ValueError("complexity must be one of %s" % ", ".join(COMPLEXITIES))
    rules = preset(config)
    contact = rules["contact"]
    return {
        "contact_due": add(opened_at, contact, config) if contact else None,
        "done_due": add(opened_at, rules[complexity], config),
    }


def describe(config=None):
    """The active policy in one Chinese line (for the dashboard and reports)."""
    return preset(config)["label"]
