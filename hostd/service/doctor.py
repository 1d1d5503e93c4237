"""`hostd doctor`: what is wrong with this installation, one line a check.

Each check gives "ok", "fix" (something needs action: the line says what to
do) or "skip" (not set up, or not checkable here: the line says why):

  config     hostd.toml is valid
  database   integrity (quick_check), the schema neither behind nor ahead
  disk       free space on the home's disk, against alerts.disk_free_pct
  broker     hostd's broker answers; its ACL and users match the registry
  clock      this host's clock against doctor.ntp_server (NTP)
  calendar   the working-day calendar knows this year and, 60 days ahead, the next
  certificates  the broker's TLS certificate is not expiring within 30 days
  upstream   the provincial platform answers, when one is configured
  backup     the age of the newest backup copy beside the database
  replica    the continuous backup (backup.replica): what the replica holds
             against hostd.db, and the age of its newest change

run() returns the results; the CLI prints them and exits 1 when one is "fix".
"""

import fcntl
import os
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

from hostd.alerts import conditions
from hostd.base import clock, runlock
from hostd.base.errors import ConfigError
from hostd.broker import files as broker_files
from hostd.db import replica, schema
from hostd.db.store import connect
from hostd.rules import workdays

CLOCK_TOLERANCE_S = 5.0
BACKUP_GLOBS = ("hostd.db.pre-migrate-*", "*.db")


def _result(name, status, detail):
    return {"check": name, "status": status, "detail": detail}


def check_config(home):
    try:
        config = home.config()
    except ConfigError as exc:
        return _result("config", "fix", str(exc)), None
    return _result("config", "ok", "%s is valid (hall %s)" % (home.config_path, config["hall"]["id"])), config


def check_database(home):
    path = str(home.db_path)
    if not os.path.exists(path):
        return _result("database", "fix", "no %s: run `hostd init`" % path)
    db = connect(path, readonly=True)
    try:
        quick = db.execute("PRAGMA quick_check").fetchone()[0]
        newer, behind = schema.unknown(db), schema.pending(db)
    except sqlite3.DatabaseError as exc:
        return _result(
            "database", "fix", "%s cannot be read (%s): restore a backup (hostd restore)" % (path, exc)
        )
    finally:
        db.conn.close()
    if quick != "ok":
        return _result(
            "database", "fix", "%s is damaged (%s): restore a backup (hostd restore)" % (path, quick)
        )
    if newer:
        return _result(
            "database", "fix", "a newer hostd changed the schema (%s): run that version" % newer[0][1]
        )
    if behind:
        return _result(
            "database", "ok", "integrity ok; %d schema change(s) apply at the next start" % len(behind)
        )
    return _result("database", "ok", "integrity ok, schema current")


def check_disk(home, config):
    free, free_bytes = conditions.disk_free(home.path)
    limit = config["alerts"]["disk_free_pct"]
    text = "%.0f%% free (%.1f GB) on the disk of %s" % (free, free_bytes / 1e9, home.path)
    if free < limit:
        return _result("disk", "fix", text + ", under alerts.disk_free_pct %d%%: free some space" % limit)
    return _result("disk", "ok", text)


def _answers(host, port, timeout=2.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_broker(home, config):
    if config["broker"]["url"]:
        host, port = home.advertised_broker(config)
        if _answers(host, port):
            return _result("broker", "ok", "the broker %s answers" % config["broker"]["url"])
        return _result("broker", "fix", "the broker %s does not answer: start it" % config["broker"]["url"])
    if not _running(home):
        return _result("broker", "fix", "hostd is not running, so neither is its broker: start `hostd run`")
    port = broker_files.host_port(home, config)
    if not _answers("127.0.0.1", port):
        return _result(
            "broker", "fix", "hostd runs but its broker does not answer on port %d: see its log" % port
        )
    db = connect(str(home.db_path), readonly=True)
    try:
        devices = broker_files.live_devices(db)
    finally:
        db.conn.close()
    expected = broker_files.render_acl(
        [(d, h) for d, h, _k in devices if d != broker_files.HOST_USER],
        quarantined=broker_files.quarantined(home),
    )
    acl = home.broker / "acl"
    if not acl.exists() or acl.read_text() != expected:
        return _result(
            "broker", "fix", "its ACL is not the registry's: `kill -HUP` hostd (or restart it) to rewrite it"
        )
    users = {
        line.split(":", 1)[0] for line in (home.broker / "passwd").read_text().splitlines() if ":" in line
    }
    if users != {d for d, _h, _k in devices if d != broker_files.HOST_USER}:
        return _result("broker", "fix", "its users are not the registry's devices: `kill -HUP` hostd")
    return _result(
        "broker", "ok", "answers on port %d; ACL and users match %d device(s)" % (port, len(devices))
    )


def _running(home):
    """Whether a `hostd run` holds the home's run lock (hostd/base/runlock.py);
    read-only: doctor run as root must not leave a root-owned file there."""
    path = home.path / runlock.PID_FILE
    if not path.exists():
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def check_clock(config):
    server = config["doctor"]["ntp_server"]
    if not server:
        return _result("clock", "skip", "not checked: set doctor.ntp_server (e.g. your network's NTP server)")
    # lazy: the NTP client loads only for this check
    import ntplib

    host, _, port = server.partition(":")
    try:
        answer = ntplib.NTPClient().request(host, port=port or "ntp", version=3, timeout=3)
    except (ntplib.NTPException, OSError, ValueError) as exc:
        return _result(
            "clock", "fix", "no answer from NTP server %s (%s): check doctor.ntp_server" % (server, exc)
        )
    if abs(answer.offset) > CLOCK_TOLERANCE_S:
        return _result(
            "clock",
            "fix",
            "this host's clock is %+.1f s off %s: turn on time sync (timedatectl set-ntp true)"
            % (-answer.offset, server),
        )
    return _result("clock", "ok", "within %.2f s of %s" % (abs(answer.offset), server))


def check_calendar(config):
    missing = workdays.uncovered_years(config, clock.now())
    if missing:
        return _result(
            "calendar",
            "fix",
            "the working-day calendar lacks %s: add the State Council's 放假安排 to rating.holiday_file"
            % ", ".join(str(y) for y in missing),
        )
    return _result("calendar", "ok", "knows this year and the next 60 days")


def check_certificates(config):
    path = config["broker"]["tls_cert"]
    if not path:
        return _result("certificates", "skip", "no TLS certificate configured (broker.tls_cert)")
    try:
        days = conditions.certificate_days_left(path, time.time())
    except (OSError, ValueError) as exc:
        return _result("certificates", "fix", "cannot read %s (%s)" % (path, exc))
    if days < conditions.CERT_DAYS:
        return _result(
            "certificates", "fix", "%s expires in %d day(s): renew it, then restart hostd" % (path, days)
        )
    return _result("certificates", "ok", "%s valid for %d more days" % (path, days))


def check_upstream(config):
    url = config["upstream"]["url"]
    if not url:
        return _result("upstream", "skip", "上报未配置: no provincial platform (upstream.url)")
    # lazy: the HTTP client loads only for this check
    import httpx

    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError as exc:
        return _result(
            "upstream", "fix", "%s does not answer (%s): check the network" % (url, type(exc).__name__)
        )
    return _result("upstream", "ok", "%s answers" % url)


def check_backup(home):
    copies = [p for pattern in BACKUP_GLOBS for p in home.path.glob(pattern) if p.name != home.db_path.name]
    if not copies:
        return _result(
            "backup", "skip", "no backup beside the database: take one (hostd backup now --out FILE)"
        )
    newest = max(copies, key=lambda p: p.stat().st_mtime)
    age = (time.time() - newest.stat().st_mtime) / 86400
    return _result("backup", "ok", "newest copy %s, %.1f day(s) old" % (newest.name, age))


def check_replica(home, config):
    backup = config["backup"]
    if not backup["replica"]:
        return _result(
            "replica", "skip", "no continuous backup: set backup.replica to a folder on another disk or a URL"
        )
    url = replica.shown(replica.url_of(backup["replica"]))
    if replica.find_binary() is None:
        return _result("replica", "fix", "litestream is not installed: run `make install`")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            conf = replica.write_config(Path(tmp) / "litestream.yml", home.db_path, backup)
            state = replica.lag(conf, home.db_path, env=replica.environment(home.path))
    except replica.ReplicaError as exc:
        return _result(
            "replica", "fix", "%s cannot be read (%s): check the path or URL and its keys" % (url, exc)
        )
    if state["held"] is None:
        return _result(
            "replica", "fix", "%s holds nothing yet: hostd run replicates to it (is hostd running?)" % url
        )
    age = state["age"]
    if state["behind"] is None:
        return _result(
            "replica",
            "ok",
            "%s holds a database (newest change %s ago); hostd run replicates on" % (url, _ago(age)),
        )
    if state["behind"] == 0:
        return _result(
            "replica", "ok", "%s holds every change to hostd.db (newest %s ago)" % (url, _ago(age))
        )
    if age <= replica.lag_limit(backup):
        return _result(
            "replica",
            "ok",
            "%s is %d change(s) behind, catching up (newest %s ago)" % (url, state["behind"], _ago(age)),
        )
    return _result(
        "replica",
        "fix",
        "%s is %d change(s) behind hostd.db, newest %s ago: is hostd running? see its log (hostd.backup)"
        % (url, state["behind"], _ago(age)),
    )


def _ago(seconds):
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    return "%.1f h" % (seconds / 3600)


def run(home):
    """Every check's result, in order."""
    first, config = check_config(home)
    results = [first, check_database(home)]
    if config is None:
        return results
    results.append(check_disk(home, config))
    results.append(check_broker(home, config))
    results.append(check_clock(config))
    results.append(check_calendar(config))
    results.append(check_certificates(config))
    results.append(check_upstream(config))
    results.append(check_backup(home))
    results.append(check_replica(home, config))
    return results
