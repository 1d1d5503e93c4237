"""`hostd appeal` (申诉复核) and `hostd fraud` (异常评价线索), for supervisors.

hostd/cli/root.py calls register(), as for hostd/cli/workorder.py.
"""

import getpass

import click
from tabulate import tabulate

from hostd.casework import appeals, fraud, fraud_review
from hostd.cli.shared import ACTOR_HELP, db_opener, period, write


def register(cli, home_of, db_of):
    """Add the commands to the top-level click group."""
    open_db = db_opener(home_of, db_of)

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
        a = write(db, lambda db: appeals.file(db, rating_id, staff_id, reason, actor))
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
        a = write(db, lambda db: appeals.decide(db, appeal_id, uphold, actor, verdict=verdict, note=note))
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
        spec, (start, end) = period(quarter, month, day)
        flags = fraud.scan(db, start, end)
        for f in flags:
            click.echo("%s  %s: %s" % (f["kind_label"], f["subject"], f["statistic"]))
        new = write(db, lambda db: fraud.record(db, flags)) if record else 0
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
    @click.option("--note", required=True, help="The reason (核查理由), kept with the flag.")
    @click.option("--verdict", type=click.Choice(tuple(fraud_review.VERDICTS)), help="For confirmed.")
    @click.option("--rating", "ratings", type=int, multiple=True, help="A rating of the flag to exclude.")
    @click.option(
        "--all", "all_", is_flag=True, help="Exclude every rating of the flag that fits the verdict."
    )
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def fraud_review_cmd(ctx, flag_id, state, note, verdict, ratings, all_, actor):
        """Dismiss a flag, or confirm it as 刷好评 / 恶意差评 and exclude its ratings from counting.

        Example: hostd fraud review 3 confirmed --verdict 刷好评 --all --note "监控核实"
        """
        _config, db = open_db(ctx)
        if state == "dismissed":
            write(db, lambda db: fraud_review.dismiss(db, flag_id, actor, note))
            click.echo("flag %d dismissed" % flag_id)
            return
        if not verdict or not (ratings or all_):
            raise click.UsageError("confirmed needs --verdict 刷好评|恶意差评 and --all or --rating ID")

        def op(db):
            ids = fraud_review.candidate_ids(db, fraud_review.get(db, flag_id)) if all_ else ratings
            return fraud_review.confirm(db, flag_id, actor, verdict, note, ids)

        flag = write(db, op)
        click.echo(
            "flag %d confirmed as %s: %d rating(s) excluded" % (flag_id, verdict, len(flag["excluded_ids"]))
        )
