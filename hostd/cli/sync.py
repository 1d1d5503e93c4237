"""`hostd sync`: the upstream backlog (--status) and a drain now (--once).

hostd/cli/root.py calls register() with its group and helpers, so errors share its
one-line handler.
"""

import contextlib
import getpass
import json

import click

from hostd.base import clock, hall_time
from hostd.base.errors import UserError


class SyncFailed(UserError):
    pass


def _when(ts):
    return hall_time.when(ts, "%Y-%m-%d %H:%M:%S")


def _age(seconds):
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return "%.1f %s" % (seconds / size, unit)
    return "%d s" % seconds


def cli_writer(db):
    """(write, read) over one CLI connection: each write is its own transaction."""

    def write(op):
        with db.conn:
            if not db.conn.in_transaction:
                db.conn.execute("BEGIN IMMEDIATE")
            return op(db)

    @contextlib.contextmanager
    def read():
        yield db

    return write, read


def show_status(db, as_json, configured=True, config_path=""):
    # lazy: the upstream HTTP stack loads only for hostd sync
    from hostd.sync.service import status

    info = status(db, clock.now())
    info["configured"] = configured
    if not configured:
        if as_json:
            click.echo(json.dumps({"configured": False}, ensure_ascii=False, indent=1))
            return
        click.echo(
            "上报未配置 (upstream not configured): nothing is sent; set upstream.url in %s, and what "
            "is recorded from now on goes to the platform" % config_path
        )
        return
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    by = info["by_status"]
    click.echo(
        "backlog: %d record(s) to send (%d waiting for their service record);"
        " by target: %s"
        % (
            info["backlog"],
            info["blocked"],
            ", ".join("%s %d" % kv for kv in sorted(info["backlog_by_target"].items())) or "-",
        )
    )
    click.echo(
        "status: "
        + ", ".join("%s %d" % (s, by.get(s, 0)) for s in ("pending", "sent", "rejected", "confirmed", "dead"))
    )
    click.echo(
        "oldest pending: %s (%s ago)" % (_when(info["oldest_pending"]), _age(info["oldest_pending_age_s"]))
    )
    click.echo(
        "last success: platform %s, 12345 %s"
        % (_when(info["last_success"]), _when(info["last_success_12345"]))
    )
    if info["last_error"]:
        click.echo("last error: %s" % info["last_error"])
    if info["held"]:
        click.echo("kept in the hall, not reportable: %d" % info["held"])
    hotline = info["twelve345"]
    click.echo(
        "dead letters: %d%s"
        % (info["dead"], " (and %d for 12345)" % hotline["dead"] if hotline["dead"] else "")
    )
    for letter in info["dead_letters"]:
        click.echo("  #%d %s (%s): %s" % (letter["id"], letter["key"], letter["kind"], letter["reason"]))
    if info["dead"]:
        click.echo("  send one again: hostd sync --retry ID (or edit it on the 上报失败 page)")


def drain_once(home, db, config):
    # lazy: the upstream HTTP stack loads only for hostd sync
    from hostd.sync import service

    sender, forwarder = service.build(home, config, *cli_writer(db))
    if sender is None and forwarder is None:
        raise SyncFailed(
            "upstream sync is off: set upstream.url (and upstream.twelve345_url) in %s" % home.config_path
        )
    lock = service.take_lock(home)
    try:
        errors = []
        for name, part in (("platform", sender), ("12345", forwarder and forwarder.sender)):
            if part is None:
                continue
            part.recover()
            backlog = part.retry_now()
            with click.progressbar(length=backlog, label="sync to %s" % name, show_pos=True) as bar:
                total = part.drain(progress=lambda c: bar.update(c["confirmed"] + c["dead"] + c["rejected"]))
            click.echo(
                "%s: %d confirmed, %d rejected (will retry), %d dead, in %d batch(es)"
                % (name, total["confirmed"], total["rejected"], total["dead"], total["batches"])
            )
            if total["error"]:
                errors.append("%s unreachable (%s)" % (name, total["error"]))
        if forwarder is not None:
            click.echo("12345: %d repl(ies) applied" % forwarder.poll())
    finally:
        lock.close()
    if errors:
        raise SyncFailed("; ".join(errors) + ": the records stay queued; try again later")


def retry_letter(db, row_id):
    # lazy: the upstream modules load only for hostd sync
    from hostd.upstream import letters

    actor = "cli:%s" % getpass.getuser()
    with db.conn:
        db.conn.execute("BEGIN IMMEDIATE")
        revived = letters.retry(db, row_id, actor, clock.now())
        key = db.conn.execute("SELECT key FROM upstream_outbox WHERE id = ?", (row_id,)).fetchone()[0]
    click.echo(
        "record #%d (%s) queued again%s; hostd run sends it, or now: hostd sync --once"
        % (row_id, key, ", with %d record(s) waiting on it" % revived if revived else "")
    )


def register(cli, home_of, db_of):
    @cli.command("sync")
    @click.option(
        "--status",
        "show",
        is_flag=True,
        help="Show the backlog, oldest pending, dead letters and last success (the default).",
    )
    @click.option("--once", is_flag=True, help="Send everything queued now, with a progress bar.")
    @click.option("--json", "as_json", is_flag=True, help="--status as JSON.")
    @click.option(
        "--retry", "retry_id", type=int, metavar="ID", help="Queue dead letter #ID again (logged), as it is."
    )
    @click.pass_context
    def sync(ctx, show, once, as_json, retry_id):
        """Upstream sync to the provincial platform and 12345.

        Example: hostd sync --once && hostd sync --status
        """
        home = home_of(ctx)
        db = db_of(home)
        if retry_id is not None:
            retry_letter(db, retry_id)
            if not once and not show:
                return
        if once:
            drain_once(home, db, home.config())
        if show or not once:
            config = home.config()
            configured = bool(config["upstream"]["url"] or config["upstream"]["twelve345_url"])
            show_status(db, as_json, configured, home.config_path)
