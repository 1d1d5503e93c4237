"""The systemd unit of `hostd run` (hostd service install / --print).

Type=notify: systemd counts hostd started when it says READY=1 (after the
broker, the collector and the pages are up), and restarts it when it stops
feeding the watchdog (WatchdogSec): hostd feeds it only while its collector
and its store's writer make progress (hostd/service/notify.py). It runs as
its own user, with the filesystem read-only but for its home (and a local
backup replica), no new
privileges, no devices and only the address families it uses.
"""

import shlex
import sys
from pathlib import Path

from hostd.broker.mosquitto import UNIT_OPEN_FILES

WATCHDOG_S = 60
UNIT_NAME = "hostd.service"


def hostd_binary():
    """The `hostd` script of the virtual environment running now."""
    return str(Path(sys.executable).parent / "hostd")


def text(home, user, hall, binary=None, replica_folder=None):
    """The unit file for the home `home` (a path), run as `user`; a local
    Litestream replica folder (backup.replica) is writable too."""
    home = str(Path(home).resolve())
    writable = shlex.quote(home)
    if replica_folder:  # "-": a backup disk not mounted does not stop hostd; doctor says so
        writable += " -" + shlex.quote(str(replica_folder))
    run = "%s --home %s run" % (shlex.quote(binary or hostd_binary()), shlex.quote(home))
    return "\n".join(
        [
            "# Written by `hostd service install`; `hostd service install --print` shows it again.",
            "[Unit]",
            "Description=hostd, the 好差评 hall host of hall %s" % hall,
            "Documentation=file://%s" % (Path(__file__).resolve().parents[2] / "README.md"),
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=notify",
            "NotifyAccess=main",
            "ExecStart=%s" % run,
            "Environment=PYTHONUNBUFFERED=1",
            "# Keys of an s3:// replica (LITESTREAM_ACCESS_KEY_ID=..., LITESTREAM_SECRET_ACCESS_KEY=...)",
            "EnvironmentFile=-%s" % shlex.quote(str(Path(home) / "backup.env")),
            "User=%s" % user,
            "Group=%s" % user,
            "# the broker holds a socket per device: room for a city's fleet",
            "LimitNOFILE=%d" % UNIT_OPEN_FILES,
            "Restart=always",
            "RestartSec=5",
            "WatchdogSec=%d" % WATCHDOG_S,
            "TimeoutStartSec=120",
            "TimeoutStopSec=30",
            "UMask=0077",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=%s" % writable,
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "CapabilityBoundingSet=",
            "SystemCallArchitectures=native",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
