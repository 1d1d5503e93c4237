"""Provisioning (设备开通): put the firmware and a device's config on a board,
reboot it, and wait for its first heartbeat at hostd.

Order matters for a power cut at any moment:

1. every check first (device known and not revoked, broker up, port free,
   MicroPython answers), so a refusal writes nothing;
2. the firmware: into the romfs partition when the board has
   `vfs.rom_ioctl`, else .mpy files into lib/; then main.py;
3. config.json last, atomically: config.json.tmp, then a rename (littlefs
   renames atomically), so the board keeps the old config or has the whole
   new one; firmware/config.py drops a leftover .tmp on the next boot;
4. machine.reset() (main.py runs, as after a power-on), then the first
   heartbeat, seen as a new `online` row in the `fleet` view of hostd.db.

A re-run recovers any interrupted provisioning.
"""

import hashlib
import json
import socket
import time
from pathlib import Path

from hostd.base.errors import UserError
from hostd.devices import firmware_image, registry, serial_board, voice
from hostd.devices.serial_board import Board

STEPS = (
    "check the device",
    "check the broker",
    "open the port",
    "firmware",
    "main.py",
    "voice",
    "config",
    "reboot",
    "first heartbeat",
)
CONFIG = "config.json"
CONFIG_TMP = "config.json.tmp"
CA_FILE = "ca.pem"


class BrokerUnreachable(UserError):
    pass


class NoHeartbeat(UserError):
    pass


class BadOption(UserError):
    exit_code = 2


def device_config(home, db, device_id, wifi_ssid=None, wifi_password=None, tls_ca=False):
    """The config.json values for `device_id` (raises UnknownDevice / DeviceRevoked)."""
    key = registry.device_key(db, device_id)
    info = registry.get_device(db, device_id)
    host, port = home.advertised_broker()
    settings = home.config()["device"]
    values = {
        "device_id": device_id,
        "hall": info["hall"],
        "window": info["window"],
        "key": key.hex(),
        "broker_host": host,
        "broker_port": port,
        "watchdog_s": settings["watchdog_s"],
        "reason_timeout_s": settings["reason_timeout_s"],
        "offline_s": settings["offline_interval_s"] if settings["offline_rating"] else 0,
        "show_level": 1 if settings["show_chosen_level"] else 0,
        "voice": voice.window_volume(db, info["hall"], info["window"], settings["voice_volume"]),
    }
    if wifi_ssid:
        values["wifi_ssid"] = wifi_ssid
        values["wifi_password"] = wifi_password or ""
    if tls_ca:
        values["tls_ca"] = CA_FILE
        broker = home.config()["broker"]
        if broker["tls_port"] and not broker["url"]:  # hostd's Mosquitto: TLS on its own port
            values["broker_port"] = broker["tls_port"]
    return values


_FILE_DIGEST = """import hashlib
def _digest(name):
    try:
        f = open(name, 'rb')
    except OSError:
        return b''
    h = hashlib.sha256()
    while True:
        chunk = f.read(1024)
        if not chunk:
            break
        h.update(chunk)
    f.close()
    return h.digest()
"""


def deploy_voice(home, board, volume, say):
    """The voice clips (hostd/devices/voice.py) onto the board's flash, each
    written to a .tmp file and renamed, and skipped when the board already
    holds it (same SHA-256). None to write when the voice is off."""
    if not volume:
        say("voice: off at this window; no clips written")
        return 0
    clips = voice.clips(home.path / "voice", home.config()["device"]["voice_invitation"])
    written = 0
    board.exec(_FILE_DIGEST)
    for name, data in clips:
        have = board.eval("_digest(%r)" % name)
        if have == hashlib.sha256(data).digest():
            continue
        board.write_file(name + ".tmp", data, chunk=2048)
        board.rename(name + ".tmp", name)
        written += len(data)
    say("voice: %d clips, %d bytes written, volume %d of 5" % (len(clips), written, volume))
    return written


def check_broker(home, timeout=3.0):
    host, port = home.advertised_broker()
    try:
        socket.create_connection((host, port), timeout).close()
    except OSError as exc:
        raise BrokerUnreachable(
            "the hall broker at %s:%d does not answer (%s): start hostd with "
            "`hostd --home %s run`, then provision again" % (host, port, exc.strerror or exc, home.path)
        )


def _heartbeat_mark(db, device_id):
    rows = list(db.query("SELECT state, last_seen, uptime FROM fleet WHERE device_id = ?", [device_id]))
    return tuple(rows[0].values()) if rows else None


def wait_heartbeat(db, device_id, before, since, timeout):
    """Wait for a new online heartbeat (not `before`, no older than `since`); its time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mark = _heartbeat_mark(db, device_id)
        if mark and mark != before and mark[0] == "online" and mark[1] >= int(since):
            return time.monotonic()
        time.sleep(0.1)
    raise NoHeartbeat(
        "%s was provisioned but no heartbeat reached hostd within %d s: is `hostd run` running, "
        "and can the board reach the broker (Wi-Fi, broker address)? See `hostd device list`"
        % (device_id, timeout)
    )


def wait_micropython(port, timeout=30.0):
    """After a flash the board resets, and MicroPython's first boot makes its
    filesystem: wait for its REPL (a UserError after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            Board.open(port).close()
            return
        except serial_board.PortMissing:
            raise
        except UserError:
            if time.monotonic() > deadline:
                raise UserError(
                    "MicroPython did not start within %d s of the flash: press the board's EN (RST) "
                    "button, or check the image is MicroPython" % timeout
                )
            time.sleep(0.5)


def deploy_firmware(board, say, hook):
    """ROM partition if the board has one, else lib/; returns 'rom' or 'lib'."""
    if board.rom_size():
        image = firmware_image.romfs_image().read_bytes()
        if board.rom_digest(len(image)) == hashlib.sha256(image).digest():
            say("firmware: the romfs partition already holds this firmware (%d bytes)" % len(image))
            return "rom"
        say("firmware: writing %d bytes into the romfs partition" % len(image))

        def progress(done, total):
            hook("firmware-write", done)

        board.deploy_rom(image, progress)
        return "rom"
    files = firmware_image.mpy_files()
    say("firmware: no romfs partition (vfs.rom_ioctl); copying %d .mpy files into lib/" % len(files))
    for name, data in files:
        target = "lib/" + name
        board.makedirs(target.rsplit("/", 1)[0])
        board.write_file(target, data)
        hook("firmware-write", name)
    return "lib"


def provision(
    home,
    db,
    device_id,
    port,
    wifi_ssid=None,
    wifi_password=None,
    tls_ca=None,
    timeout=60.0,
    say=print,
    hook=None,
):
    """Do the whole job; return {'where': 'rom'|'lib', 'seconds': time to first heartbeat}.

    `say(text)` gets one line per step; `hook(event, detail)` (tests) is called
    at the points where a power cut matters most.
    """
    hook = hook or (lambda event, detail=None: None)
    started = time.monotonic()
    steps = iter(enumerate(STEPS, 1))

    def step(text=None):
        n, name = next(steps)
        say("[%d/%d] %s%s" % (n, len(STEPS), name, (": " + text) if text else ""))

    if tls_ca is not None and not Path(tls_ca).is_file():
        raise BadOption("no CA file %s: give the PEM file of the broker's CA with --tls-ca" % tls_ca)
    step(device_id)
    values = device_config(home, db, device_id, wifi_ssid, wifi_password, tls_ca is not None)
    host, broker_port = values["broker_host"], values["broker_port"]
    step("%s:%d" % (host, broker_port))
    check_broker(home)
    step(port)
    board = Board.open(port)
    try:
        step()
        where = deploy_firmware(board, say, hook)
        step()
        board.write_file("main.py", firmware_image.MAIN_PY)
        step()
        deploy_voice(home, board, values["voice"], say)
        step(
            "hall %s, window %s, broker %s:%d%s"
            % (
                values["hall"],
                values["window"],
                host,
                broker_port,
                ", Wi-Fi " + wifi_ssid if wifi_ssid else "",
            )
        )
        if tls_ca is not None:
            board.write_file(CA_FILE + ".tmp", Path(tls_ca).read_bytes())
            board.rename(CA_FILE + ".tmp", CA_FILE)
        board.write_file(CONFIG_TMP, json.dumps(values).encode())
        hook("config-tmp-written", None)
        board.rename(CONFIG_TMP, CONFIG)
        hook("config-renamed", None)
        before = _heartbeat_mark(db, device_id)
        reboot_at = time.time()
        step()
        board.hard_reset()
    finally:
        board.close()
    step("waiting up to %d s" % timeout)
    seen = wait_heartbeat(db, device_id, before, reboot_at, timeout)
    return {"where": where, "seconds": seen - started}
