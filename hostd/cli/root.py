"""The `hostd` command line (click). Every command's help has an `Example:`.

A user's mistake never shows a traceback: the exceptions that carry a
one-line message (hostd.base.errors.UserError, registry and store errors) are
turned into output in one place, `HostdGroup.invoke`.
"""

import json
import sys

import click
from tabulate import tabulate

from hostd.base import hall_time
from hostd.base.errors import UserError
from hostd.base.home import ENV, HOST_USER, Home
from hostd.broker import files as broker_files
from hostd.db.store import StoreError, open_database
from hostd.devices import registry

_ARGUMENT_ERRORS = (registry.BadDeviceId, registry.BadHallId, registry.BadWindow)


class HostdGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (UserError, registry.RegistryError, StoreError) as exc:
            code = getattr(exc, "exit_code", 2 if isinstance(exc, _ARGUMENT_ERRORS) else 1)
            click.echo("Error: %s" % exc, err=True)
            ctx.exit(code)


@click.group(cls=HostdGroup)
@click.option(
    "--home",
    "home_dir",
    envvar=ENV,
    type=click.Path(file_okay=False),
    help="Directory holding all hostd state (env %s)." % ENV,
)
@click.version_option("0.1.0", prog_name="hostd")
@click.pass_context
def cli(ctx, home_dir):
    """hostd: the hall host daemon of the 好差评 rating system.

    Example: hostd --home /var/lib/hostd init --hall hall-01
    """
    ctx.obj = home_dir


def _home(ctx):
    return Home.locate(ctx.obj)


def _db(home):
    home.config()  # a home that exists, with a valid config, before any work
    return open_database(home.db_path)


@cli.command()
@click.option("--hall", help="Hall id (1-32 of A-Z a-z 0-9 _ -). Default hall-01.")
@click.option("--listen", help="Broker listen address. Default 0.0.0.0.")
@click.option("--broker-port", type=int, help="Broker port. Default 1883.")
@click.option("--web-port", type=int, help="Status page port. Default 8080.")
@click.option(
    "--public-url",
    metavar="URL",
    help="Base URL of the pages that citizens' phones (the QR codes) and supervisors' PCs reach,"
    " e.g. http://192.168.1.10:8080/. The pages then listen on the LAN, not loopback only.",
)
@click.pass_context
def init(ctx, hall, listen, broker_port, web_port, public_url):
    """Create a hostd home: config, database, keys and broker files.

    Example: hostd --home ./hall init --hall hall-01 --public-url http://192.168.1.10:8080/
    """
    home = _home(ctx)
    overrides = {}
    if public_url is not None:
        overrides["web"] = _public_web(public_url)
    if listen is not None:
        overrides.setdefault("broker", {})["listen"] = listen
    if broker_port is not None:
        overrides.setdefault("broker", {})["port"] = broker_port
    if web_port is not None:
        overrides.setdefault("web", {})["port"] = web_port
    config = home.init(hall, overrides)
    open_database(home.db_path).conn.close()
    # lazy: FastAPI loads only for the commands that need the API token
    from hostd.web.api import ensure_token

    ensure_token(home)  # <home>/keys/api-token: the window business systems' bearer token
    home.db_path.chmod(0o600)  # it holds the device keys; WAL files inherit this mode
    click.echo(
        "initialised %s: hall %s, broker port %d, web port %d; edit %s, then `hostd run`"
        % (home.path, config["hall"]["id"], config["broker"]["port"], config["web"]["port"], home.config_path)
    )
    web = config["web"]
    if web["public_url"]:
        click.echo(
            "the pages listen on %s:%d; QR codes and supervisors use %s"
            % (web["listen"], web["port"], web["public_url"])
        )
    else:
        click.echo(
            "the pages listen on %s:%d only: phones cannot open the QR codes' links and other PCs"
            " cannot open the pages; give `--public-url http://<this host's LAN address>:%d/`"
            " (or set web.public_url and web.listen in hostd.toml)"
            % (web["listen"], web["port"], web["port"])
        )


class BadPublicUrl(UserError):
    exit_code = 2


def _public_web(url):
    """web.public_url = url, and web.listen to match: every interface when
    the URL names another host than this one's loopback."""
    # lazy: only init parses a URL
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadPublicUrl(
            "--public-url %r: give an http:// or https:// URL with a host,"
            " e.g. http://192.168.1.10:8080/" % url
        )
    loopback = parts.hostname in ("localhost", "::1") or parts.hostname.startswith("127.")
    return {
        "public_url": url if url.endswith("/") else url + "/",
        "listen": "127.0.0.1" if loopback else "0.0.0.0",
    }


@cli.command()
@click.option(
    "--broker",
    "broker_url",
    envvar="HOSTD_BROKER",
    metavar="URL",
    help="Use this existing broker (mqtt://host:port) instead of starting one.",
)
@click.pass_context
def run(ctx, broker_url):
    """Run the daemon: broker, collector and status page, until Ctrl-C.

    Example: hostd --home ./hall run --broker mqtt://127.0.0.1:1883
    """
    # lazy: the daemon's stack (FastAPI, uvicorn, paho) loads only for hostd run
    from hostd import daemon

    home = _home(ctx).require()
    if broker_url:
        broker_files.parse_url(broker_url)  # a bad URL fails before anything starts
    sys.exit(daemon.run(home, broker_url))


@cli.group()
def device():
    """Register, provision, replace, label, list and revoke devices.

    Example: hostd device list
    """


def _apply(home, db):
    count, reloaded = broker_files.apply_registry(home, db)
    return (
        "the running broker reloaded its users"
        if reloaded
        else "broker users updated (no running Mosquitto to reload)"
    )


@device.command("add")
@click.argument("device_id")
@click.option("--window", required=True, help="The service window (窗口) it sits at.")
@click.option("--hall", help="Hall id; default: the hall in hostd.toml.")
@click.pass_context
def device_add(ctx, device_id, window, hall):
    """Register a device and make its 32-byte key (kept in hostd.db).

    Example: hostd device add w01-a --window 1
    """
    home = _home(ctx)
    db = _db(home)
    hall = hall or home.config()["hall"]["id"]
    if device_id == HOST_USER:
        raise registry.BadDeviceId(
            "device id %r is reserved for hostd's own broker user; pick another" % device_id
        )
    registry.add_device(db, device_id, window, hall)
    note = _apply(home, db)
    click.echo(
        "added %s (hall %s, window %s); %s; its key stays in %s: "
        "`hostd device show-config %s` prints what the device needs"
        % (device_id, hall, window, note, home.db_path, device_id)
    )


def _when(ts):
    return hall_time.when(ts, "%Y-%m-%d %H:%M:%S") if ts else "-"


@device.command("list")
@click.pass_context
def device_list(ctx):
    """Show every device: window, online, last seen, firmware, outbox, last reset, revoked.

    Example: hostd device list
    """

    db = _db(_home(ctx))
    rows = [
        [
            d["device_id"],
            d["hall"],
            d["window"],
            "yes" if d["online"] else "no",
            _when(d["last_seen"]),
            d["firmware"] or "-",
            "-" if d["outbox_depth"] is None else d["outbox_depth"],
            "%s (boot %d, %d in the last hour)" % (d["reset_cause"], d["boots"], d["reboots_hour"])
            if d["reset_cause"]
            else "-",
            "yes" if d["revoked_at"] else "no",
        ]
        for d in db.query("SELECT * FROM fleet ORDER BY device_id")
    ]
    if not rows:
        click.echo("no devices yet: add one with `hostd device add ID --window W`")
        return
    click.echo(
        tabulate(
            rows,
            headers=[
                "id",
                "hall",
                "window",
                "online",
                "last seen",
                "firmware",
                "outbox",
                "last reset",
                "revoked",
            ],
        )
    )


@device.command("revoke")
@click.argument("device_id")
@click.pass_context
def device_revoke(ctx, device_id):
    """Refuse a device from now on (broker login and every message).

    Example: hostd device revoke w01-a
    """
    home = _home(ctx)
    db = _db(home)
    registry.revoke_device(db, device_id)
    click.echo("revoked %s; %s" % (device_id, _apply(home, db)))


@device.command("rotate-key")
@click.argument("device_id")
@click.option(
    "--overlap-hours",
    type=click.FloatRange(min=0),
    default=24,
    show_default=True,
    help="How long the old key still verifies ratings.",
)
@click.pass_context
def device_rotate_key(ctx, device_id, overlap_hours):
    """Give a device a new key; the old one verifies during the overlap.

    Example: hostd device rotate-key w01-a --overlap-hours 48
    """
    home = _home(ctx)
    db = _db(home)
    registry.rotate_key(db, device_id, int(overlap_hours * 3600))
    click.echo(
        "new key for %s (old key verifies for %g h); %s; reprovision the device: "
        "`hostd device show-config %s`" % (device_id, overlap_hours, _apply(home, db), device_id)
    )


@device.command("show-config")
@click.argument("device_id")
@click.pass_context
def device_show_config(ctx, device_id):
    """Print the JSON config a device needs, key included (keep it secret).

    Example: hostd device show-config w01-a > w01-a.json
    """
    home = _home(ctx)
    db = _db(home)
    info = registry.get_device(db, device_id)
    key = registry.device_key(db, device_id)
    host, port = home.advertised_broker()
    click.echo(
        json.dumps(
            {
                "device_id": device_id,
                "hall": info["hall"],
                "window": info["window"],
                "key": key.hex(),
                "broker_host": host,
                "broker_port": port,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


from hostd.cli import device as device_commands  # noqa: E402  provision, flash, station, replace, label

device_commands.register(device, _home, _db, _apply)

from hostd.cli import user as user_commands  # noqa: E402  hall page accounts

user_commands.register(cli, _home, _db)
from hostd.cli import session as session_commands  # noqa: E402  session, staff, unit

session_commands.register(cli, _home, _db)
from hostd.cli import window as window_commands  # noqa: E402  windows and their stickers

window_commands.register(cli, _home, _db)
from hostd.cli import sync as sync_commands  # noqa: E402  upstream sync

sync_commands.register(cli, _home, _db)

from hostd.cli import workorder as workorder_commands  # noqa: E402  work orders

workorder_commands.register(cli, _home, _db)
from hostd.cli import appeal as appeal_commands  # noqa: E402  appeal, fraud

appeal_commands.register(cli, _home, _db)
from hostd.cli import reporting as reporting_commands  # noqa: E402  stats, ranking, report

reporting_commands.register(cli, _home, _db)
from hostd.cli import service as service_commands  # noqa: E402  service, backup, restore

service_commands.register(cli, _home, _db)
from hostd.cli import alerts as alerts_commands  # noqa: E402  alerts, the webhook

alerts_commands.register(cli, _home, _db)
from hostd.cli import privacy as privacy_commands  # noqa: E402  who read evaluator data

privacy_commands.register(cli, _home, _db)
from hostd.cli import rating as rating_commands  # noqa: E402  paper forms

rating_commands.register(cli, _home, _db)
from hostd.cli import spotcheck as spotcheck_commands  # noqa: E402  回访抽查

spotcheck_commands.register(cli, _home, _db)
from hostd.cli import unresolved as unresolved_commands  # noqa: E402  办不成事

unresolved_commands.register(cli, _home, _db)
from hostd.cli import thirdparty as thirdparty_commands  # noqa: E402  第三方评价

thirdparty_commands.register(cli, _home, _db)


def main():
    cli(prog_name="hostd")


if __name__ == "__main__":
    main()
