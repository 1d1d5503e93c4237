"""The `hostd` command line (click): one module per group of commands.

root.py       the `hostd` group, init, run, device add/list/revoke, and the
              one place a user error becomes one line (HostdGroup.invoke)
device.py     hostd device provision|flash|station|replace|label
session.py    hostd session|staff|window|unit
sync.py       hostd sync
user.py       hostd user
workorder.py  hostd workorder
appeal.py     hostd appeal|fraud
reporting.py  hostd stats|ranking|report|poster
spotcheck.py  hostd spotcheck
unresolved.py hostd unresolved (办不成事)
thirdparty.py hostd thirdparty (第三方评价)
shared.py     what the supervisors' commands share (times, periods, writes)

Imports: any room below; `hostd run` loads hostd.daemon (and its web
stack) only when it runs.
"""

from hostd.cli.root import cli, main

__all__ = ["cli", "main"]
