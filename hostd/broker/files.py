"""The hall's MQTT broker: the Mosquitto files hostd generates. (The URL of
an existing broker is hostd/base/broker_url.py.)

hostd writes three files under <home>/broker/ from its config and device
registry:

    mosquitto.conf  listeners and MQTT-level hardening: devices on the broker
                    port with use_username_as_clientid (no client-id
                    takeover); hostd itself on a 127.0.0.1 listener
                    (host_port, kept in broker/host_port)
    passwd          one user per live device (password derived from its key),
                    mosquitto's $7$ format: the device listeners' logins
    passwd-host     the `hostd` user alone: the only login on hostd's own
                    127.0.0.1 listener, and no login at all on the device
                    listeners (per_listener_settings), so a device login,
                    readable from a device's flash, can never take hostd's
                    client id there
    acl             each device publishes only its own rating and status and
                    reads only its own session and ack; hostd reads every
                    rating/status and writes every ack/session. A device
                    in broker/quarantine (a flood) may publish nothing.

`sync_files` rewrites passwd and acl atomically (temp + rename); `reload`
sends SIGHUP to the running broker (broker/pid) so a change is live at once.
Running and supervising the process is hostd/broker/mosquitto.py.
"""

import logging
import os
import pwd
import signal
import socket
import time

from hostd.base.broker_url import BrokerUrl, parse_url  # noqa: F401  (hostd.broker.files.parse_url)
from hostd.base.errors import PortInUse
from hostd.base.home import HOST_USER, write_atomic
from hostd.broker import passwords
from protocol.credentials import mqtt_password
from protocol.topics import PREFIX

log = logging.getLogger("hostd.broker")

# MQTT-level limits (the largest legitimate packet is a session push:
# messages.MAX_HOST_MESSAGE = 4096 bytes plus topic and header; devices send far less).
MAX_PACKET_SIZE = 20000
MAX_INFLIGHT_MESSAGES = 20
MAX_QUEUED_MESSAGES = 1000  # per client; at least QUEUED_PER_DEVICE x the devices (queued_messages)
# hostd's collector takes every device's messages. In a reconnect storm each
# device has up to 8 ratings in flight (firmware/app.py _INFLIGHT) and a
# heartbeat: a shorter queue makes the broker drop QoS1 messages it has
# already PUBACKed, and the devices send them again 15 s later (bench/storm.py
# measured 4,980 resends of 50,000 ratings from 1,000 devices with 1,000).
QUEUED_PER_DEVICE = 10
MAX_KEEPALIVE = 300


def check_port_free(host, port, what):
    """Raise PortInUse unless we could listen on host:port right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                "%s port %s:%d is not free (%s): is another program using it? "
                "Stop it or change the port in hostd.toml" % (what, host, port, exc.strerror or exc)
            )


# -- generated files -------------------------------------------------------

HOST_PORT_FILE = "host_port"


def _loopback_port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def host_port(home, config, fresh=False):
    """The port of hostd's own listener on 127.0.0.1 (see render_config):
    broker.host_port, or a free port chosen once and kept in broker/host_port.
    `fresh` (at broker start): choose again if the kept one is taken."""
    port = config["broker"].get("host_port", 0)
    if port:
        return port
    path = home.broker / HOST_PORT_FILE
    try:
        port = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        port = 0
    if port and not (fresh and (port == config["broker"]["port"] or not _loopback_port_free(port))):
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home.broker.mkdir(mode=0o700, exist_ok=True)
    write_atomic(path, "%d\n" % port, 0o600)
    return port


def _auth(out, passwd):
    """A listener's own logins and rules (per_listener_settings true)."""
    return [
        "allow_anonymous false",
        "allow_zero_length_clientid false",
        "password_file %s" % (out / passwd),
        "acl_file %s" % (out / "acl"),
    ]


def queued_messages(devices):
    """max_queued_messages for a hall of `devices` devices."""
    return max(MAX_QUEUED_MESSAGES, QUEUED_PER_DEVICE * devices)


def render_config(home, config, devices=0):
    """mosquitto.conf. Devices use the broker port (and the TLS port), where
    use_username_as_clientid makes every client id its login: a client id
    such as `#`, `+` or another device's id never exists there, and no login
    can take over another's session (or hostd's). hostd's own collector
    connects to a second listener on 127.0.0.1 (host_port), where its fixed
    client id keeps its persistent session."""
    broker = config["broker"]
    out = home.broker
    lines = [
        "# Generated by hostd from %s; edit that file, not this one." % home.config_path,
        "user %s" % pwd.getpwuid(os.getuid()).pw_name,  # as root mosquitto would switch user; stay as we are
        "# each listener has its own logins (see passwd and passwd-host)",
        "per_listener_settings true",
        "persistence true",
        "persistence_location %s/" % out,
        "autosave_interval 60",
        "log_dest file %s" % (out / "mosquitto.log"),
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "# MQTT-level hardening",
        "max_packet_size %d" % MAX_PACKET_SIZE,
        "max_inflight_messages %d" % MAX_INFLIGHT_MESSAGES,
        "max_queued_messages %d" % queued_messages(devices),
        "max_keepalive %d" % MAX_KEEPALIVE,
        "persistent_client_expiration 14d",
        "check_retain_source true",
        "# Acks are small and answer a device at once; Nagle would hold each",
        "# one for a delayed TCP ACK (about 40 ms).",
        "set_tcp_nodelay true",
        "",
        "listener %d %s" % (broker["port"], broker["listen"]),
        "protocol mqtt",
        "use_username_as_clientid true",
        *_auth(out, "passwd"),
        "",
        "# hostd's own clients (loopback only, the hostd login only): client ids as they give them",
        "listener %d 127.0.0.1" % host_port(home, config),
        "protocol mqtt",
        *_auth(out, "passwd-host"),
    ]
    if broker["tls_port"]:
        lines += [
            "",
            "listener %d %s" % (broker["tls_port"], broker["listen"]),
            "protocol mqtt",
            "certfile %s" % broker["tls_cert"],
            "keyfile %s" % broker["tls_key"],
            "tls_version tlsv1.2",
            "use_username_as_clientid true",
            *_auth(out, "passwd"),
        ]
        if broker["tls_ca"]:
            lines.append("cafile %s" % broker["tls_ca"])
    return "\n".join(lines) + "\n"


def render_acl(devices, host_user=HOST_USER, quarantined=()):
    """The ACL file for `devices`, a list of (device_id, hall). A device in
    `quarantined` keeps reading its acks and sessions but may publish
    nothing: the broker drops its messages (see quarantine())."""
    lines = ["# Generated by hostd from its device registry; do not edit.", "", "user %s" % host_user]
    for leaf in ("rating", "status"):  # readwrite: hostd clears a retained message a device left
        lines.append("topic readwrite %s+/+/%s" % (PREFIX, leaf))
    for leaf in ("ack", "session"):
        lines.append("topic write %s+/+/%s" % (PREFIX, leaf))
    for device_id, hall in devices:
        base = "%s%s/%s/" % (PREFIX, hall, device_id)
        lines += ["", "user %s" % device_id]
        if device_id in quarantined:
            lines.append("# quarantined for flooding: publishes dropped by the broker")
        else:
            lines += ["topic write %srating" % base, "topic write %sstatus" % base]
        lines += ["topic read %ssession" % base, "topic read %sack" % base]
    return "\n".join(lines) + "\n"


# -- flood quarantine: who is in it (hostd/broker/quarantine.py puts them there)
QUARANTINE_S = 60
QUARANTINE_FILE = "quarantine"  # lines "<device_id> <unix time it is let back>"


def quarantined(home, now=None):
    """{device_id: until} of the quarantines still running."""
    now = time.time() if now is None else now
    try:
        text = (home.broker / QUARANTINE_FILE).read_text()
    except FileNotFoundError:
        return {}
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and float(parts[1]) > now:
            out[parts[0]] = float(parts[1])
    return out


def live_devices(db):
    """[(device_id, hall, key bytes)] of devices that are not revoked.

    During a key-rotation overlap the broker takes the NEW key's password:
    the device has been given the new key, and only ratings still in its
    outbox carry the old key's signature (the collector accepts both).
    """
    rows = db.execute(
        "SELECT device_id, hall, key_hex FROM devices WHERE revoked_at IS NULL ORDER BY device_id"
    ).fetchall()
    return [(row[0], row[1], bytes.fromhex(row[2])) for row in rows]


def render_passwd(devices, host_user=HOST_USER):
    """The device listeners' logins: the live devices, never hostd."""
    users = {}
    for device_id, _hall, key in devices:
        if device_id == host_user:
            continue  # the registry refuses this id; never let it shadow hostd
        users[device_id] = mqtt_password(key)
    return passwords.render(users)


def write_config(home, config, devices=0):
    home.broker.mkdir(mode=0o700, exist_ok=True)
    path = home.broker / "mosquitto.conf"
    write_atomic(path, render_config(home, config, devices), 0o600)
    return path


def sync_files(home, db):
    """Rewrite passwd, passwd-host and acl from the registry; return the number of devices."""
    devices = live_devices(db)
    home.broker.mkdir(mode=0o700, exist_ok=True)
    write_atomic(home.broker / "passwd", render_passwd(devices), 0o600)
    write_atomic(home.broker / "passwd-host", passwords.render({HOST_USER: home.host_password()}), 0o600)
    write_atomic(
        home.broker / "acl",
        render_acl([(d, h) for d, h, _k in devices if d != HOST_USER], quarantined=quarantined(home)),
        0o600,
    )
    return len(devices)


# -- the running broker ----------------------------------------------------


def pid_path(home):
    return home.broker / "pid"


def running_pid(home):
    """The pid in broker/pid if it is our mosquitto and alive, else None.

    A stale pid file may name a recycled pid: where /proc exists, the process
    must have been started with this home's mosquitto.conf, so a SIGHUP never
    reaches an unrelated program."""
    try:
        pid = int(pid_path(home).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read()
    except FileNotFoundError:
        return pid if not os.path.isdir("/proc/self") else None
    except OSError:
        return None
    return pid if str(home.broker / "mosquitto.conf").encode() in cmdline else None


def reload(home):
    """SIGHUP the running broker so it rereads passwd and acl; False if none runs."""
    pid = running_pid(home)
    if pid is None:
        return False
    os.kill(pid, signal.SIGHUP)
    return True


def apply_registry(home, db):
    """After a device change: rewrite the files and make them live.

    Returns (devices, reloaded)."""
    count = sync_files(home, db)
    return count, reload(home)
