"""`make demo`: a small hall running for real.

    python -m simulator.demo [--home DIR] [--devices N] [--seconds S]

It makes a fresh hostd home with N devices, their windows' staff and two web
logins, starts the reference provincial platform (the test peer of
peers/upstream_ref) and `hostd run` (its own Mosquitto, the collector, the web
pages, the default-rating scheduler and the upstream sync), boots N simulated
评价器 (the real firmware on MicroPython with a 100 KB heap), puts the staff
on duty and lets citizens be served and rate.

The script plays the windows' business system: when a service is finished it
calls hostd's API (POST /api/v1/sessions, sometimes with a batch of cases),
and a "citizen" presses a button on the device. Everything from there on is
the product: hostd renders and pushes the screen, the firmware signs and keeps
the rating in flash, hostd verifies, binds it to the session, commits and
acks it, opens a work order for a 差评 and syncs everything upstream.
"""

import argparse
import json
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulator.device import SimDevice

ROOT = Path(__file__).resolve().parent.parent
HOSTD = str(Path(sys.executable).parent / "hostd")
HALL = "demo-hall"
WINDOWS = [  # window, item code, item name, staff id, staff name, 工号
    ("01", "110101", "居民身份证换领", "s-0107", "王晓梅", "0107"),
    ("02", "330201", "不动产登记资料查询", "s-0212", "李建国", "0212"),
    ("03", "220305", "营业执照变更登记", "s-0318", "张丽华", "0318"),
    ("04", "440108", "社会保障卡申领", "s-0421", "陈志强", "0421"),
    ("05", "550102", "机动车驾驶证补领", "s-0533", "刘芳", "0533"),
]
# Citizens mostly press the good buttons; 1 = 非常满意 ... 5 = 非常不满意.
BUTTON_WEIGHTS = [55, 25, 12, 5, 3]
WALK_AWAY = 0.1  # share of citizens who leave without pressing (rate later, or a default)
LOGINS = (("jiandu", "supervisor", "jiandu-demo-2026"), ("admin", "admin", "admin-demo-2026"))


def say(text):
    print(f"demo: {text}", flush=True)


def free_port(preferred=None):
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def hostd(home, *args, stdin=None):
    proc = subprocess.run([HOSTD, "--home", str(home), *args], capture_output=True, text=True, input=stdin)
    if proc.returncode != 0:
        raise SystemExit(f"demo: hostd {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"demo: timed out waiting for {what}")


class Hall:
    def __init__(self, home, count, web_port=8080):
        self.home = Path(home).resolve()
        self.count = count
        self.preferred_web_port = web_port
        self.devices = []  # (SimDevice, device id, window row)
        self.daemon = self.platform = self.api = None
        self.sessions = 0
        self.cases = 0

    def setup(self):
        if self.home.exists():
            shutil.rmtree(self.home)
        self.broker_port = free_port()
        self.web_port = free_port(self.preferred_web_port)
        self.platform_port = free_port()
        hostd(
            self.home,
            "init",
            "--hall",
            HALL,
            "--listen",
            "127.0.0.1",
            "--broker-port",
            str(self.broker_port),
            "--web-port",
            str(self.web_port),
        )
        from hostd.base.home import Home, write_atomic

        home = Home(self.home)
        secret = self.home / "keys" / "upstream-secret"
        write_atomic(secret, "demo-shared-secret-%d\n" % random.getrandbits(64), 0o600)
        platform_url = "http://127.0.0.1:%d" % self.platform_port
        home.set("upstream", "url", platform_url)
        home.set("upstream", "twelve345_url", platform_url)
        home.set("upstream", "dept_code", "11440100MB2C1234XK")  # the hall's 统一社会信用代码
        home.set("upstream", "area_code", "440106000000")  # its 12-digit 区划
        home.set("rating", "default_check_seconds", 5)
        for i in range(self.count):
            window = WINDOWS[i % len(WINDOWS)]
            device_id = f"demo-{window[0]}" if i < len(WINDOWS) else f"demo-{i + 1:02d}"
            hostd(self.home, "device", "add", device_id, "--window", window[0])
            if i < len(WINDOWS):
                hostd(self.home, "staff", "add", window[3], "--name", window[4], "--staff-no", window[5])
            config = json.loads(hostd(self.home, "device", "show-config", device_id))
            config["heartbeat_s"] = 10
            device = SimDevice(self.home / "devices" / device_id, device_id)
            device.write_config(config)
            self.devices.append((device, device_id, window))
        for name, role, password in LOGINS:
            hostd(self.home, "user", "add", name, "--role", role, stdin=password + "\n")
        say(f"hostd home {self.home}: {self.count} devices, their staff and two web logins")

    def start(self):
        self.platform = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "peers.upstream_ref",
                "--port",
                str(self.platform_port),
                "--db",
                str(self.home / "province.db"),
                "--secret-file",
                str(self.home / "keys" / "upstream-secret"),
            ],
            stdout=open(self.home / "province.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        log = open(self.home / "hostd.log", "ab")
        self.daemon = subprocess.Popen(
            [HOSTD, "--home", str(self.home), "run"], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for(
            lambda: "hostd ready" in (self.home / "hostd.log").read_text(errors="replace"),
            30,
            "hostd to start (see hostd.log)",
        )
        token = (self.home / "keys" / "api-token").read_text().strip()
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{self.web_port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        for device, _, _ in self.devices:
            device.start(record_panel=True)
        say(f"{len(self.devices)} simulated devices booting")
        for _, _, window in self.devices[: len(WINDOWS)]:
            self._call("POST", f"/windows/{window[0]}/duty", {"staff_id": window[3]})
        wait_for(self._all_online, 60, "the devices' first heartbeats")
        say("every device is online and its window's staff are on duty")

    def _call(self, method, path, body=None):
        reply = self.api.request(method, path, json=body)
        if reply.status_code >= 400:
            raise SystemExit(f"demo: {method} {path} refused: {reply.text}")
        return reply.json()

    def _query(self, sql, db="hostd.db"):
        with sqlite3.connect(f"file:{self.home / db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()

    def _all_online(self):
        rows = self._query("SELECT count(*) FROM fleet WHERE online = 1")
        return rows[0][0] == len(self.devices)

    def serve(self, device, window):
        """One citizen at one window: the service ends, the device asks, they press."""
        self.sessions += 1
        batch = random.choices([1, 2, 3], [85, 10, 5])[0]  # 批量业务 now and then
        cases = [
            {"case_id": f"{time.strftime('%Y%m%d')}-{window[0]}-{self.sessions:05d}-{n}"}
            for n in range(batch)
        ]
        self.cases += batch
        self._call(
            "POST",
            "/sessions",
            {"window": window[0], "item_code": window[1], "item_name": window[2], "cases": cases},
        )
        time.sleep(random.uniform(0.8, 1.5))  # reading the screen
        if random.random() < WALK_AWAY:
            return  # rates later by the QR code, or gets the default rating
        button = random.choices(range(1, 6), BUTTON_WEIGHTS)[0]
        device.press(button)
        if button >= 4:  # 差评: the device asks why, on the same buttons
            time.sleep(random.uniform(0.5, 1.0))
            device.press(random.randint(1, 4))

    def report(self):
        stored = self._query(
            "SELECT level, count(*) FROM ratings WHERE binding != 'refused'"
            " GROUP BY level ORDER BY level DESC"
        )
        counts = " ".join(f"{level}★:{n}" for level, n in stored) or "none yet"
        pending = self._query("SELECT coalesce(sum(outbox_depth), 0) FROM fleet")[0][0]
        orders = self._query("SELECT count(*) FROM work_orders")[0][0]
        upstream = dict(self._query("SELECT status, count(*) FROM upstream_outbox GROUP BY status"))
        say(
            f"{self.sessions} services ({self.cases} cases); ratings by level {counts}; "
            f"device outboxes {pending}; 差评 work orders {orders}; upstream "
            f"confirmed {upstream.get('confirmed', 0)}, waiting "
            f"{sum(n for k, n in upstream.items() if k in ('pending', 'sent', 'rejected'))}, "
            f"dead {upstream.get('dead', 0)}"
        )

    def stop(self):
        for device, _, _ in self.devices:
            device.stop()
        if self.api:
            self.api.close()
        for proc in (self.daemon, self.platform):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(ROOT / "demo-home"), help="hostd home to create (wiped first)")
    parser.add_argument("--devices", type=int, default=3, help="simulated devices (default 3)")
    parser.add_argument(
        "--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)"
    )
    parser.add_argument(
        "--web-port",
        type=int,
        default=8080,
        help="the hall pages' port, if free (default 8080; 0: any free port, as the tests use)",
    )
    args = parser.parse_args(argv)
    if args.devices < 1:
        parser.error("--devices must be at least 1")
    hall = Hall(args.home, args.devices, args.web_port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        hall.setup()
        hall.start()
        web = f"http://127.0.0.1:{hall.web_port}"
        say(f"hall pages:  {web}/   log in as {LOGINS[0][0]} / {LOGINS[0][2]} (supervisor)")
        say(f"hall screen: {web}/display   (public, no login)")
        say(f"API:         {web}/api/docs   (token in {hall.home / 'keys' / 'api-token'})")
        say(f"database:    {hall.home / 'hostd.db'}   (sqlite3 it: SELECT * FROM ratings)")
        say(f"upstream:    .venv/bin/hostd --home {hall.home} sync --status")
        say(f"devices:     .venv/bin/hostd --home {hall.home} device list")
        say(f"logs:        {hall.home / 'hostd.log'} and {hall.home / 'devices'}/*/device.log")
        say("citizens are rating; Ctrl-C stops the hall")
        end = time.monotonic() + args.seconds if args.seconds else None
        last_report = time.monotonic()
        next_citizen = {}  # device id -> when its window's next citizen is done
        while end is None or time.monotonic() < end:
            now = time.monotonic()
            ready = [d for d in hall.devices if next_citizen.get(d[1], 0) <= now]
            if ready:
                device, device_id, window = random.choice(ready)
                hall.serve(device, window)
                # The next service at this window takes a while (and the device
                # ignores presses for a few seconds after a rating, by design).
                next_citizen[device_id] = time.monotonic() + random.uniform(5, 9)
            time.sleep(random.uniform(0.3, 1.0))
            if time.monotonic() - last_report > 5:
                hall.report()
                last_report = time.monotonic()
        time.sleep(3)  # the last acks
        hall.report()
    except KeyboardInterrupt:
        print()
        hall.report()
    finally:
        hall.stop()
        say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
