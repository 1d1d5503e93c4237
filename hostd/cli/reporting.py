"""`hostd stats`, `hostd ranking` and `hostd report`, for supervisors.

hostd/cli/root.py calls register(), as for hostd/cli/workorder.py.
"""

import json
import os

import click
from tabulate import tabulate

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.cli.shared import db_opener, pct, period
from hostd.reporting import periods, poster, publication, ranking, report, stats


def register(cli, home_of, db_of):
    """Add the commands to the top-level click group."""
    open_db = db_opener(home_of, db_of)

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
        spec, (start, end) = period(quarter, month, day)
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
                        pct(r["good_rate"]),
                        pct(r["middle_rate"]),
                        pct(r["bad_rate"]),
                        pct(r["active_rate"]),
                        pct(r["rectify_rate"]),
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
        quarter = quarter or periods.quarter_of(int(clock.now()))
        period(quarter, None)
        rows = ranking.ranking(db, quarter, by=by, config=config)
        left_out = ranking.unranked(db, quarter, by=by, config=config)
        least = config["ranking"]["min_ratings"]
        note = (
            "not ranked, fewer than %d ratings in %s (ranking.min_ratings): %s"
            % (least, quarter, ", ".join("%s (%d)" % (r["label"], r["total"]) for r in left_out))
            if left_out
            else ""
        )
        if not rows:
            click.echo("nobody has %d ratings in %s yet" % (least, quarter))
            if note:
                click.echo(note)
            return
        click.echo(
            tabulate(
                [
                    [
                        r["rank"],
                        r["label"],
                        r["score"],
                        r["total"],
                        pct(r["good_rate"]),
                        pct(r["bad_rate"]),
                        pct(r["active_rate"]),
                        pct(r["rectify_rate"]),
                    ]
                    for r in rows
                ],
                headers=["rank", by, "score", "ratings", "good", "bad", "active", "rectified"],
            )
        )
        if note:
            click.echo(note)

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
            % (out, data["period"], s["total"], pct(s["good_rate"]), pct(s["bad_rate"]))
        )

    @cli.command("poster")
    @click.option(
        "--out", type=click.Path(dir_okay=False), help="Output file. Default: poster-<quarter>.pdf here."
    )
    @click.pass_context
    def poster_command(ctx, out):
        """Write the hall display as an A3 poster (PDF) to print: this quarter's
        ratings, 整改情况 and window ranking, with no evaluator data.

        Example: hostd poster --out poster.pdf
        """
        config, db = open_db(ctx)
        data = publication.figures(db, config["hall"]["id"], config, int(clock.now()))
        out = out or "poster-%s.pdf" % data["quarter"]
        partial = "%s.part" % out  # a failed write leaves no half a poster under its name
        try:
            poster.write(partial, data, config["render"]["font"])
            os.replace(partial, out)
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (out, exc.strerror)) from None
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        fix = data["rectification"]
        click.echo(
            "wrote %s: %s, %d ratings, %d 差评工单 (%d on time), %d windows ranked"
            % (
                out,
                data["quarter"],
                data["quarter_rates"]["total"],
                fix["orders"],
                fix["on_time"],
                len(data["ranking"]),
            )
        )
