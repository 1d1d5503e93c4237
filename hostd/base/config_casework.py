"""hostd.toml's casework settings: work orders and their deadline policy,
办不成事, the ranking and the 差评 analysis (hostd/base/config.py joins them
to the rest of SCHEMA; the same form: section, key, default, check, allowed).
"""

from hostd.base import config_checks as checks
from hostd.base import steps
from protocol.topics import valid_id

SCHEMA = (
    (
        "workorder",
        "verdict_days",
        7,
        lambda v: checks.int_between(v, 1, 60),
        "days, 1-60, the complainant's link to rate a rectification stays valid after the reply",
    ),
    # 差评 work orders and rankings (hostd/rules/deadlines.py, hostd/reporting/ranking.py).
    (
        "workorder",
        "policy",
        "changsha-1210",
        lambda v: isinstance(v, str) and valid_id(v),
        "changsha-1210 (1/2/10 working days), ezhou (48 h, 5/15 days), ezhou-pilot (on the spot,"
        " 1+5 or 15 working days with 会商), heilongjiang (10 working days), qijiang (on the spot or"
        " 5 working days), or a policy of workorder.policy_file",
    ),
    (
        "workorder",
        "policy_file",
        "",
        checks.path_or_empty,
        '"" or a TOML file of the hall\'s own 整改时限 policies, in the form of hostd/rules/presets.toml',
    ),
    # 办不成事 reports (hostd/casework/unresolved.py): their own deadlines.
    (
        "unresolved",
        "accept_within",
        "1 working_days",
        steps.valid,
        "the time the unit has to take a 办不成事 report up: " + steps.HELP,
    ),
    (
        "unresolved",
        "resolve_within",
        "10 working_days",
        steps.valid,
        "the time to solve it, or explain why it cannot be (兜底说明): " + steps.HELP,
    ),
    (
        "unresolved",
        "remind_hours",
        24,
        lambda v: checks.int_between(v, 1, 720),
        "hours, 1-720: the unit is reminded (督促整改) this long before a deadline"
        " (at half its time at the earliest)",
    ),
    ("ranking", "weight_good", 40, lambda v: checks.int_between(v, 0, 100), "a weight 0-100 for 好评率"),
    ("ranking", "weight_bad", 20, lambda v: checks.int_between(v, 0, 100), "a weight 0-100 for 1 - 差评率"),
    (
        "ranking",
        "weight_active",
        20,
        lambda v: checks.int_between(v, 0, 100),
        "a weight 0-100 for 主动评价率",
    ),
    (
        "ranking",
        "weight_rectify",
        20,
        lambda v: checks.int_between(v, 0, 100),
        "a weight 0-100 for 差评整改率",
    ),
    (
        "ranking",
        "weight_volume",
        10,
        lambda v: checks.int_between(v, 0, 100),
        "a weight 0-100 for 数据归集量 (ratings, as a share of the most any ranked subject had)",
    ),
    (
        "ranking",
        "quarter_weights",
        [1, 1, 1, 1],
        lambda v: (
            isinstance(v, list) and len(v) == 4 and all(checks.int_between(x, 0, 100) for x in v) and any(v)
        ),
        "four weights 0-100 of Q1-Q4 in the annual award, e.g. [1, 1, 1, 1] (the plain average)",
    ),
    # 差评 analysis (hostd/reporting/analysis.py) and its alerts.
    (
        "analysis",
        "concentration_count",
        3,
        lambda v: checks.int_between(v, 2, 1000),
        "差评, 2-1000: this many on one staff member or item within analysis.concentration_days"
        " raise an alert",
    ),
    ("analysis", "concentration_days", 7, lambda v: checks.int_between(v, 1, 92), "days, 1-92"),
    (
        "analysis",
        "bottom_n",
        3,
        lambda v: checks.int_between(v, 1, 100),
        "a unit in the bottom this many of the unit ranking ...",
    ),
    (
        "analysis",
        "bottom_quarters",
        2,
        lambda v: checks.int_between(v, 2, 8),
        "... for this many quarters running (2-8) is flagged (004 第十九条)",
    ),
    (
        "ranking",
        "min_ratings",
        10,
        lambda v: checks.int_between(v, 0, 100000),
        "ratings a unit/window/staff/item needs in the quarter to be ranked",
    ),
)
