"""`litestream replicate` beside `hostd run`, supervised (hostd/db/replica.py
has its config, the restore and the replica's lag).

`Replicator.start()` writes <home>/litestream.yml and starts Litestream once
the store is open; its JSON log lines go into hostd's log at their level. If
it dies it is restarted with backoff, and a replica that cannot be reached
(a backup disk not mounted) never stops hostd: `problem` says why, the
alert watch raises backup_down, and it is tried again. `stop()` lets it sync
what is left after the store's last commit.
"""

import json
import logging
import subprocess
import threading
import time

from hostd.base import child
from hostd.db.replica import (
    CONFIG_NAME,
    ReplicaError,
    environment,
    lag,
    local_folder,
    require_binary,
    shown,
    url_of,
    write_config,
)

log = logging.getLogger("hostd.backup")

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
STABLE_S = 60.0
STOP_WAIT_S = 20.0  # Litestream syncs what is left before it exits on SIGTERM
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


class Replicator:
    """`litestream replicate` for one home, restarted with backoff if it dies."""

    def __init__(self, home, config, binary=None):
        self.home = home
        self.backup = config["backup"]
        self.url = url_of(self.backup["replica"])
        self.binary = binary or require_binary()
        self.config_path = home.path / CONFIG_NAME
        self.proc = None
        self.restarts = 0
        self.started_at = None
        self.problem = None  # why Litestream is not running, while it is not
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def lag(self):
        """lag() of this home's replica, or {"error": why} when it cannot be read."""
        try:
            return lag(self.config_path, self.home.db_path, timeout=20, env=environment(self.home.path))
        except ReplicaError as exc:
            return {"error": str(exc)}

    def start(self):
        """Start Litestream. A replica that cannot be reached now (a backup disk
        not mounted) does not stop hostd: it is logged, raised as an alert
        (backup_down) and tried again with backoff."""
        try:
            self._spawn()
            log.info(
                "continuous backup of %s to %s every %ds (litestream pid %d)",
                self.home.db_path,
                shown(self.url),
                self.backup["sync_interval_s"],
                self.proc.pid if self.proc else 0,
            )
        except (OSError, ReplicaError) as exc:
            self.problem = str(exc)
            log.error("continuous backup not started: %s; hostd runs on and tries again", exc)
        self._thread = threading.Thread(target=self._watch, name="hostd-backup-watch", daemon=True)
        self._thread.start()
        return self

    def _prepare(self):
        folder = local_folder(self.backup["replica"])
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ReplicaError("backup.replica %s cannot be created (%s)" % (folder, exc.strerror))
        write_config(self.config_path, self.home.db_path, self.backup)

    def _spawn(self):
        with self._lock:
            if self._stopping.is_set():
                return None
            self._prepare()
            self.proc = subprocess.Popen(
                [self.binary, "replicate", "-config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                preexec_fn=child.die_with_parent,
                env=environment(self.home.path),
            )
            self.problem = None
            self.started_at = time.monotonic()
            proc = self.proc
        threading.Thread(target=self._relay, args=(proc,), name="hostd-backup-log", daemon=True).start()
        return proc

    def _relay(self, proc):
        """Litestream's JSON log lines into hostd's log, at their level."""
        stream = proc.stdout
        if stream is None:
            return
        for raw in stream:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                record = json.loads(line)
                level = _LEVELS.get(str(record.pop("level", "INFO")).upper(), logging.INFO)
                record.pop("time", None)
                message = str(record.pop("msg", ""))
                extra = " ".join("%s=%s" % (k, v) for k, v in record.items())
                log.log(level, "litestream: %s%s", message, " " + extra if extra else "")
            except (ValueError, AttributeError):
                log.warning("litestream: %s", line)

    def _watch(self):
        backoff = BACKOFF_MIN_S
        while not self._stopping.is_set():
            proc = self.proc
            if proc is not None:
                code = proc.wait()
                if self._stopping.is_set():
                    return
                ran = time.monotonic() - (self.started_at or 0)
                if ran > STABLE_S:
                    backoff = BACKOFF_MIN_S
                self.problem = "litestream exited with code %s" % code
                log.error(
                    "litestream exited with code %s after %.0fs: hostd.db is not being backed up;"
                    " restarting in %.0fs",
                    code,
                    ran,
                    backoff,
                )
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            try:
                if self._spawn() is not None:
                    self.restarts += 1
                    log.warning("litestream restarted (restart %d)", self.restarts)
            except (OSError, ReplicaError) as exc:
                self.proc, self.problem = None, str(exc)
                log.error("could not start litestream: %s; trying again in %.0fs", exc, backoff)

    def stop(self):
        """Stop Litestream after its last sync (SIGTERM), or kill it after STOP_WAIT_S."""
        self._stopping.set()
        with self._lock:
            proc = self.proc
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_WAIT_S)
                except subprocess.TimeoutExpired:
                    log.error("litestream did not stop within %ds: killed", STOP_WAIT_S)
                    proc.kill()
                    proc.wait()
        if self._thread is not None:
            self._thread.join(5)
        log.info("continuous backup stopped")
