"""`hostd unresolved`: 办不成事 reports (hostd/casework/unresolved.py), for the
办不成事 window and the units that follow them.

hostd/cli/root.py calls register() with its group and helpers.
"""

import getpass

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.casework import unresolved
from hostd.cli.shared import ACTOR_HELP, db_opener, when, write


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group("unresolved")
    def unresolved_group():
        """办不成事: register a problem nobody could solve, follow it to its end.

        Example: hostd unresolved add --unit u-tax --problem "异地社保转移无法办理"
        """

    @unresolved_group.command("add")
    @click.option("--unit", "unit_id", required=True, help="The unit responsible (hostd unit list).")
    @click.option("--problem", required=True, help="The citizen's problem, in their words.")
    @click.option("--item", "item_name", help="The matter (事项), if there is one.")
    @click.option("--name", "contact_name", help="The citizen's name (with --consent).")
    @click.option("--mobile", "contact_mobile", help="A mainland mobile number (with --consent).")
    @click.option("--consent", is_flag=True, help="The citizen agreed to be contacted about it.")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def unresolved_add(ctx, unit_id, problem, item_name, contact_name, contact_mobile, consent, actor):
        """Register a 办不成事 report; the unit is notified through the alerts.

        Example: hostd unresolved add --unit u-tax --problem "..." --mobile 13800138000 --consent
        """
        config, db = open_db(ctx)
        report = {
            "hall": config["hall"]["id"],
            "unit_id": unit_id,
            "problem": problem,
            "item_name": item_name,
            "contact_name": contact_name,
            "contact_mobile": contact_mobile,
            "consent": consent,
        }
        r = write(db, lambda db: unresolved.register(db, config, report, actor, "cli", now=clock.now()))
        click.echo(
            "办不成事 #%d registered for %s: take it up by %s, finish by %s"
            % (r["report_id"], r["unit_name"] or r["unit_id"], when(r["accept_due"]), when(r["resolve_due"]))
        )

    @unresolved_group.command("list")
    @click.option("--all", "all_", is_flag=True, help="Finished reports too.")
    @click.option("--overdue", is_flag=True, help="Only reports past a deadline.")
    @click.pass_context
    def unresolved_list(ctx, all_, overdue):
        """List 办不成事 reports, overdue and open first.

        Example: hostd unresolved list --overdue
        """
        _config, db = open_db(ctx)
        rows = unresolved.list_reports(
            db, open_only=not all_, overdue_only=overdue, now=clock.now(), limit=10000
        )
        if not rows:
            click.echo("no %s办不成事 reports" % ("overdue " if overdue else "" if all_ else "open "))
            return
        click.echo(
            tabulate(
                [
                    (
                        r["report_id"],
                        r["unit_name"] or r["unit_id"],
                        r["problem"][:30],
                        r["state"],
                        when(r["resolve_due"]),
                        r["overdue"] or "",
                    )
                    for r in rows
                ],
                headers=["id", "unit", "problem", "state", "due", "overdue"],
            )
        )

    @unresolved_group.command("move")
    @click.argument("report_id", type=int)
    @click.argument("state", type=click.Choice(("accepted", "resolved", "explained")))
    @click.option("--note", help="What was done (needed for resolved), or why it cannot be (explained).")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def unresolved_move(ctx, report_id, state, note, actor):
        """Take a report up (accepted), or finish it: resolved, or explained (兜底说明).

        Example: hostd unresolved move 4 resolved --note "已协调社保中心线下办理"
        """
        _config, db = open_db(ctx)
        r = write(db, lambda db: unresolved.move(db, report_id, state, actor, note=note, now=clock.now()))
        click.echo("办不成事 #%d is now %s (%s)" % (report_id, r["state_label"], r["state"]))
