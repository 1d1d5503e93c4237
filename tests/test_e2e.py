"""End to end with every real part: `hostd run` (a process with its own
supervised Mosquitto), the real firmware on the MicroPython unix port (100 KB
heap) through the simulator, and the real SQLite file.

hostd does not push sessions yet, so the tests sign and publish the session
and idle messages themselves as the hostd broker user (HostPush).
"""

import json
import signal
import time

import pytest
from hostd_helpers import HostdProcess, HostPush, db_rows, wait_for
from hostd_support import hostd, make_home

from conftest import mosquitto_binary
from firmware.app import FW_VERSION
from simulator.device import SimDevice

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")

DEVICE, WINDOW = "w07-a", "07"
LEVEL_OF_BUTTON = {1: 5, 2: 4, 3: 3}  # buttons from the left; 1 = 非常满意


class Hall:
    """A hostd home with one registered device and its simulated 评价器."""

    def __init__(self, tmp_path, **device_settings):
        self.home = make_home(tmp_path / "home")
        assert hostd(self.home, "device", "add", DEVICE, "--window", WINDOW).exit_code == 0
        shown = hostd(self.home, "device", "show-config", DEVICE)
        assert shown.exit_code == 0, shown.output
        self.config = json.loads(shown.output)
        self.key = bytes.fromhex(self.config["key"])
        self.device = SimDevice(tmp_path / "flash", DEVICE)
        # offline_s 1: one offline rating a second (a hall's is 60), so that the
        # tests press while the host is down without waiting a minute a press
        settings = {"heartbeat_s": 5, "response_interval_ms": 300, "thanks_ms": 200, "offline_s": 1}
        settings.update(device_settings)
        self.device.write_config({**self.config, **settings})
        self.daemon = None
        self.push = None

    def start_hostd(self):
        self.daemon = HostdProcess(self.home)
        self.push = HostPush(self.home)
        return self.daemon

    def stop_hostd(self, signum=signal.SIGTERM):
        if self.push is not None:
            self.push.close()
            self.push = None
        code = self.daemon.stop(signum)
        self.daemon = None
        return code

    def start_device(self):
        self.device.start()
        assert self.device.wait_ready(30), self.device.log_text()

    def wait_online(self, after=0, timeout=30):
        """Wait for a heartbeat newer than `after` (the device is subscribed by then)."""

        def seen():
            rows = db_rows(self.home, "SELECT online, last_seen FROM fleet WHERE device_id = ?", (DEVICE,))
            return rows and rows[0][0] == 1 and rows[0][1] >= after

        try:
            wait_for(seen, timeout, 0.1)
        except TimeoutError:
            pytest.fail("device never came online:\n%s" % self.device.log_text()[-3000:])

    def offline_press(self, button):
        """Press while the host is away (no session) and wait until the device
        stored it (its console says so); then past offline_s, counted from the
        moment it did, so the next press is taken whatever the machine's load."""
        stored = self.device.log_text().count("rating: stored seq")
        self.device.press(button)
        wait_for(lambda: self.device.log_text().count("rating: stored seq") > stored, 30, 0.05)
        time.sleep(1.1)

    def ratings(self, sql="SELECT seq, level, session_id, staff FROM ratings ORDER BY seq"):
        return db_rows(self.home, sql)

    def press_until_rows(self, button, rows, tries=10):
        """Press until the table holds `rows` ratings (a press before the session
        arrived does nothing); the device takes one rating per session at most."""
        for _ in range(tries):
            self.device.press(button)
            try:
                wait_for(lambda: len(self.ratings()) >= rows, 1.0, 0.05)
                return
            except TimeoutError:
                pass
        pytest.fail("no rating row after %d presses:\n%s" % (tries, self.device.log_text()[-3000:]))

    def close(self):
        self.device.stop()
        if self.daemon is not None:
            self.stop_hostd(signal.SIGKILL)


@pytest.fixture
def hall(tmp_path):
    made = []

    def make(**settings):
        made.append(Hall(tmp_path, **settings))
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_a_press_becomes_a_row_and_clears_the_outbox(hall):
    t0 = time.monotonic()
    h = hall()
    h.start_hostd()
    h.start_device()
    h.wait_online()
    before = int(time.time())
    h.push.session(h.key, DEVICE, "sess-e2e-1", staff_id="s1", cases=2)
    h.press_until_rows(1, 1)
    after = int(time.time())

    time.sleep(1.0)  # more presses in this session must add nothing
    h.device.press(1)
    time.sleep(1.0)
    rows = h.ratings(
        "SELECT device_id, seq, level, session_id, staff, cases, device_time, clock_synced, hall FROM ratings"
    )
    assert len(rows) == 1, rows
    device_id, seq, level, session_id, staff, cases, device_time, synced, hall_id = rows[0]
    assert (device_id, seq, level, session_id, staff, cases) == (DEVICE, 1, 5, "sess-e2e-1", "s1", 2)
    assert before - 2 <= device_time <= after + 2 and synced == 1
    assert hall_id == h.config["hall"]

    fleet = db_rows(
        h.home,
        "SELECT online, state, firmware, last_rating_seq, free_heap FROM fleet WHERE device_id = ?",
        (DEVICE,),
    )
    assert fleet[0][:4] == (1, "online", FW_VERSION, 1), fleet
    assert 0 < fleet[0][4] < 100 * 1024  # the firmware runs in a 100 KB heap

    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": 2}
    assert db_rows(h.home, "SELECT COUNT(*) FROM rejections") == [(0,)]
    print("e2e press->row: %.1f s (hostd start %.1f s)" % (time.monotonic() - t0, h.daemon.start_s))


def test_presses_while_the_host_is_down_are_delivered_when_it_returns(hall):
    t0 = time.monotonic()
    presses = [1, 2, 3, 1, 2]
    h = hall()
    h.start_hostd()
    h.start_device()
    h.wait_online()
    h.push.idle(h.key, DEVICE, WINDOW, staff_id="s9", staff_no="0099", serving=True)
    time.sleep(1.0)  # the idle screen reaches the device
    assert h.stop_hostd(signal.SIGTERM) == 0  # its Mosquitto stops with it

    time.sleep(1.0)  # the link notices the broker is gone: offline, idle presses count
    for button in presses:
        h.offline_press(button)
    h.device.stop()  # and power it off: the ratings live in the flash outbox
    assert h.device.outbox_state() == {"depth": len(presses), "next_seq": len(presses) + 1}
    assert h.ratings() == []

    h.start_device()
    h.start_hostd()  # the same home: the same database, broker files and port
    try:
        wait_for(lambda: len(h.ratings()) >= len(presses), 45, 0.1)
    except TimeoutError:
        pytest.fail("delivered %d of %d:\n%s" % (len(h.ratings()), len(presses), h.device.log_text()[-3000:]))
    time.sleep(1.0)  # nothing more may come
    expected = [(i + 1, LEVEL_OF_BUTTON[b], None, "s9") for i, b in enumerate(presses)]
    assert h.ratings() == expected
    assert db_rows(h.home, "SELECT COUNT(*) FROM ratings WHERE clock_synced = 1") == [(5,)]

    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": len(presses) + 1}
    print("e2e host down and back: %.1f s" % (time.monotonic() - t0))


def test_firmware_ratings_survive_hostd_sigkills_exactly_once(hall):
    """Each round: a session rated, hostd SIGKILLed at once, a moment later or
    after the ack (the rating not yet sent, committed but maybe not acked, or
    acked), two presses while it is down, restart."""
    t0 = time.monotonic()
    h = hall()
    h.start_hostd()
    h.start_device()
    expected = []  # (seq, level, session_id, staff) in the order the device records them
    at_kill = []
    for round_no, kill_after_s in enumerate((0.0, 0.03, 0.4), 1):
        h.wait_online(after=int(time.time()) - 1)
        session = "sess-kill-%d" % round_no
        h.push.session(h.key, DEVICE, session, staff_id="s%d" % round_no)
        time.sleep(0.7)  # the session reaches the device
        h.device.press(1)
        expected.append((len(expected) + 1, 5, session, "s%d" % round_no))
        time.sleep(kill_after_s)
        downs = h.device.log_text().count("link: down")
        h.stop_hostd(signal.SIGKILL)
        at_kill.append(len(h.ratings()) == len(expected))  # the session's row committed?
        # the device sees the broker gone (its link drops): idle presses count
        wait_for(lambda downs=downs: h.device.log_text().count("link: down") > downs, 30, 0.05)
        time.sleep(0.6)  # past thanks_ms and response_interval_ms after the session's press
        for button in (3, 2):
            h.offline_press(button)
            expected.append((len(expected) + 1, LEVEL_OF_BUTTON[button], None, "s%d" % round_no))
        if round_no == 2:  # a power cut while hostd is down: the outbox is on flash
            h.device.power_cut()
            depth = h.device.outbox_state()
            assert depth["next_seq"] == len(expected) + 1 and depth["depth"] >= 2, depth
            h.start_device()
        h.start_hostd()
        try:
            wait_for(lambda: len(h.ratings()) >= len(expected), 45, 0.1)
        except TimeoutError:
            pytest.fail(
                "round %d: %d of %d rows: %s, expected %s\n%s"
                % (
                    round_no,
                    len(h.ratings()),
                    len(expected),
                    h.ratings(),
                    expected,
                    h.device.log_text()[-3000:],
                )
            )
    time.sleep(1.0)  # resends after the restarts must not add rows
    assert h.ratings() == expected
    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": len(expected) + 1}
    assert db_rows(h.home, "SELECT COUNT(*) FROM rejections") == [(0,)]
    print(
        "e2e firmware under 3 hostd SIGKILLs: %.1f s; session row committed at the kill: %s"
        % (time.monotonic() - t0, at_kill)
    )


def test_key_rotation_while_ratings_wait_in_the_outbox(hall):
    """Ratings signed with the old key wait in the outbox while hostd is down;
    the key is rotated and the device re-provisioned with the new one (its
    flash and outbox kept). The old-key ratings verify during the overlap, and
    their acks must reach the device, which now holds only the new key."""
    t0 = time.monotonic()
    h = hall()
    h.start_hostd()
    h.start_device()
    h.wait_online()
    h.push.idle(h.key, DEVICE, WINDOW, staff_id="s5", serving=True)
    time.sleep(1.0)
    assert h.stop_hostd() == 0
    time.sleep(1.0)
    for button in (1, 3):
        h.offline_press(button)
    h.device.stop()
    assert h.device.outbox_state()["depth"] == 2

    rotated = hostd(h.home, "device", "rotate-key", DEVICE, "--overlap-hours", "1")
    assert rotated.exit_code == 0, rotated.output
    config = json.loads(hostd(h.home, "device", "show-config", DEVICE).output)
    assert config["key"] != h.config["key"]
    h.device.write_config({**config, "heartbeat_s": 5, "response_interval_ms": 300, "thanks_ms": 200})
    h.key = bytes.fromhex(config["key"])
    h.start_hostd()
    h.start_device()
    h.wait_online()  # the broker takes the new key's password
    h.push.session(h.key, DEVICE, "sess-new-key", staff_id="s5")
    h.press_until_rows(1, 3)
    assert h.ratings() == [(1, 5, None, "s5"), (2, 3, None, "s5"), (3, 5, "sess-new-key", "s5")]
    time.sleep(2.0)  # the acks of the old-key ratings come back
    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": 4}
    print("e2e key rotation: %.1f s" % (time.monotonic() - t0))


def test_a_firmware_crash_resets_the_board_and_it_rates_again(hall):
    """An exception escaping the firmware's loop (here a MemoryError the
    virtual board raises at a button read, as a fragmented heap would) must
    not leave the device at the REPL: it says why, resets, comes back online
    by itself and takes the next session's rating; seqs go on, none reused."""
    h = hall()
    h.start_hostd()
    h.start_device()
    h.wait_online()
    h.push.session(h.key, DEVICE, "sess-crash-1", staff_id="s1")
    h.press_until_rows(1, 1)
    booted = h.device.log_text().count("board: flash mounted, firmware starting")
    assert h.device.inject_fault()
    wait_for(lambda: "firmware: MemoryError, restarting" in h.device.log_text(), 20, 0.1)
    wait_for(lambda: h.device.log_text().count("board: flash mounted, firmware starting") > booted, 30, 0.1)
    h.wait_online(after=int(time.time()))  # back online with no one touching it
    h.push.session(h.key, DEVICE, "sess-crash-2", staff_id="s2")
    h.press_until_rows(2, 2)
    assert h.ratings() == [(1, 5, "sess-crash-1", "s1"), (2, 4, "sess-crash-2", "s2")]
    assert ">>>" not in h.device.log_text()  # never stopped at the REPL
    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": 3}
