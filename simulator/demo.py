"""`make demo`: a small hall running for real.

    python -m simulator.demo [--home DIR] [--devices N] [--seconds S]

It makes a fresh hostd home, registers N devices, starts `hostd run` (its own
Mosquitto, the collector, the status page), boots N simulated 评价器 (the
real firmware on MicroPython with a 100 KB heap) and lets citizens rate.

Until hostd pushes service sessions itself (the sessions issue), this script
stands in for the windows' business system: it signs a session for a window
with that device's key and publishes it as hostd will, then a "citizen"
presses a button on the device. Everything after the press is the product:
the firmware signs and stores the rating in flash, hostd verifies, commits
and acknowledges it, and the device drops it from its outbox.
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

import paho.mqtt.client as mqtt

from protocol import messages, topics
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


def hostd(home, *args):
    proc = subprocess.run([HOSTD, "--home", str(home), *args], capture_output=True, text=True)
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
    def __init__(self, home, count):
        self.home = Path(home).resolve()
        self.count = count
        self.devices = []  # (SimDevice, config, window row)
        self.daemon = None
        self.client = None
        self.sessions = 0

    def setup(self):
        if self.home.exists():
            shutil.rmtree(self.home)
        self.broker_port = free_port()
        self.web_port = free_port(8080)
        hostd(self.home, "init", "--hall", HALL, "--listen", "127.0.0.1",
              "--broker-port", str(self.broker_port), "--web-port", str(self.web_port))
        for i in range(self.count):
            window = WINDOWS[i % len(WINDOWS)]
            device_id = f"demo-{window[0]}" if i < len(WINDOWS) else f"demo-{i + 1:02d}"
            hostd(self.home, "device", "add", device_id, "--window", window[0])
            config = json.loads(hostd(self.home, "device", "show-config", device_id))
            config["heartbeat_s"] = 10
            self.devices.append((SimDevice(self.home / "devices" / device_id, device_id), config, window))
        say(f"hostd home {self.home}: {self.count} devices registered")

    def start(self):
        log = open(self.home / "hostd.log", "ab")
        self.daemon = subprocess.Popen([HOSTD, "--home", str(self.home), "run"],
                                       stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: "hostd ready" in (self.home / "hostd.log").read_text(errors="replace"),
                 30, "hostd to start (see hostd.log)")
        for device, config, _ in self.devices:
            device.write_config(config)
            device.start(record_panel=True)
        say(f"{len(self.devices)} simulated devices booting")
        from hostd.home import Home

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-windows")
        self.client.username_pw_set("hostd", Home(self.home).host_password())
        self.client.connect("127.0.0.1", self.broker_port)
        self.client.loop_start()
        wait_for(self._all_online, 60, "the devices' first heartbeats")
        say("every device is online")

    def _query(self, sql):
        with sqlite3.connect(f"file:{self.home / 'hostd.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql).fetchall()

    def _all_online(self):
        rows = self._query("SELECT count(*) FROM fleet WHERE online = 1")
        return rows[0][0] == len(self.devices)

    def push_session(self, config, window):
        """The window's service is finished: the device is to ask for a rating."""
        _, item_code, item_name, staff_id, staff_name, staff_no = window
        self.sessions += 1
        session_id = f"demo-{int(time.time())}-{self.sessions}"
        key = bytes.fromhex(config["key"])
        wire = messages.sign(key, [
            messages.VERSION, messages.SESSION, config["device_id"], session_id, item_code,
            item_name, staff_id, staff_name, staff_no, 1, 120, "", int(time.time()), []])
        self.client.publish(topics.topic(HALL, config["device_id"], topics.SESSION), wire, qos=1)
        return session_id

    def serve(self, device, config, window):
        """One citizen at one window: the service ends, the device asks, they press."""
        self.push_session(config, window)
        time.sleep(random.uniform(0.8, 1.5))  # reading the screen
        button = random.choices(range(1, 6), BUTTON_WEIGHTS)[0]
        device.press(button)
        if button >= 4:  # 差评: the device asks why, on the same buttons
            time.sleep(random.uniform(0.5, 1.0))
            device.press(random.randint(1, 5))

    def report(self):
        stored = self._query("SELECT level, count(*) FROM ratings GROUP BY level ORDER BY level DESC")
        counts = " ".join(f"{level}★:{n}" for level, n in stored) or "none yet"
        pending = self._query("SELECT coalesce(sum(outbox_depth), 0) FROM fleet")[0][0]
        say(f"{self.sessions} services, ratings stored by level {counts}; device outboxes {pending}")

    def stop(self):
        for device, _, _ in self.devices:
            device.stop()
        if self.client:
            self.client.loop_stop()
            self.client.disconnect()
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(ROOT / "demo-home"), help="hostd home to create (wiped first)")
    parser.add_argument("--devices", type=int, default=3, help="simulated devices (default 3)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)")
    args = parser.parse_args(argv)
    if args.devices < 1:
        parser.error("--devices must be at least 1")
    hall = Hall(args.home, args.devices)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        hall.setup()
        hall.start()
        say(f"status page: http://127.0.0.1:{hall.web_port}/   (a stub until the dashboard lands)")
        say(f"database:    {hall.home / 'hostd.db'}   (sqlite3 it: SELECT * FROM ratings)")
        say(f"devices:     .venv/bin/hostd --home {hall.home} device list")
        say(f"logs:        {hall.home / 'hostd.log'} and {hall.home / 'devices'}/*/device.log")
        say("citizens are rating; Ctrl-C stops the hall")
        end = time.monotonic() + args.seconds if args.seconds else None
        last_report = time.monotonic()
        next_citizen = {}  # device id -> when its window's next citizen is done
        while end is None or time.monotonic() < end:
            now = time.monotonic()
            ready = [d for d in hall.devices if next_citizen.get(d[1]["device_id"], 0) <= now]
            if ready:
                device, config, window = random.choice(ready)
                hall.serve(device, config, window)
                # The next service at this window takes a while (and the device
                # ignores presses for a few seconds after a rating, by design).
                next_citizen[config["device_id"]] = time.monotonic() + random.uniform(5, 9)
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
