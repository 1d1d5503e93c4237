"""A hall for the fleet and storm benchmarks: a real `hostd run` with its own
Mosquitto, thousands of registered devices, and worker processes of
protocol-level devices (bench/fleet_clients.py) on its broker.

The devices are registered in one transaction (their keys random, a window
each, as `hostd device add` would make them); `hostd run` writes the
broker's logins and ACL for them when it starts. CPU and memory are read
from /proc for hostd's process and for its Mosquitto (broker/pid).
"""

import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request

from bench import fleet_clients

HALL = "bench"


def raise_open_files():
    """The soft limit on open files up to the hard one (children inherit it);
    returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def make_home(folder):
    from click.testing import CliRunner

    from bench.common import free_port
    from hostd.base.home import Home
    from hostd.cli import cli

    args = ["--home", str(folder), "init", "--hall", HALL, "--listen", "127.0.0.1"]
    result = CliRunner().invoke(
        cli, args + ["--broker-port", str(free_port()), "--web-port", str(free_port())]
    )
    if result.exit_code != 0:
        raise RuntimeError("bench: hostd init failed: %s" % result.output)
    return Home(folder)


def register(home, first, last):
    """Devices d<first>..d<last - 1>, each at its own window; [(device, key hex)]."""
    import sqlite3

    made = [("d%05d" % n, os.urandom(32).hex(), "W%05d" % n) for n in range(first, last)]
    conn = sqlite3.connect(str(home.db_path))
    try:
        with conn:
            now = int(time.time())
            conn.executemany(
                "INSERT INTO devices (device_id, hall, window, key_hex, created_at) VALUES (?, ?, ?, ?, ?)",
                [(d, HALL, w, k, now) for d, k, w in made],
            )
            conn.executemany(
                "INSERT INTO windows (hall, window, name) VALUES (?, ?, ?)",
                [(HALL, w, "%s号窗口" % w[1:].lstrip("0")) for _d, _k, w in made],
            )
    finally:
        conn.close()
    return [(d, k) for d, k, _w in made]


class Hostd:
    """`hostd --home H run` as its own process."""

    def __init__(self, home, timeout=120):
        self.home = home
        self.log_path = home.path / ("hostd-run-%d.log" % time.time())
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hostd.cli", "--home", str(home.path), "run"],
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while "hostd ready" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("bench: hostd did not start:\n%s" % self.text()[-3000:])
            time.sleep(0.2)
        config = home.config()
        self.broker_port = config["broker"]["port"]
        self.web = "http://127.0.0.1:%d" % config["web"]["port"]
        self.broker_pid = int((home.broker / "pid").read_text().strip())

    def text(self):
        return self.log_path.read_text(errors="replace")

    def refresh_screens(self):
        """POST /api/v1/screens/refresh; its answer."""
        import json

        from hostd.web.api_auth import ensure_token

        request = urllib.request.Request(
            self.web + "/api/v1/screens/refresh",
            method="POST",
            headers={"Authorization": "Bearer " + ensure_token(self.home)},
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            return json.loads(answer.read())

    def ack_buckets(self):
        """hostd's own ack latency histogram (arrival to ack, /metrics): {le seconds: count}."""
        with urllib.request.urlopen(self.web + "/metrics", timeout=60) as answer:
            text = answer.read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("hostd_ack_latency_seconds_bucket"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                out[float(le)] = float(line.rsplit(" ", 1)[1])
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def cpu_seconds(pid):
    """User + system CPU seconds of one process (its threads; not its children)."""
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Devices:
    """Worker processes, each running its share of the devices."""

    def __init__(self, port, devices, options, processes, raters=()):
        """`processes` workers share the devices; the `raters` (ids) get one
        more of their own, so that their ack latency is the hall's and not
        that of an event loop busy with thousands of idle devices."""
        ctx = multiprocessing.get_context("spawn")
        self.workers = []
        raters = set(raters)
        quiet = [(d, k) for d, k in devices if d not in raters]
        shares = [[(d, k, False) for d, k in quiet[i::processes]] for i in range(processes)]
        if raters:
            shares.append([(d, k, True) for d, k in devices if d in raters])
        for share in shares:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=fleet_clients.worker, args=(port, HALL, share, options, theirs), daemon=True
            )
            proc.start()
            self.workers.append((proc, mine))

    def go(self, timeout=120):
        """Wait until every worker has made its devices (option wait_for_go), then
        start them all; returns time.monotonic() as they were told."""
        for _proc, pipe in self.workers:
            if not pipe.poll(timeout) or pipe.recv() != "ready":
                raise RuntimeError("bench: a device worker did not get ready")
        started = time.monotonic()
        for _proc, pipe in self.workers:
            pipe.send("go")
        return started

    def ask(self, question="report"):
        for _proc, pipe in self.workers:
            pipe.send(question)
        merged = {}
        for _proc, pipe in self.workers:
            if not pipe.poll(120):
                raise RuntimeError("bench: a device worker did not answer %r" % question)
            for name, value in pipe.recv().items():
                merged[name] = merged.get(name, [] if isinstance(value, list) else 0) + value
        return merged

    def wait(self, done, timeout, progress=None, what=""):
        """Ask until done(report) holds; the last report."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.ask()
            if done(got):
                return got
            if time.monotonic() > deadline:
                raise RuntimeError("bench: %s: not done in %d s: %s" % (what, timeout, _short(got)))
            if progress is not None:
                progress.tick("%s: %s" % (what, _short(got)))
            time.sleep(0.5)

    def stop(self):
        try:
            return self.ask("stop")
        finally:
            for proc, _pipe in self.workers:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()


def _short(report):
    return {k: v for k, v in report.items() if not isinstance(v, list)}
