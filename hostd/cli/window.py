"""`hostd window`: service windows (窗口) and their counter stickers (窗口评价二维码).

hostd/cli/root.py calls register() with its group and helpers.
"""

import os

import click

from hostd.base.context import Context
from hostd.base.errors import UserError
from hostd.cli.session import DaemonNotRunning, api_call
from hostd.devices import push, sticker, voice
from hostd.rules import links, staff


def register(cli, home_of, db_of):
    """Add the window group to the click group `cli`."""

    @cli.group()
    def window():
        """Service windows (窗口).

        Example: hostd window add 07 --name 户籍窗口
        """

    @window.command("add")
    @click.argument("window_id")
    @click.option("--name", default="", help="Name shown on the idle screen.")
    @click.option("--unit", "unit_id", help="Unit id (单位).")
    @click.pass_context
    def window_add(ctx, window_id, name, unit_id):
        """Add a window (or rename one).

        Example: hostd window add 07 --name 户籍窗口
        """
        home = home_of(ctx)
        db = db_of(home)
        if unit_id is not None:
            staff.get_unit(db, unit_id)
        with db.conn:
            place = staff.add_window(db, home.config()["hall"]["id"], window_id, name, unit_id)
        hint = (
            "" if place["devices"] else "; register its device: `hostd device add ID --window %s`" % window_id
        )
        click.echo("window %s (%s)%s" % (place["window"], place["name"] or "no name", hint))

    @window.command("qr")
    @click.argument("window_id")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The PDF to write.")
    @click.option(
        "--renew", is_flag=True, help="A new code: every older sticker of this window stops working."
    )
    @click.pass_context
    def window_qr(ctx, window_id, out, renew):
        """Print a window's standing QR code as a counter sticker (A6 PDF).

        A rating through it counts for the session the window served just
        before (rating.window_qr_bind_s), else for the window.

        Example: hostd window qr 07 --out sticker-07.pdf
        """
        home = home_of(ctx)
        db = db_of(home)
        config = home.config()
        hall = config["hall"]["id"]
        place = staff.get_window(db, hall, window_id)
        row = db.conn.execute(
            "SELECT qr_generation FROM windows WHERE hall = ? AND window = ?", (hall, window_id)
        ).fetchone()
        if row is None:
            raise staff.UnknownWindow(
                "window %s has no row yet: `hostd window add %s` first" % (window_id, window_id)
            )
        generation = row[0] + 1 if renew else row[0]
        url = links.window_url(Context(home, config, None), window_id, generation)
        # The sticker first, to a temporary name: a font or a path that fails
        # leaves the old code working and no half-written PDF.
        partial = "%s.part" % out
        try:
            sticker.write(partial, url, hall, push.window_title(place), config["render"]["font"])
            if renew:
                with db.conn:
                    db.conn.execute(
                        "UPDATE windows SET qr_generation = ? WHERE hall = ? AND window = ?",
                        (generation, hall, window_id),
                    )
            os.replace(partial, out)
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (out, exc.strerror or exc)) from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        click.echo("sticker for window %s written: %s (code %d, %s)" % (window_id, out, generation, url))
        if renew:  # the devices' idle screens carry the code too: push them anew if hostd runs
            try:
                api_call(home, "POST", "/screens/refresh")
            except DaemonNotRunning:
                click.echo("hostd is not running: devices show the new code from its next start")
        if not config["web"]["public_url"]:
            click.echo(
                "note: web.public_url is empty, so the code holds this host's address; set web.public_url"
                " to the address phones will always reach before printing stickers to keep"
            )

    @window.command("voice")
    @click.argument("window_id")
    @click.option("--volume", type=click.IntRange(0, 5), help="0 (off) to 5 (loudest).")
    @click.option("--hall-default", is_flag=True, help="Use the hall's device.voice_volume again.")
    @click.pass_context
    def window_voice(ctx, window_id, volume, hall_default):
        """Set how loud the device at a window speaks (语音邀请), or turn it off.

        The device takes it when it is provisioned (hostd device provision).

        Example: hostd window voice 07 --volume 2
        """
        if (volume is None) == (not hall_default):
            raise click.UsageError("give --volume 0-5 or --hall-default")
        home = home_of(ctx)
        db = db_of(home)
        hall = home.config()["hall"]["id"]
        devices = voice.set_window_volume(db, hall, window_id, volume)
        now = voice.window_volume(db, hall, window_id, home.config()["device"]["voice_volume"])
        click.echo(
            "window %s: voice %s%s"
            % (
                window_id,
                "off" if now == 0 else "volume %d of 5" % now,
                " (the hall's)" if hall_default else "",
            )
        )
        for device_id in devices:
            click.echo("apply it: hostd device provision %s --port PORT" % device_id)

    @window.command("list")
    @click.pass_context
    def window_list(ctx):
        """List windows, their devices and who is on duty.

        Example: hostd window list
        """
        home = home_of(ctx)
        db = db_of(home)
        rows = staff.list_windows(db, home.config()["hall"]["id"])
        if not rows:
            click.echo("no windows yet: `hostd window add W`")
        for w in rows:
            click.echo(
                "%-8s %-12s devices %-16s %s"
                % (
                    w["window"],
                    w["name"] or "-",
                    ",".join(w["devices"]) or "none",
                    "%s 工号 %s" % (w["staff_name"], w["staff_no"]) if w["serving"] else "暂停服务",
                )
            )
