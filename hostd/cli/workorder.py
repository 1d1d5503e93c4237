"""`hostd workorder|appeal|fraud|stats|ranking|report`: supervisors' commands.

hostd/cli/root.py calls register() with its group and helpers, so errors share its
one-line handler. Writes run in their own BEGIN IMMEDIATE transaction on the
CLI's connection (the running daemon's writer waits for it, or it for the
daemon); reads need no daemon.
"""

import getpass
import json
import time

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.casework import appeals, fraud, workorders
from hostd.reporting import ranking, report, stats
from hostd.rules import deadlines

ACTOR_HELP = "Who makes the change (kept in the audit trail). Default: your login (env HOSTD_ACTOR)."


def _when(ts):
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts + stats.TZ)) if ts else "-"


def _pct(v):
    return "-" if v is None else "%.1f%%" % (100 * v)


def _write(db, op):
    with db.conn:
        if not db.conn.in_transaction:
            db.conn.execute("BEGIN IMMEDIATE")
        return op(db)


def _period(quarter, month, day=None):
    spec = day or month or quarter
    if not spec:
        spec = stats.quarter_of(int(clock.now()))
    try:
        return spec, stats.period(spec)
    except stats.BadPeriod as e:
        raise UserError(str(e)) from None


def register(cli, home_of, db_of):
    """Add the commands to the top-level click group."""

    def open_db(ctx):
        home = home_of(ctx)
        config = home.config()
        deadlines.use(config)
        return config, db_of(home)

    @cli.group()
    def workorder():
        """差评 work orders (差评整改工单): list, show, move, classify, overdue.

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
                        _when(o["opened_at"]),
                        _when(o["done_due"]),
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
                _when(o["opened_at"]),
                _when(o["contact_due"]),
                _when(o["done_due"]),
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
                % (_when(e["at"]), e["actor"], e["from_state"] or "-", e["to_state"], e["note"] or "")
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
        o = _write(
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
        """Mark an order simple or complex; its deadline follows the policy.

        Example: hostd workorder classify 12 complex
        """
        config, db = open_db(ctx)
        o = _write(db, lambda db: workorders.set_complexity(db, order_id, complexity, actor, config=config))
        click.echo("work order %d: %s, done due %s" % (order_id, complexity, _when(o["done_due"])))

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

    @cli.group()
    def appeal():
        """Appeals (申诉复核): a staff member files, a supervisor decides.

        Example: hostd appeal list --state pending
        """

    @appeal.command("file")
    @click.argument("rating_id", type=int)
    @click.option("--staff-id", required=True, help="The rated staff member.")
    @click.option("--reason", required=True, help="Why the rating is wrong.")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def appeal_file(ctx, rating_id, staff_id, reason, actor):
        """File an appeal against a rating of one's own.

        Example: hostd appeal file 345 --staff-id s1 --reason "群众误按"
        """
        _config, db = open_db(ctx)
        a = _write(db, lambda db: appeals.file(db, rating_id, staff_id, reason, actor))
        click.echo(
            "appeal %d filed for rating %d; a supervisor decides with "
            "`hostd appeal decide %d`" % (a["appeal_id"], rating_id, a["appeal_id"])
        )

    @appeal.command("decide")
    @click.argument("appeal_id", type=int)
    @click.option("--uphold/--reject", required=True, help="Uphold (not counted) or reject.")
    @click.option("--verdict", type=click.Choice(appeals.VERDICTS), help="With --uphold.")
    @click.option("--note", default="", help="The reasons of the decision.")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def appeal_decide(ctx, appeal_id, uphold, verdict, note, actor):
        """Decide an appeal; an upheld rating is kept but no longer counted.

        Example: hostd appeal decide 7 --uphold --verdict 误评 --note "录像核实"
        """
        _config, db = open_db(ctx)
        a = _write(db, lambda db: appeals.decide(db, appeal_id, uphold, actor, verdict=verdict, note=note))
        click.echo(
            "appeal %d: %s%s" % (appeal_id, a["state_label"], "（%s）" % a["verdict"] if a["verdict"] else "")
        )

    @appeal.command("list")
    @click.option("--state", type=click.Choice(("pending", "upheld", "rejected")))
    @click.option("--staff-id")
    @click.pass_context
    def appeal_list(ctx, state, staff_id):
        """List appeals, pending first.

        Example: hostd appeal list --state pending
        """
        _config, db = open_db(ctx)
        rows = appeals.list_appeals(db, state=state, staff_id=staff_id, limit=10000)
        if not rows:
            click.echo("no appeals match")
            return
        click.echo(
            tabulate(
                [
                    [
                        a["appeal_id"],
                        a["rating_id"],
                        a["staff_name"] or a["staff_id"],
                        a["level"],
                        a["state_label"],
                        a["verdict"] or "",
                        a["reason"],
                    ]
                    for a in rows
                ],
                headers=["id", "rating", "staff", "level", "state", "verdict", "reason"],
            )
        )

    @cli.group("fraud")
    def fraud_group():
        """Fraud signals (异常评价线索): scan a period, list and review flags.

        Example: hostd fraud scan --month 2026-11 --record
        """

    @fraud_group.command("scan")
    @click.option("--quarter")
    @click.option("--month")
    @click.option("--day")
    @click.option("--record", is_flag=True, help="Keep the flags for review.")
    @click.pass_context
    def fraud_scan(ctx, quarter, month, day, record):
        """Look for bursts, unsessioned ratings, outlier staff and reused links.

        Example: hostd fraud scan --quarter 2026Q4
        """
        _config, db = open_db(ctx)
        spec, (start, end) = _period(quarter, month, day)
        flags = fraud.scan(db, start, end)
        for f in flags:
            click.echo("%s  %s: %s" % (f["kind_label"], f["subject"], f["statistic"]))
        new = _write(db, lambda db: fraud.record(db, flags)) if record else 0
        click.echo(
            "%d flags in %s%s" % (len(flags), spec, "; %d new kept for review" % new if record else "")
        )

    @fraud_group.command("list")
    @click.option(
        "--state",
        type=click.Choice(("open", "confirmed", "dismissed", "all")),
        default="open",
        show_default=True,
    )
    @click.pass_context
    def fraud_list(ctx, state):
        """List kept flags with their evidence.

        Example: hostd fraud list --state open
        """
        _config, db = open_db(ctx)
        flags = fraud.list_flags(db, state=None if state == "all" else state, limit=10000)
        if not flags:
            click.echo("no %s flags" % state)
        for f in flags:
            click.echo(
                "%d  %s  %s  %s: %s"
                % (f["flag_id"], f["state"], f["kind_label"], f["subject"], f["statistic"])
            )

    @fraud_group.command("review")
    @click.argument("flag_id", type=int)
    @click.argument("state", type=click.Choice(("confirmed", "dismissed")))
    @click.option("--note", default="")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def fraud_review(ctx, flag_id, state, note, actor):
        """Mark a kept flag confirmed or dismissed (ratings are never changed here).

        Example: hostd fraud review 3 dismissed --note "培训演示"
        """
        _config, db = open_db(ctx)
        _write(db, lambda db: fraud.review(db, flag_id, actor, state, note))
        click.echo("flag %d %s" % (flag_id, state))

    @cli.command("stats")
    @click.option("--quarter")
    @click.option("--month")
    @click.option("--day")
    @click.option("--by", type=click.Choice(stats.GROUPS), help="Break down by this.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def stats_command(ctx, quarter, month, day, by, as_json):
        """Print 好评率, 差评率, 主动评价率, 差评整改率 and volume of a period.

        Example: hostd stats --month 2026-11 --by window
        """
        _config, db = open_db(ctx)
        spec, (start, end) = _period(quarter, month, day)
        rows = stats.breakdown(db, by, start, end) if by else [dict(stats.rates(db, start, end), label=spec)]
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        click.echo(
            tabulate(
                [
                    [
                        r["label"],
                        r["total"],
                        _pct(r["good_rate"]),
                        _pct(r["middle_rate"]),
                        _pct(r["bad_rate"]),
                        _pct(r["active_rate"]),
                        _pct(r["rectify_rate"]),
                    ]
                    for r in rows
                ],
                headers=[by or "period", "ratings", "good", "middle", "bad", "active", "rectified"],
            )
        )

    @cli.command("ranking")
    @click.option("--quarter", help="Default: this quarter.")
    @click.option("--by", type=click.Choice(ranking.SUBJECTS), default="staff", show_default=True)
    @click.pass_context
    def ranking_command(ctx, quarter, by):
        """The quarterly ranking, weights from hostd.toml [ranking].

        Example: hostd ranking --quarter 2026Q4 --by window
        """
        config, db = open_db(ctx)
        quarter = quarter or stats.quarter_of(int(clock.now()))
        _period(quarter, None)
        rows = ranking.ranking(db, quarter, by=by, config=config)
        if not rows:
            click.echo("nobody has %d ratings in %s yet" % (config["ranking"]["min_ratings"], quarter))
            return
        click.echo(
            tabulate(
                [
                    [
                        r["rank"],
                        r["label"],
                        r["score"],
                        r["total"],
                        _pct(r["good_rate"]),
                        _pct(r["bad_rate"]),
                        _pct(r["active_rate"]),
                        _pct(r["rectify_rate"]),
                    ]
                    for r in rows
                ],
                headers=["rank", by, "score", "ratings", "good", "bad", "active", "rectified"],
            )
        )

    @cli.command("report")
    @click.option("--quarter", required=True, help="The quarter, e.g. 2026Q4.")
    @click.option("--month", help="A month of that quarter (e.g. 2026-11) for a monthly report.")
    @click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="xlsx", show_default=True)
    @click.option(
        "--out", type=click.Path(dir_okay=False), help="Output file. Default: report-<period>.<format> here."
    )
    @click.pass_context
    def report_command(ctx, quarter, month, fmt, out):
        """Write the monthly or quarterly 好差评 report (xlsx, csv or pdf).

        Example: hostd report --quarter 2026Q4 --month 2026-11 --format pdf --out nov.pdf
        """
        config, db = open_db(ctx)
        data = report.build(db, quarter, month=month, config=config, now=int(clock.now()))
        out = out or "report-%s.%s" % (month or quarter, fmt)
        report.write(data, fmt, out)
        s = data["summary"]
        click.echo(
            "wrote %s: %s, %d ratings, 好评率 %s, 差评率 %s"
            % (out, data["period"], s["total"], _pct(s["good_rate"]), _pct(s["bad_rate"]))
        )
