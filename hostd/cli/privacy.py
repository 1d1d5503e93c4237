"""`hostd privacy report`: who read evaluator data (001 四(三), 003 第十条).

hostd/cli/root.py calls register() with its group and helpers. Every read of
an evaluator's name or phone, on a page or in an export, is logged
(evaluator_access); this prints them for a period, one line per user and
purpose.
"""

import click
from tabulate import tabulate

from hostd.cli.shared import db_opener, period, when
from hostd.recording import retention


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group()
    def privacy():
        """Evaluator data: who read it.

        Example: hostd privacy report --month 2026-11
        """

    @privacy.command("report")
    @click.option("--quarter", help="e.g. 2026Q4 (default: this quarter)")
    @click.option("--month", help="e.g. 2026-11")
    @click.option("--day", help="e.g. 2026-11-21")
    @click.pass_context
    def privacy_report(ctx, quarter, month, day):
        """Who read evaluator names and phones in a period, and for what.

        Example: hostd privacy report --quarter 2026Q4
        """
        config, db = open_db(ctx)
        spec, (start, end) = period(quarter, month, day)
        rows = retention.report(db, start, end)
        click.echo(
            "%s: %d read(s) of evaluator data; rate-later addresses are kept %d days"
            % (spec, sum(r["reads"] for r in rows), config["privacy"]["retention_days"])
        )
        if rows:
            click.echo(
                tabulate(
                    [
                        [
                            r["username"],
                            r["role"],
                            r["purpose"],
                            r["ratings"],
                            r["reads"],
                            when(r["first"]),
                            when(r["last"]),
                        ]
                        for r in rows
                    ],
                    headers=["user", "role", "purpose", "ratings", "reads", "first", "last"],
                )
            )
