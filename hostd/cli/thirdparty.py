"""`hostd thirdparty`: 第三方评价 (明察暗访, 回访, 体验官) imported from Excel or CSV
(hostd/casework/thirdparty.py).

hostd/cli/root.py calls register() with its group and helpers.
"""

import getpass
import os

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.casework import thirdparty
from hostd.cli.shared import ACTOR_HELP, db_opener, pct, period, write
from hostd.files import tables


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group("thirdparty")
    def thirdparty_group():
        """第三方评价: import 明察暗访, 回访 and 体验官 results; see them beside the ratings.

        Example: hostd thirdparty import visits.xlsx
        """

    @thirdparty_group.command("template")
    @click.option(
        "--out",
        type=click.Path(dir_okay=False),
        default="thirdparty-template.xlsx",
        show_default=True,
        help="Where to write it: .xlsx or .csv.",
    )
    def thirdparty_template(out):
        """Write the table to fill in (the header and two example rows).

        Example: hostd thirdparty template --out visits.csv
        """
        try:
            data = thirdparty.template_file("csv" if out.lower().endswith(".csv") else "xlsx")
            with open(out, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (out, exc.strerror)) from None
        click.echo("wrote %s: fill in one row per evaluation, then hostd thirdparty import %s" % (out, out))

    @thirdparty_group.command("import")
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def thirdparty_import(ctx, path, actor):
        """Import a filled-in table: every row, or none when one is bad.

        Example: hostd thirdparty import visits.xlsx
        """
        config, db = open_db(ctx)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise UserError("cannot read %s: %s" % (path, exc.strerror)) from None
        kind, rows = tables.read(data, config["web"]["upload_max_kb"])
        name = os.path.basename(path)
        try:
            done = write(
                db,
                lambda db: thirdparty.import_table(
                    db, config["hall"]["id"], kind, data, rows, name, actor, clock.now()
                ),
            )
        except thirdparty.ImportRefused as exc:
            for line in exc.errors:
                click.echo("  " + line, err=True)
            raise
        click.echo("imported %d evaluation(s) from %s (batch %d)" % (done["rows"], name, done["batch_id"]))

    @thirdparty_group.command("summary")
    @click.option("--quarter", help="e.g. 2026Q4 (default: this quarter)")
    @click.option("--by", type=click.Choice(("window", "staff")), default="window", show_default=True)
    @click.pass_context
    def thirdparty_summary(ctx, quarter, by):
        """The quarter's 四个满意度 (share 满意 or better) by window or staff member.

        Example: hostd thirdparty summary --quarter 2026Q4 --by staff
        """
        config, db = open_db(ctx)
        spec, (start, end) = period(quarter, None)
        rows = thirdparty.summary(db, config["hall"]["id"], start, end, by)
        if not rows:
            click.echo("no third-party evaluations in %s" % spec)
            return
        click.echo(
            tabulate(
                [
                    [r["key"] or "全厅", r["n"]] + [pct(r[k + "_rate"]) for k, _n in thirdparty.DIMENSIONS]
                    for r in rows
                ],
                headers=[by, "n"] + [name for _k, name in thirdparty.DIMENSIONS],
            )
        )
