"""`hostd service install`, `hostd doctor`, `hostd backup now`, `hostd restore`:
running a hall for years (hostd/service/unit.py, doctor.py, hostd/db/backup.py,
hostd/db/replica.py).

hostd/cli/root.py calls register() with the click group.
"""

import json
import os
import pwd
import shutil
import subprocess
import time

import click

from hostd.base import runlock
from hostd.base.errors import UserError
from hostd.db import backup, replica
from hostd.service import doctor, unit


class ServiceError(UserError):
    pass


def _run(command, dry_run):
    click.echo(("would run: " if dry_run else "running: ") + " ".join(command))
    if dry_run:
        return
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServiceError("%s failed: %s" % (command[0], (done.stderr or done.stdout).strip()[-300:]))


def register(cli, home_of, db_of):
    @cli.group()
    def service():
        """hostd as a system service (systemd): install, or print its unit.

        Example: hostd --home /var/lib/hostd service install --user hostd   (as root)
        """

    @service.command("install")
    @click.option("--user", "user", default="hostd", show_default=True, help="The system user hostd runs as.")
    @click.option("--print", "print_only", is_flag=True, help="Print the unit instead (review, packaging).")
    @click.option("--dry-run", is_flag=True, help="Say what would be done, do nothing.")
    @click.option("--unit-dir", default="/etc/systemd/system", show_default=True, hidden=True)
    @click.pass_context
    def service_install(ctx, user, print_only, dry_run, unit_dir):
        """Write and enable the systemd unit of `hostd run` for this home, and start it.

        Makes the system user if it is missing and gives it the home. The unit:
        Type=notify, a watchdog, Restart=always, and a sandbox (read-only
        system, only the home writable).

        Example: hostd --home /var/lib/hostd service install --user hostd   (as root)
        """
        home = home_of(ctx)
        config = home.config()
        folder = replica.local_folder(config["backup"]["replica"]) if config["backup"]["replica"] else None
        text = unit.text(home.path, user, config["hall"]["id"], replica_folder=folder)
        if print_only:
            click.echo(text, nl=False)
            return
        if os.geteuid() != 0 and not dry_run:
            raise ServiceError(
                "installing a system service needs root: run it with sudo, or use --print"
                " and install the unit yourself"
            )
        try:
            pwd.getpwnam(user)
        except KeyError:
            _run(
                ["useradd", "--system", "--home-dir", str(home.path), "--shell", "/usr/sbin/nologin", user],
                dry_run,
            )
        _run(["chown", "-R", "%s:%s" % (user, user), str(home.path)], dry_run)
        if folder is not None:  # the local replica folder is written by the service's user too
            _run(["install", "-d", "-o", user, "-g", user, "-m", "0700", str(folder)], dry_run)
        path = os.path.join(unit_dir, unit.UNIT_NAME)
        click.echo(("would write " if dry_run else "writing ") + path)
        if not dry_run:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
        if shutil.which("systemctl") is None and not dry_run:
            raise ServiceError("no systemctl here: the unit is in %s; start hostd by hand" % path)
        _run(["systemctl", "daemon-reload"], dry_run)
        _run(["systemctl", "enable", "--now", unit.UNIT_NAME], dry_run)
        click.echo("hostd runs as a service: `systemctl status hostd`, its log: `journalctl -u hostd`")

    @cli.command("doctor")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
    @click.pass_context
    def doctor_command(ctx, as_json):
        """Check this installation: one line a check, ok or what to do; exit 1 if something needs action.

        Example: hostd doctor
        """
        results = doctor.run(home_of(ctx))
        needs = [r for r in results if r["status"] == "fix"]
        if as_json:
            click.echo(json.dumps({"ok": not needs, "checks": results}, ensure_ascii=False, indent=1))
        else:
            for r in results:
                click.echo("%-4s %-13s %s" % (r["status"], r["check"], r["detail"]))
            click.echo("%d check(s) need action" % len(needs) if needs else "all is well")
        if needs:
            ctx.exit(1)

    @cli.group("backup")
    def backup_group():
        """Backups of hostd.db.

        Example: hostd backup now --out /mnt/usb/hostd-2026-12-01.db
        """

    @backup_group.command("now")
    @click.option("--out", "out", required=True, help="The backup file to write (replaced if it exists).")
    @click.pass_context
    def backup_now(ctx, out):
        """A consistent copy of the database, taken while hostd runs (checked before it is kept).

        Example: hostd backup now --out /mnt/usb/hostd-2026-12-01.db
        """
        home = home_of(ctx)
        home.config()
        click.echo("copying %s ..." % home.db_path)
        size = backup.copy(home.db_path, out)
        click.echo("backup written: %s (%.1f MB, integrity_check ok)" % (out, size / 1e6))

    @cli.command("restore")
    @click.option(
        "--from",
        "source",
        default=None,
        help="A backup file (hostd backup now), or a replica folder or URL; default: backup.replica.",
    )
    @click.pass_context
    def restore(ctx, source):
        """Rebuild this home's database from a backup or the replica; hostd must be stopped.

        The database it replaces is kept beside it (hostd.db.before-restore-TIME).

        Example: hostd restore --from /mnt/usb/hostd-2026-12-01.db
        Example: hostd restore            (from the replica in backup.replica)
        """
        home = home_of(ctx)
        config = home.config()
        if source is None and not config["backup"]["replica"]:
            raise UserError(
                "give --from FILE (a backup) or --from REPLICA, or set backup.replica in hostd.toml"
            )
        lock = runlock.hold(home)  # a running hostd holds it: refused, in one line
        try:
            if source is None or replica.is_replica(source):
                aside, source = _from_replica(home, config, source), source or config["backup"]["replica"]
            else:
                aside = backup.restore(source, home.db_path)
        finally:
            lock.close()
        click.echo(
            "restored %s from %s%s; start hostd again"
            % (
                home.db_path,
                replica.shown(source),
                "; the database it replaced is %s" % aside if aside else "",
            )
        )

    def _from_replica(home, config, source):
        """Rebuild from a Litestream replica: restored, checked, put in place."""
        click.echo(
            "rebuilding the database from the replica %s (litestream restore) ..."
            % replica.shown(source or config["backup"]["replica"])
        )
        started = time.monotonic()
        aside = replica.rebuild(home.db_path, config["backup"], source, progress=click.echo)
        click.echo("rebuilt in %.1f s, integrity_check ok" % (time.monotonic() - started))
        return aside
