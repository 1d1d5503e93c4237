"""`hostd spotcheck`: 回访抽查 of finished work orders (hostd/casework/spot_checks.py).

hostd/cli/root.py calls register() with its group and helpers.
"""

import getpass

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.casework import spot_checks
from hostd.cli.shared import ACTOR_HELP, db_opener, period, when, write


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group()
    def spotcheck():
        """回访抽查: draw finished work orders at random and record the callback check.

        Example: hostd spotcheck draw --percent 10 --quarter 2026Q4
        """

    @spotcheck.command("draw")
    @click.option("--percent", type=click.IntRange(1, 100), required=True, help="The share to draw, 1-100.")
    @click.option("--quarter", help="e.g. 2026Q4 (default: this quarter)")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def spotcheck_draw(ctx, percent, quarter, actor):
        """Draw a share of the quarter's finished work orders not drawn before.

        Example: hostd spotcheck draw --percent 10
        """
        _config, db = open_db(ctx)
        spec, span = period(quarter, None)
        drawn = write(db, lambda db: spot_checks.draw(db, percent, spec, span, actor, clock.now()))
        click.echo("%s: %d work order(s) drawn for a callback check: %s" % (spec, len(drawn), _ids(drawn)))

    @spotcheck.command("record")
    @click.argument("check_id", type=int)
    @click.option("--outcome", type=click.Choice(tuple(spot_checks.OUTCOMES)), required=True,
                  help="confirmed (回访属实), disputed (与记录不符) or unreachable (无法联系).")  # fmt: skip
    @click.option("--note", help="What the complainant said (needed for disputed).")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def spotcheck_record(ctx, check_id, outcome, note, actor):
        """Record what the callback check of one drawn order found.

        Example: hostd spotcheck record 3 --outcome confirmed
        """
        _config, db = open_db(ctx)
        write(db, lambda db: spot_checks.record(db, check_id, outcome, note, actor, clock.now()))
        click.echo("spot check %d: %s" % (check_id, spot_checks.OUTCOMES[outcome]))

    @spotcheck.command("list")
    @click.option("--quarter", help="e.g. 2026Q4 (default: this quarter)")
    @click.pass_context
    def spotcheck_list(ctx, quarter):
        """The quarter's draw and what each check found.

        Example: hostd spotcheck list --quarter 2026Q4
        """
        _config, db = open_db(ctx)
        spec, span = period(quarter, None)
        done = spot_checks.summary(db, spec, span)
        click.echo(
            "%s: %d finished, %d drawn, %d checked (属实 %d, 不符 %d, 无法联系 %d)"
            % (spec, done["finished"], done["drawn"], done["checked"], done["confirmed"], done["disputed"],
               done["unreachable"])
        )  # fmt: skip
        rows = spot_checks.listed(db, spec)
        if rows:
            click.echo(
                tabulate(
                    [
                        [
                            r["id"],
                            r["order_id"],
                            r["staff_name"] or r["staff_id"] or "-",
                            r["outcome_label"],
                            r["note"] or "",
                            when(r["checked_at"]),
                        ]
                        for r in rows
                    ],
                    headers=["check", "order", "staff", "outcome", "note", "checked"],
                )  # fmt: skip
            )


def _ids(ids):
    return ", ".join("#%d" % i for i in ids)
