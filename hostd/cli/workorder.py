"""`hostd workorder`: the 差评 work orders (差评整改工单), for supervisors.

hostd/cli/root.py calls register() with its group and helpers, so errors
share its one-line handler. Writes run in their own BEGIN IMMEDIATE
transaction on the CLI's connection (hostd/cli/shared.py write); reads need
no daemon.
"""

import getpass

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.casework import classes, workorders
from hostd.cli.shared import ACTOR_HELP, db_opener, when, write
from hostd.rules import deadlines


def register(cli, home_of, db_of):
    """Add the commands to the top-level click group."""
    open_db = db_opener(home_of, db_of)

    @cli.group()
    def workorder():
        """差评 work orders (差评整改工单): list, show, move, classify, consult, overdue.

        Example: hostd workorder list --overdue
        """

    @workorder.command("list")
    @click.option("--state", type=click.Choice(workorders.STATES))
    @click.option("--staff-id", help="Only this staff member's orders.")
    @click.option("--overdue", is_flag=True, help="Only open orders past a deadline.")
    @click.option("--open", "open_only", is_flag=True, help="Only orders not finished.")
    @click.pass_context
    def workorder_list(ctx, state, staff_id, overdue, open_only):
        """List work orders, overdue first.

        Example: hostd workorder list --open
        """
        _config, db = open_db(ctx)
        orders = workorders.list_orders(
            db, state=state, staff_id=staff_id, open_only=open_only, overdue_only=overdue, limit=10000
        )
        if not orders:
            click.echo("no work orders match")
            return
        click.echo(
            tabulate(
                [
                    [
                        o["order_id"],
                        o["state_label"],
                        o["level"],
                        o["window"] or "-",
                        o["staff_name"] or "-",
                        when(o["opened_at"]),
                        when(o["done_due"]),
                        {"done": "办结超期", "contact": "联系超期"}.get(o["overdue"], ""),
                    ]
                    for o in orders
                ],
                headers=["id", "state", "level", "window", "staff", "opened", "due", "overdue"],
            )
        )

    @workorder.command("show")
    @click.argument("order_id", type=int)
    @click.pass_context
    def workorder_show(ctx, order_id):
        """Show one work order with its rating and every change.

        Example: hostd workorder show 12
        """
        _config, db = open_db(ctx)
        o = workorders.get(db, order_id)
        click.echo(
            "work order %d: %s (%s), level %d by %s, window %s, staff %s, unit %s"
            % (
                o["order_id"],
                o["state_label"],
                o["state"],
                o["level"],
                o["channel"],
                o["window"] or "-",
                o["staff_name"] or "-",
                o["unit_name"] or "-",
            )
        )
        click.echo(
            "opened %s; contact due %s; done due %s (%s)%s"
            % (
                when(o["opened_at"]),
                when(o["contact_due"]),
                when(o["done_due"]),
                o["complexity"],
                "; OVERDUE (%s)" % o["overdue"] if o["overdue"] else "",
            )
        )
        for key in ("reply", "explanation", "feedback"):
            if o[key]:
                click.echo("%s: %s" % (key, o[key]))
        for e in o["events"]:
            click.echo(
                "  %s  %-10s %s -> %s  %s"
                % (when(e["at"]), e["actor"], e["from_state"] or "-", e["to_state"], e["note"] or "")
            )

    @workorder.command("move")
    @click.argument("order_id", type=int)
    @click.argument("state", type=click.Choice(workorders.STATES))
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.option("--note", help="What was done.")
    @click.option("--reply", help="The rectification result (to replied).")
    @click.option("--explanation", help="Why the complaint is not reasonable (to explained).")
    @click.option(
        "--feedback",
        type=click.Choice(workorders.FEEDBACK),
        help="The complainant's rating of the rectification (to closed).",
    )
    @click.pass_context
    def workorder_move(ctx, order_id, state, actor, note, reply, explanation, feedback):
        """Move a work order one step: contacted, rectifying, replied, closed or explained.

        Example: hostd workorder move 12 closed --feedback 满意 --actor 李科长
        """
        _config, db = open_db(ctx)
        o = write(
            db,
            lambda db: workorders.move(
                db, order_id, state, actor, note=note, feedback=feedback, explanation=explanation, reply=reply
            ),
        )
        click.echo("work order %d is now %s (%s)" % (order_id, o["state_label"], o["state"]))

    @workorder.command("classify")
    @click.argument("order_id", type=int)
    @click.argument("complexity", type=click.Choice(deadlines.COMPLEXITIES))
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def workorder_classify(ctx, order_id, complexity, actor):
        """Set an order's class (simple / general / complex, as the hall's
        policy has them); its deadlines follow the policy.

        Example: hostd workorder classify 12 complex
        """
        config, db = open_db(ctx)
        o = write(db, lambda db: classes.set_class(db, order_id, complexity, actor, config=config))
        click.echo(
            "work order %d: %s (%s), contact due %s, done due %s"
            % (
                order_id,
                complexity,
                deadlines.classes(config)[complexity]["label"],
                when(o["contact_due"]),
                when(o["done_due"]),
            )
        )

    @workorder.command("consult")
    @click.argument("order_id", type=int)
    @click.argument("department")
    @click.option("--reply", help="The department's 会商 reply; without it, the department is asked.")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def workorder_consult(ctx, order_id, department, reply, actor):
        """Put an order to a department for 会商, or record its reply.

        The order cannot be replied while a department has not answered.

        Example: hostd workorder consult 12 市场监管局 --reply "已核实，同意整改方案"
        """
        _config, db = open_db(ctx)
        if reply is None:
            o = write(db, lambda db: classes.add_consult(db, order_id, department, actor))
        else:
            o = write(db, lambda db: classes.consult_reply(db, order_id, department, reply, actor))
        waiting = [c["department"] for c in o["consults"] if c["replied_at"] is None]
        click.echo(
            "work order %d: %d department(s) in the 会商, waiting for %s"
            % (order_id, len(o["consults"]), "、".join(waiting) or "none")
        )

    @workorder.command("overdue")
    @click.pass_context
    def workorder_overdue(ctx):
        """List open orders past a deadline (and log a warning for each).

        Example: hostd workorder overdue
        """
        config, db = open_db(ctx)
        late = workorders.check_overdue(db, int(clock.now()))
        click.echo("%d overdue work orders (policy: %s)" % (len(late), deadlines.describe(config)))
        for o in late:
            click.echo(
                "  %d  %s  missed the %s deadline by %.1f h"
                % (o["order_id"], o["staff_name"] or "-", o["overdue"], o["overdue_seconds"] / 3600.0)
            )
