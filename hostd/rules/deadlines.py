"""整改时限: when a 差评 work order must be contacted and done, by policy.

The seeds disagree (policy.md "Deadlines"), so the hall picks a policy in
hostd.toml, `[workorder] policy`, from the presets of hostd/rules/presets.toml
(changsha-1210, ezhou, ezhou-pilot, heilongjiang, qijiang) or its own
`workorder.policy_file` (hostd/rules/policies.py). A policy sorts orders into
classes (simple / general / complex), each with its deadlines; a new order
starts in the policy's default class and a supervisor may move it.
Working days come from hostd.rules.workdays (chinese-calendar + the admin override).
"""

from hostd.base import hall_time
from hostd.rules import policies, workdays

HOUR = 3600
COMPLEXITIES = policies.CLASSES
_active = {"config": None}


def use(config):
    """Make `config` the one the pipeline hook (workorders.on_rating) uses.
    hostd run and the CLI call this once with the validated hostd.toml; a
    policy that does not exist or does not parse stops them here (ConfigError)."""
    if config is not None:
        policies.active(config)
    _active["config"] = config


def _config(config):
    return config if config is not None else _active["config"]


def preset(config=None):
    """The active policy (hostd/rules/policies.py form)."""
    return policies.active(_config(config))


def classes(config=None):
    """{class: {"label", "done", "contact", "consult"}} of the active policy, in order."""
    return preset(config)["classes"]


def default_class(config=None):
    return preset(config)["default"]


def add(start, step, config=None):
    """`start` plus one (amount, unit) step, as Unix seconds. Working days
    follow the hall's calendar (chinese-calendar + rating.holiday_file);
    "same_day" is the last second of the local day of `start`."""
    amount, unit = step
    if unit == "same_day":
        return hall_time.day_start(start) + 86400 - 1
    if unit == "hours":
        return int(start + amount * HOUR)
    config = _config(config)
    calendar = workdays.load_calendar(config) if config else None
    return int(workdays.add_days(start, amount, unit == "working_days", calendar))


def due_dates(config, opened_at, complexity=None):
    """{"contact_due": int or None, "done_due": int} for an order of class
    `complexity` (the policy's default when None) opened at `opened_at`."""
    rules = classes(config)
    complexity = complexity or default_class(config)
    if complexity not in rules:
        raise ValueError("class must be one of %s under this policy" % ", ".join(rules))
    one = rules[complexity]
    return {
        "contact_due": add(opened_at, one["contact"], config) if one["contact"] else None,
        "done_due": add(opened_at, one["done"], config),
    }


def class_lines(config=None):
    """[(class, "简单问题：联系 1个工作日，办结 2个工作日", consult)] for forms and reports."""
    lines = []
    for key, one in classes(config).items():
        text = "%s：%s办结 %s%s" % (
            one["label"],
            "联系 %s，" % policies.step_label(one["contact"]) if one["contact"] else "",
            policies.step_label(one["done"]),
            "，须会商" if one["consult"] else "",
        )
        lines.append((key, text, one["consult"]))
    return lines


def describe(config=None):
    """The active policy in one Chinese line (for the dashboard and reports)."""
    return preset(config)["label"]
