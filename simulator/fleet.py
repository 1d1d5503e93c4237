"""`python -m simulator fleet --devices N --home HOSTD_HOME`: N simulated devices at once.

Each device is registered in hostd (`hostd device add`, unless it is
already there), gets the config `hostd device show-config` prints, and runs
as its own MicroPython process with its own flash and serial port under
HOSTD_HOME/sim-fleet/ID/. With --press-every, each presses a random button
at about that interval (a rating counts when the device has a session, or
offline with a known staff member; see firmware/evaluator.py).
"""

import argparse
import contextlib
import io
import json
import random
import sys
import time
from pathlib import Path

from simulator.device import SimDevice


def _hostd(home, *args):
    """Run a `hostd` command in-process; its stdout, or raise SystemExit with its error."""
    from hostd.cli import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["--home", str(home), *args], prog_name="hostd", standalone_mode=False)
        except SystemExit as e:
            code = e.code
        except Exception as e:  # click and hostd errors: one line for the user
            raise RuntimeError(str(e).strip() or type(e).__name__)
    if code:
        raise RuntimeError(err.getvalue().strip() or out.getvalue().strip() or f"hostd exited {code}")
    return out.getvalue()


def device_config(home, device_id, broker_host=None):
    try:
        text = _hostd(home, "device", "show-config", device_id)
    except RuntimeError:
        _hostd(home, "device", "add", device_id, "--window", device_id)
        text = _hostd(home, "device", "show-config", device_id)
    config = json.loads(text)
    if broker_host:
        config["broker_host"] = broker_host
    return config


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m simulator fleet", description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, required=True, help="how many devices")
    parser.add_argument("--home", required=True, help="hostd's home directory (HOSTD_HOME)")
    parser.add_argument("--prefix", default="sim-", help="device ids are PREFIX01, PREFIX02, ...")
    parser.add_argument("--broker-host", default="127.0.0.1", help="broker address the devices use")
    parser.add_argument(
        "--press-every",
        type=float,
        default=0,
        metavar="SECONDS",
        help="press a random button on each device about this often (0: never)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.devices <= 500:
        parser.error("--devices must be between 1 and 500")
    home = Path(args.home)
    fleet = []
    try:
        for n in range(1, args.devices + 1):
            device_id = f"{args.prefix}{n:02d}"
            try:
                config = device_config(home, device_id, args.broker_host)
            except RuntimeError as e:
                print(f"fleet: cannot register {device_id}: {e}", file=sys.stderr)
                return 1
            device = SimDevice(home / "sim-fleet" / device_id, name=device_id)
            device.write_config(config)
            fleet.append(device.start())
        for device in fleet:
            device.wait_ready(30)
            print(f"{device.name} serial: {device.port}", flush=True)
        print(f"fleet: {len(fleet)} devices running; Ctrl-C stops them", flush=True)
        next_press = {d.name: time.monotonic() + random.uniform(0, args.press_every) for d in fleet}
        while True:
            time.sleep(0.1)
            if args.press_every <= 0:
                continue
            now = time.monotonic()
            for device in fleet:
                if now >= next_press[device.name]:
                    device.press(random.randint(1, 5))
                    next_press[device.name] = now + random.uniform(0.5, 1.5) * args.press_every
    except KeyboardInterrupt:
        return 0
    finally:
        for device in fleet:
            device.stop()
