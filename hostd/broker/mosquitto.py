"""Run and supervise the hall's own Mosquitto (Debian package `mosquitto`).

`Supervisor.start()` writes the generated files, starts mosquitto, waits for
its port and records its pid in broker/pid (hostd writes the pid file itself:
mosquitto only writes one when it daemonises). A watcher thread restarts
mosquitto with backoff if it dies, and logs why. The child gets
PR_SET_PDEATHSIG, so a SIGKILLed hostd does not leave it orphaned; a broker
left behind by an older hostd is stopped before a new one starts.
"""

import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import threading
import time

from hostd.base import child
from hostd.base.errors import BrokerFailed
from hostd.base.home import write_atomic
from hostd.broker import files as broker_files

log = logging.getLogger("hostd.broker")

BINARY_ENV = "HOSTD_MOSQUITTO"  # override the binary lookup (tests point it at a missing path)
START_TIMEOUT_S = 10.0
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0  # a broker that ran this long resets the backoff
OPEN_FILES_SPARE = 256  # the broker's files, logs and hostd's own connections besides the devices
UNIT_OPEN_FILES = 65536  # LimitNOFILE in the unit `hostd service install` writes


def find_binary():
    """The mosquitto binary, or None where it is not installed."""
    override = os.environ.get(BINARY_ENV)
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    found = shutil.which("mosquitto")
    if found:
        return found
    for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(path, os.X_OK):
            return path
    return None


def _log_size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _wait_running(host, ports, proc, log_path, log_offset, timeout):
    """True once mosquitto logged "running" (after ALL its listeners are set
    up: a port that answers is not enough, a bad TLS key fails after the
    plain listener opened) and every port answers."""
    host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    deadline = time.monotonic() + timeout
    logged = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if not logged:
            try:
                with open(log_path, "rb") as f:
                    f.seek(log_offset)
                    logged = b" running" in f.read()
            except FileNotFoundError:
                pass
        if logged:
            try:
                for port in ports:
                    with socket.create_connection((host, port), timeout=0.5):
                        pass
                return proc.poll() is None
            except OSError:
                pass
        time.sleep(0.05)
    return False


def open_files(devices):
    """Raise this process's soft limit on open files to its hard one, so that
    mosquitto (our child) inherits it: the broker holds a socket per device.
    Returns the limit; logs a warning when it is short for `devices`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    need = devices + OPEN_FILES_SPARE
    if soft < need:
        log.warning(
            "%d devices need about %d open files in the broker, but the limit is %d: set LimitNOFILE=%d"
            " in the service unit (`hostd service install` writes %d), or `ulimit -n` before `hostd run`",
            devices,
            need,
            soft,
            max(need, UNIT_OPEN_FILES),
            UNIT_OPEN_FILES,
        )
    return soft


def stop_leftover(home):
    """Stop a broker that an earlier hostd started with this home's config."""
    pid = broker_files.running_pid(home)  # checks it really is our mosquitto
    if pid is None:
        return False
    log.warning("stopping a broker left running by an earlier hostd (pid %d)", pid)
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


class Supervisor:
    def __init__(self, home, config, binary, devices=0):
        self.home = home
        self.config = config
        self.binary = binary
        self.devices = devices  # registered at start: sizes the message queues
        self.conf_path = home.broker / "mosquitto.conf"
        self.log_path = home.broker / "mosquitto.log"
        self.proc = None
        self.host_port = None  # the 127.0.0.1 listener for hostd itself, once started
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = None

    @property
    def host(self):
        return self.config["broker"]["listen"]

    @property
    def port(self):
        return self.config["broker"]["port"]

    def start(self):
        stop_leftover(self.home)
        broker = self.config["broker"]
        broker_files.check_port_free(broker["listen"], broker["port"], "MQTT broker")
        if broker["tls_port"]:
            broker_files.check_port_free(broker["listen"], broker["tls_port"], "MQTT TLS")
        # hostd's own listener (for the collector): its kept port, or a new one if taken
        self.host_port = broker_files.host_port(self.home, self.config, fresh=True)
        broker_files.write_config(self.home, self.config, self.devices)
        open_files(self.devices)
        if not self._spawn_and_wait():
            code = self._process().poll()
            self._kill()
            broker_files.pid_path(self.home).unlink(missing_ok=True)
            raise BrokerFailed(
                "mosquitto did not start (exit %s): see %s and %s"
                % (code, self.home.broker / "mosquitto.log", self.home.broker / "stderr.log")
            )
        log.info(
            "mosquitto %s listening on %s:%d (pid %d, log %s)",
            self.binary,
            self.host,
            self.port,
            self._process().pid,
            self.home.broker / "mosquitto.log",
        )
        self._thread = threading.Thread(target=self._watch, name="hostd-broker-watch", daemon=True)
        self._thread.start()
        return self

    def _spawn_and_wait(self):
        offset = _log_size(self.log_path)
        with self._lock:
            if self._stopping.is_set():
                return False
            self._spawn()
            proc = self.proc
        ports = [self.port] + (
            [self.config["broker"]["tls_port"]] if self.config["broker"]["tls_port"] else []
        )
        return _wait_running(self.host, ports, proc, self.log_path, offset, START_TIMEOUT_S)

    def _spawn(self):
        with open(self.home.broker / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                preexec_fn=child.die_with_parent,
            )
        write_atomic(broker_files.pid_path(self.home), "%d\n" % self.proc.pid, 0o644)

    def _process(self):
        """The Mosquitto process; only called once it has been spawned."""
        if self.proc is None:
            raise RuntimeError("mosquitto was never started")
        return self.proc

    def _watch(self):
        backoff = BACKOFF_MIN_S
        while not self._stopping.is_set():
            since = time.monotonic()
            code = self._process().wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - since
            if ran > STABLE_S:
                backoff = BACKOFF_MIN_S
            log.error(
                "mosquitto exited with code %s after %.1fs; restarting in %.1fs (see %s)",
                code,
                ran,
                backoff,
                self.log_path,
            )
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            try:
                running = self._spawn_and_wait()
            except OSError as exc:
                log.error("could not restart mosquitto: %s", exc)
                continue
            if self._stopping.is_set():
                return
            self.restarts += 1
            if running:
                log.warning("mosquitto restarted (pid %d, restart %d)", self._process().pid, self.restarts)

    def reload(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)
            return True
        return False

    def _kill(self):
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # mosquitto saves its persistence file on SIGTERM
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self):
        self._stopping.set()
        with self._lock:
            self._kill()
        if self._thread is not None:
            self._thread.join(5)
        try:
            broker_files.pid_path(self.home).unlink()
        except FileNotFoundError:
            pass
        log.info("mosquitto stopped")
