"""`make sim`: one simulated device against a local hostd, ready for key presses.

    python -m simulator.dev [--home DIR] [--every SECONDS] [--stdin]

Keeps a developer hall under ./sim-home (made on first use, kept after):
a hostd home with one device, `sim-01`, on window 01, and its staff member.
It starts `hostd run` in the background (its log: sim-home/hostd.log),
writes the device's config onto its flash (what `hostd device provision`
does to a board), and runs `python -m simulator` on that flash in this
terminal: keys 1-5 press the buttons (1 = 非常满意), p cuts the power, s takes
a screenshot, q quits.

A stand-in for the window's business system puts the staff member on duty
and starts a service session through hostd's API (POST /api/v1/sessions)
every --every seconds, so there is always something to rate; hostd pushes
it to the device as it would any session.
"""

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from simulator.demo import HALL, WINDOWS, Hall, free_port, hostd, say

ROOT = Path(__file__).resolve().parent.parent
DEVICE = "sim-01"


def ensure_home(home):
    if not (home / "hostd.toml").exists():
        hostd(
            home,
            "init",
            "--hall",
            HALL,
            "--listen",
            "127.0.0.1",
            "--broker-port",
            str(free_port(1883)),
            "--web-port",
            str(free_port(8080)),
        )
        hostd(home, "device", "add", DEVICE, "--window", WINDOWS[0][0])
        _window, _code, _item, staff_id, name, number = WINDOWS[0]
        hostd(home, "staff", "add", staff_id, "--name", name, "--staff-no", number)
        say(f"made a developer hall in {home}")
    config = json.loads(hostd(home, "device", "show-config", DEVICE))
    config["heartbeat_s"] = 10
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(ROOT / "sim-home"), help="developer hall (kept between runs)")
    parser.add_argument("--every", type=float, default=15, help="push a new session this often (seconds)")
    parser.add_argument(
        "--stdin", action="store_true", help="presses from a line script on stdin (see python -m simulator)"
    )
    args = parser.parse_args(argv)
    home = Path(args.home).resolve()
    config = ensure_home(home)

    hall = Hall(home, 0)  # reuse the demo's daemon and window stand-in, on a kept home
    device = None
    try:
        log = open(home / "hostd.log", "ab")
        hall.daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "hostd"), "--home", str(home), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while (
            "hostd ready" not in (home / "hostd.log").read_text(errors="replace").split("hostd starting")[-1]
        ):
            if hall.daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"sim: hostd did not start; see {home / 'hostd.log'}")
            time.sleep(0.1)
        from simulator.device import SimDevice

        device = SimDevice(home / "devices" / DEVICE, DEVICE)
        device.write_config(config)  # provisioned: the device's config.json on its flash
        window = WINDOWS[0]
        stop = threading.Event()

        def windows():
            import httpx

            from hostd.base.home import Home
            from hostd.web.api import ensure_token

            kept = Home(home)
            api = httpx.Client(
                base_url="http://127.0.0.1:%d/api/v1" % kept.config()["web"]["port"],
                headers={"Authorization": "Bearer " + ensure_token(kept)},
                timeout=10,
            )
            api.post("/windows/%s/duty" % window[0], json={"staff_id": window[3]})
            sessions = 0
            while not stop.wait(2 if sessions == 0 else args.every):
                sessions += 1
                answer = api.post(
                    "/sessions", json={"window": window[0], "item_code": window[1], "item_name": window[2]}
                )
                if answer.status_code >= 400:
                    say("sim: hostd refused a session: %s" % answer.text[:200])

        threading.Thread(target=windows, daemon=True).start()
        say(f"hostd: status page and logs under {home}; a session arrives every {args.every:g} s")
        command = [sys.executable, "-m", "simulator", "--flash", str(device.flash_dir)]
        sim = subprocess.run(command + (["--stdin"] if args.stdin else []))
        stop.set()
        return sim.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        hall.stop()


if __name__ == "__main__":
    sys.exit(main())
