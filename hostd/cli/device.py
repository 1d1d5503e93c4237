"""The hall IT commands on `hostd device`: provision, flash, station, replace, label.

hostd/cli/root.py calls register() with its `device` group and helpers, so these
commands share its one error handler (one line, never a traceback).
"""

from pathlib import Path

import click

from hostd.base.errors import UserError
from hostd.base.progress import human_bytes
from hostd.devices import flash, label, provision, registry

PORT_HELP = "Serial port of the board (/dev/ttyUSB0, or the simulator's /dev/pts/N)."


def _provision(ctx, home, db, device_id, port, wifi_ssid=None, wifi_password=None, tls_ca=None, timeout=60):
    result = provision.provision(
        home, db, device_id, port, wifi_ssid, wifi_password, tls_ca, timeout=timeout, say=click.echo
    )
    where = "the romfs partition" if result["where"] == "rom" else "lib/ (no romfs partition)"
    click.echo(
        "provisioned %s on %s: firmware in %s; first heartbeat %.1f s after the start"
        % (device_id, port, where, result["seconds"])
    )


def register(device, home_of, db_of, apply_registry):
    """Add the commands to the click group `device`."""

    @device.command("provision")
    @click.argument("device_id")
    @click.option("--port", required=True, help=PORT_HELP)
    @click.option("--wifi-ssid", envvar="HOSTD_WIFI_SSID", help="Wi-Fi network the device joins.")
    @click.option(
        "--wifi-password", envvar="HOSTD_WIFI_PASSWORD", help="Its password (env HOSTD_WIFI_PASSWORD)."
    )
    @click.option(
        "--tls-ca",
        type=click.Path(dir_okay=False),
        help="PEM file of the broker's CA, copied onto the device (MQTT over TLS).",
    )
    @click.option(
        "--timeout",
        type=click.IntRange(5, 600),
        default=60,
        show_default=True,
        help="Seconds to wait for the first heartbeat.",
    )
    @click.pass_context
    def device_provision(ctx, device_id, port, wifi_ssid, wifi_password, tls_ca, timeout):
        """Put firmware and config on a board, reboot it, wait for its heartbeat.

        `hostd run` must be running. The config is written to a temp file and
        renamed, so a power cut leaves the old config or the whole new one;
        run the command again to finish.

        Example: hostd device provision w01-a --port /dev/ttyUSB0 --wifi-ssid hall --wifi-password secret
        """
        if wifi_password and not wifi_ssid:
            raise UserError("--wifi-password without --wifi-ssid: give the network name too")
        home = home_of(ctx)
        _provision(ctx, home, db_of(home), device_id, port, wifi_ssid, wifi_password, tls_ca, timeout)

    @device.command("flash")
    @click.option("--port", required=True, help=PORT_HELP)
    @click.option(
        "--firmware",
        "firmware",
        required=True,
        type=click.Path(dir_okay=False),
        help="MicroPython .bin for the board (https://micropython.org/download/).",
    )
    @click.option(
        "--chip",
        type=click.Choice(list(flash.CHIPS)),
        help="The board's chip. Default: the one the .bin names in its header.",
    )
    @click.option("--baud", type=click.IntRange(9600, 2000000), default=460800, show_default=True)
    @click.option("--device", "device_id", help="Provision this device id afterwards.")
    @click.option("--wifi-ssid", envvar="HOSTD_WIFI_SSID", help="Wi-Fi network (with --device).")
    @click.option("--wifi-password", envvar="HOSTD_WIFI_PASSWORD", help="Wi-Fi password (with --device).")
    @click.option("--verbose", is_flag=True, help="Also print every line esptool writes.")
    @click.pass_context
    def device_flash(ctx, port, firmware, chip, baud, device_id, wifi_ssid, wifi_password, verbose):
        """Write MicroPython to a blank ESP32 with esptool, then provision it.

        The board must be in download mode: hold BOOT, press and release EN
        (RST), release BOOT. Most boards with a USB-serial chip do this by
        themselves.

        Example: hostd device flash --port /dev/ttyUSB0 --firmware ESP32_GENERIC-v1.25.0.bin --device w01-a
        """

        home = db = None
        if device_id:  # every check before the chip is erased
            home = home_of(ctx)
            db = db_of(home)
            registry.device_key(db, device_id)
        done = flash.flash(port, firmware, chip, baud, say=click.echo, verbose=verbose)
        click.echo(
            "MicroPython written: %s at 0x%x on an %s (MAC %s), %.1f s in all"
            % (human_bytes(done.size), done.offset, flash.CHIPS[done.chip][2], done.mac, done.seconds)
        )
        if device_id:
            provision.wait_micropython(port)  # its first boot makes its filesystem
            _provision(ctx, home, db, device_id, port, wifi_ssid, wifi_password)
        else:
            click.echo("now run `hostd device provision ID --port %s`" % port)

    @device.command("station")
    @click.option(
        "--ports",
        "pattern",
        required=True,
        help="Glob of the serial ports boards appear on, quoted: '/dev/ttyUSB*'.",
    )
    @click.option(
        "--firmware",
        required=True,
        type=click.Path(dir_okay=False),
        help="MicroPython .bin for the boards (https://micropython.org/download/).",
    )
    @click.option("--chip", type=click.Choice(list(flash.CHIPS)), help="Default: the .bin's own.")
    @click.option("--baud", type=click.IntRange(9600, 2000000), default=460800, show_default=True)
    @click.option(
        "--ids",
        help="Give these device ids, in order (comma-separated). Default: every registered "
        "device that has no board yet, oldest first.",
    )
    @click.option(
        "--labels",
        "labels_dir",
        default="labels",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Folder for each ID.png and the printable labels.pdf.",
    )
    @click.option("--wifi-ssid", envvar="HOSTD_WIFI_SSID", help="Wi-Fi network the devices join.")
    @click.option("--wifi-password", envvar="HOSTD_WIFI_PASSWORD", help="Its password.")
    @click.option(
        "--boards", "boards_max", type=click.IntRange(1, 10000), help="Stop after this many boards."
    )
    @click.option(
        "--timeout",
        type=click.IntRange(5, 600),
        default=60,
        show_default=True,
        help="Seconds to wait for each board's first heartbeat.",
    )
    @click.pass_context
    def device_station(
        ctx, pattern, firmware, chip, baud, ids, labels_dir, wifi_ssid, wifi_password, boards_max, timeout
    ):
        """Flash, provision and label boards one after another as they are plugged in.

        `hostd run` must be running. Each board gets the next registered
        device id that has no board yet; one line per board says its id,
        window, MAC and result. A board that fails is skipped and keeps no id
        unless its firmware was written (then it keeps that one id).

        Example: hostd device station --ports '/dev/ttyUSB*' --firmware ESP32_GENERIC-v1.25.0.bin
        """
        # lazy: the station loads only for its command
        from hostd.devices import station

        if wifi_password and not wifi_ssid:
            raise UserError("--wifi-password without --wifi-ssid: give the network name too")
        home = home_of(ctx)
        wanted = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
        bench = station.Station(
            home,
            db_of(home),
            pattern,
            firmware,
            chip,
            baud,
            wanted,
            labels_dir,
            wifi_ssid,
            wifi_password,
            say=click.echo,
            heartbeat_timeout=timeout,
        )
        try:
            results = bench.run(boards_max=boards_max)
        except KeyboardInterrupt:
            results = bench.results
        ok = sum(1 for r in results if r.ok)
        click.echo(
            "station stopped: %d board(s) ready, %d failed; labels in %s"
            % (ok, len(results) - ok, Path(labels_dir) / station.SHEET)
        )

    @device.command("replace")
    @click.argument("old_id")
    @click.argument("new_id")
    @click.option("--port", help="Provision NEW on this port right away.")
    @click.pass_context
    def device_replace(ctx, old_id, new_id, port):
        """Give OLD's window to a new device NEW and revoke OLD at once.

        The broker refuses OLD's login from now on, and hostd its ratings.

        Example: hostd device replace w01-a w01-b --port /dev/ttyUSB0
        """
        home = home_of(ctx)
        db = db_of(home)
        old = registry.get_device(db, old_id)
        if old["revoked"]:
            raise registry.DeviceRevoked(
                "device %s is already revoked: add the new one with "
                "`hostd device add %s --window %s`" % (old_id, new_id, old["window"])
            )
        registry.add_device(db, new_id, old["window"], old["hall"])
        registry.revoke_device(db, old_id)
        note = apply_registry(home, db)
        click.echo(
            "replaced %s by %s on window %s (hall %s): %s revoked; %s"
            % (old_id, new_id, old["window"], old["hall"], old_id, note)
        )
        if port:
            _provision(ctx, home, db, new_id, port)
        else:
            click.echo("now provision it: `hostd device provision %s --port PORT`" % new_id)

    @device.command("label")
    @click.argument("device_id")
    @click.option("--out", type=click.Path(dir_okay=False), help="PNG file. Default: ID.png.")
    @click.option(
        "--font",
        type=click.Path(dir_okay=False),
        envvar="HOSTD_LABEL_FONT",
        help="CJK font file (env HOSTD_LABEL_FONT). Default: WenQuanYi Micro Hei.",
    )
    @click.pass_context
    def device_label(ctx, device_id, out, font):
        """Write a 50x30 mm label (300 dpi PNG): QR code, device id, hall, window.

        Example: hostd device label w01-a --out w01-a.png
        """

        home = home_of(ctx)
        info = registry.get_device(db_of(home), device_id)
        path = label.write(out or "%s.png" % device_id, device_id, info["hall"], info["window"], font)
        click.echo(
            "label for %s written to %s (%dx%d px, 300 dpi, 1-bit)"
            % (device_id, path, label.SIZE[0], label.SIZE[1])
        )
