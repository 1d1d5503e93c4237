"""`hostd rating paper`: enter a 书面 (paper) rating form from the command line.

hostd/cli/root.py calls register() with its group and helpers. The same
entry as the /paper page and POST /api/v1/paper (hostd/recording/paper.py),
written on the CLI's own connection; it works with or without `hostd run`.
"""

import getpass
from pathlib import Path

import click

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.cli.shared import ACTOR_HELP, db_opener, write
from hostd.files import uploads
from hostd.recording import channels, paper
from hostd.recording import evaluator as evaluators

LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}


class PaperRefused(UserError):
    """A paper form refused: the reason in one line."""


def _level(value):
    if value in LEVELS:
        return LEVELS[value]
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    raise click.BadParameter("1-5 (5 非常满意 ... 1 非常不满意), or the level's name, e.g. 满意")


def register(cli, home_of, db_of):
    open_db = db_opener(home_of, db_of)

    @cli.group()
    def rating():
        """Ratings from other channels: paper forms (书面评价).

        Example: hostd rating paper --session S20261202-0007 --level 5 --serial A-000123
        """

    @rating.command("paper")
    @click.option("--session", "session_id", help="The session the form rates.")
    @click.option("--case", "case_id", help="Or a case (办件编号): the session of its latest visit.")
    @click.option("--level", required=True, help="5 非常满意 ... 1 非常不满意 (a number or the name).")
    @click.option("--serial", required=True, help="The form's serial number (表单编号): entered once.")
    @click.option(
        "--reason",
        "reasons",
        multiple=True,
        type=click.IntRange(1, 6),
        help="A 差评's reason (1 态度 2 效率 3 质量 4 环境 5 其他 6 便捷性); repeatable.",
    )
    @click.option("--comment", help="What the citizen wrote on the form.")
    @click.option("--name", help="实名: the evaluator's name, only with --consent-callback.")
    @click.option("--mobile", help="实名: a mainland mobile number, only with --consent-callback.")
    @click.option("--consent-callback", is_flag=True, help="The form's callback consent box is ticked.")
    @click.option(
        "--consent-upstream", is_flag=True, help="The evaluator agreed to send name and phone upstream."
    )
    @click.option("--scan", type=click.Path(dir_okay=False, path_type=Path), help="A scan: JPEG, PNG or PDF.")
    @click.option("--actor", envvar="HOSTD_ACTOR", default=getpass.getuser, help=ACTOR_HELP)
    @click.pass_context
    def rating_paper(ctx, session_id, case_id, level, serial, reasons, comment, name, mobile,
                     consent_callback, consent_upstream, scan, actor):  # fmt: skip
        """Enter a paper rating form (书面评价), with its serial number and, optionally, a scan.

        One service, one rating: a service already rated by any channel refuses
        it, and so does a serial number entered before.

        Example: hostd rating paper --case 2026-000123 --level 2 --reason 2 --serial A-000124 --scan form.pdf
        """
        config, db = open_db(ctx)
        data = None
        if scan is not None:
            try:
                data = scan.read_bytes()
            except OSError as exc:
                raise PaperRefused("cannot read %s: %s" % (scan, exc.strerror or exc))
        try:
            form = {
                "session_id": session_id,
                "case_id": case_id,
                "level": _level(level),
                "serial": serial,
                "reasons": list(reasons),
                "comment": comment,
                "evaluator": evaluators.clean(name, mobile, consent_callback, consent_upstream),
            }
            done = paper.enter_with(
                config,
                config["hall"]["id"],
                lambda op: write(db, op),
                form,
                actor,
                data,
                int(clock.now()),
            )
        except (channels.ChannelError, evaluators.EvaluatorError, uploads.UploadError) as exc:
            raise PaperRefused(str(exc)) from None
        click.echo(
            "paper form %s entered: rating %d of session %s (书面评价, by %s)"
            % (done["serial"], done["rating_id"], done["session_id"], actor)
        )
