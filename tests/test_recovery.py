"""A device that recovers on its own: the hardware watchdog, Wi-Fi that comes
back, and the reset cause in every heartbeat. Every real part: `hostd run`
with its Mosquitto, the real firmware on MicroPython (100 KB heap) on the
virtual board, whose `machine.WDT` the supervisor enforces (a late feed
resets the board, as a power cut would) and whose `network.WLAN` joins a
virtual access point with the ESP32's status codes.

Time on the board is counted in its own units where the verdict depends on
it: the Wi-Fi outage lasts a number of the station's status polls (one per
turn of the firmware's loop), and a join takes 30 of them, so a firmware
that waited for Wi-Fi without turning its loop would never join.
"""

import random
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostd_helpers import db_rows, wait_for
from test_e2e import DEVICE, LEVEL_OF_BUTTON, WINDOW, hall  # noqa: F401  (the fixture)

from hostd.cli import cli

MPREMOTE = str(Path(sys.executable).parent / "mpremote")
SSID, PASSWORD = "hall-2F", "good-pass-1"
WATCHDOG_S = 3


def fleet_row(h):
    rows = db_rows(
        h.home,
        "SELECT state, reset_cause, boots, reboots_hour FROM fleet WHERE device_id = ?",
        (DEVICE,),
    )
    return rows[0] if rows else None


def delivered(h):
    return [
        seq
        for (seq,) in db_rows(h.home, "SELECT seq FROM ratings WHERE device_id = ? ORDER BY seq", (DEVICE,))
    ]


def serve(h, staff="s9"):
    """A staff member on duty: idle presses count while the host is unreachable."""
    h.push.idle(h.key, DEVICE, WINDOW, staff_id=staff, staff_no="0099", serving=True)
    time.sleep(1.0)  # the idle screen reaches the device


def offline_presses(h, buttons):
    for button in buttons:
        h.offline_press(button)  # stored, and past offline_s


def panel_offline(h):
    """The 离线 badge is red and a reason is written beside it (firmware/display.py MARKER)."""
    image = h.device.board.panel.image().convert("RGB")
    badge = image.getpixel((3, 161))
    reason = image.crop((50, 168, 194, 176))
    return red(badge) and any(red(c) for _n, c in reason.getcolors(4096))


def red(rgb):
    return rgb[0] > 150 and rgb[1] < 20 and rgb[2] < 20  # rgb565(170, 0, 0) as the panel shows it


def test_a_frozen_loop_is_reset_by_the_watchdog_with_the_outbox_intact(hall):  # noqa: F811
    h = hall(watchdog_s=WATCHDOG_S)
    h.start_hostd()
    h.start_device()
    h.wait_online()
    assert fleet_row(h)[1:3] == ("power", 1)
    serve(h)
    h.stop_hostd()  # acks stop: presses wait in the flash outbox
    time.sleep(1.0)
    offline_presses(h, [1, 2, 3])

    board = h.device.board
    events = len(board.events)
    assert board.freeze()
    assert board.wait_event("watchdog", WATCHDOG_S + 30, since=events), h.device.log_text()[-2000:]
    assert board.watchdog_resets == 1
    assert board.wait_event("ready", 30, since=events)

    h.start_hostd()
    wait_for(lambda: len(delivered(h)) >= 3, 45, 0.1)
    h.wait_online(after=int(time.time()))
    time.sleep(1.0)  # nothing more may come
    assert delivered(h) == [1, 2, 3]  # every rating once, none lost across the reset
    assert [lvl for (lvl,) in db_rows(h.home, "SELECT level FROM ratings ORDER BY seq")] == [5, 4, 3]
    state, cause, boots, reboots = fleet_row(h)
    assert (state, cause, boots) == ("online", "watchdog", 2)
    assert reboots == 2  # the power-on and the watchdog's, both within the hour
    listed = CliRunner().invoke(cli, ["--home", str(h.home.path), "device", "list"])
    assert "watchdog (boot 2, 2 in the last hour)" in listed.output, listed.output


def test_wifi_down_for_sixty_seconds_of_board_time(hall):  # noqa: F811
    """Presses while the Wi-Fi is down are stored at once (the loop never waits
    on the network): they are all in the flash outbox before the Wi-Fi comes
    back; then each arrives exactly once."""
    h = hall(wifi_ssid=SSID, wifi_password=PASSWORD)
    h.start_hostd()
    h.device.start(record_panel=True, ap_password=PASSWORD)
    assert h.device.wait_ready(30)
    h.wait_online()
    serve(h)
    board = h.device.board
    board.wifi(up=False)
    assert h.device.wait_log("offline: WIFI", 30), h.device.log_text()[-2000:]
    wait_for(lambda: fleet_row(h)[0] == "offline", 30, 0.1)  # the broker saw the link go
    polls = board.wifi_polls
    offline_presses(h, [1, 2, 3, 1])
    wait_for(lambda: board.wifi_polls >= polls + 6000, 180, 0.5)  # 60 s of the board's loop
    assert panel_offline(h)
    assert delivered(h) == []
    h.device.stop()  # still without Wi-Fi: the ratings are on flash already
    assert h.device.outbox_state() == {"depth": 4, "next_seq": 5}

    h.device.start(record_panel=True, ap_up=False, ap_password=PASSWORD)
    assert h.device.wait_ready(30)
    assert h.device.wait_log("offline: WIFI NOT FOUND", 30), h.device.log_text()[-2000:]
    h.device.board.wifi(up=True)
    wait_for(lambda: len(delivered(h)) >= 4, 60, 0.1)
    h.wait_online(after=int(time.time()))
    time.sleep(1.0)
    assert delivered(h) == [1, 2, 3, 4]
    levels = [lvl for (lvl,) in db_rows(h.home, "SELECT level FROM ratings ORDER BY seq")]
    assert levels == [LEVEL_OF_BUTTON[b] for b in (1, 2, 3, 1)]
    assert "offline: the network is back" in h.device.log_text()


def test_a_wrong_wifi_password_is_shown_then_fixed_by_provisioning(hall):  # noqa: F811
    h = hall(wifi_ssid=SSID, wifi_password="an-old-password")
    h.start_hostd()
    h.device.start(record_panel=True, ap_password=PASSWORD)
    assert h.device.wait_ready(30)
    assert h.device.wait_log("offline: WIFI BAD PASSWORD", 30), h.device.log_text()[-2000:]
    wait_for(lambda: panel_offline(h), 10, 0.1)
    assert db_rows(h.home, "SELECT COUNT(*) FROM device_status") == [(0,)]  # never reached the host

    # The watchdog runs; provisioning takes the REPL all the same, and resets the board.
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(h.home.path),
            "device",
            "provision",
            DEVICE,
            "--port",
            h.device.port,
            "--wifi-ssid",
            SSID,
            "--wifi-password",
            PASSWORD,
            "--timeout",
            "60",
        ],
    )
    assert result.exit_code == 0, result.output + h.device.log_text()[-2000:]
    assert "[9/9] first heartbeat" in result.output
    state, cause, boots, _ = fleet_row(h)
    assert state == "online" and boots >= 2 and cause == "soft"  # provisioning's machine.reset()
    assert "firmware stopped; the watchdog resets the board in 30 min" in h.device.log_text()


def _chaos(hall, ratings, drops, freezes, seed):  # noqa: F811
    """Ratings pressed one after another (a session each while online, idle
    presses while not); Wi-Fi drops and loop freezes at random moments. Every
    rating the device stored must reach hostd exactly once."""
    rng = random.Random(seed)
    h = hall(wifi_ssid=SSID, wifi_password=PASSWORD, watchdog_s=WATCHDOG_S, heartbeat_s=5)
    h.start_hostd()
    h.device.start(ap_password=PASSWORD)
    assert h.device.wait_ready(30)
    h.wait_online()
    serve(h)
    board = h.device.board
    faults = ["drop"] * drops + ["freeze"] * freezes
    rng.shuffle(faults)
    at = sorted(rng.sample(range(1, ratings), len(faults)))
    plan = dict(zip(at, faults))
    started = time.monotonic()
    presses = 0
    n = 0
    while len(delivered(h)) < ratings:
        n += 1
        fault = plan.pop(n, None)
        if fault == "drop":
            board.wifi(up=False)
            for _ in range(rng.randint(1, 4)):  # taken or not (the drop may not be seen yet): no count here
                h.device.press(rng.randint(1, 5))
                time.sleep(1.1)  # past offline_s
            board.wifi(up=True)
        elif fault == "freeze":
            events = len(board.events)
            board.freeze()
            assert board.wait_event("ready", WATCHDOG_S + 60, since=events), h.device.log_text()[-2000:]
            h.push.idle(h.key, DEVICE, WINDOW, staff_id="s9", serving=True)
        h.push.session(h.key, DEVICE, "chaos-%d-%d" % (seed, n), staff_id="s9")
        time.sleep(0.3)
        h.device.press(rng.randint(1, 5))
        presses += 1
        time.sleep(0.3)
        assert time.monotonic() - started < ratings * 5 + 300, "stuck: %d delivered" % len(delivered(h))
    board.wifi(up=True)
    h.wait_online(after=int(time.time()))
    time.sleep(3.0)
    h.device.stop()
    state = h.device.outbox_state()
    seqs = delivered(h)
    assert state["depth"] == 0, state
    assert seqs == list(range(1, state["next_seq"])), "lost or duplicated: %s" % seqs
    assert board.watchdog_resets == freezes
    assert not plan  # every fault was injected
    assert db_rows(h.home, "SELECT COUNT(*) FROM rejections") == [(0,)]
    print(
        "chaos: %d ratings, %d Wi-Fi drops, %d freezes (%d watchdog resets), 0 lost, 0 duplicated, %.0f s"
        % (len(seqs), drops, freezes, board.watchdog_resets, time.monotonic() - started)
    )


def test_chaos_wifi_drops_and_freezes_short(hall):  # noqa: F811
    _chaos(hall, ratings=40, drops=3, freezes=2, seed=7)


@pytest.mark.slow
def test_chaos_wifi_drops_and_freezes_10000(hall):  # noqa: F811
    _chaos(hall, ratings=10000, drops=50, freezes=20, seed=11)


def test_a_crash_restart_is_reported_as_a_crash(hall):  # noqa: F811
    h = hall()
    h.start_hostd()
    h.start_device()
    h.wait_online()
    assert fleet_row(h)[1:3] == ("power", 1)
    assert h.device.inject_fault()  # a MemoryError escapes the loop: the firmware resets itself
    wait_for(lambda: (fleet_row(h)[1], fleet_row(h)[2]) == ("crash", 2), 60, 0.2)
    h.device.board.power_cycle()
    wait_for(lambda: (fleet_row(h)[1], fleet_row(h)[2]) == ("power", 3), 60, 0.2)


def test_the_screen_comes_before_any_network_step(hall):  # noqa: F811
    """Power-on to a drawn screen needs no network: the board counts the panel's
    SPI writes at the firmware's first Wi-Fi join (its first network step)."""
    h = hall(wifi_ssid=SSID, wifi_password=PASSWORD)
    h.device.start(ap_up=False)  # no network at all: the screen must not wait for it
    assert h.device.wait_ready(30)
    board = h.device.board
    assert board.wait_event("firmware", 30)
    wait_for(lambda: any(w.startswith("wifi join after ") for _t, w in board.events), 30, 0.1)
    word = next(w for _t, w in board.events if w.startswith("wifi join after "))
    assert int(word.split()[3]) >= 50, word  # the idle screen: dozens of SPI writes already
    assert h.device.wait_log("offline: WIFI NOT FOUND", 30)


def test_a_full_outbox_refuses_presses_keeps_every_rating_and_drains(hall):  # noqa: F811
    """Offline with a staff member on duty, presses fill the outbox to its
    capacity; the next presses are refused, the buttons' row sending the
    citizen to the QR code, and what is stored stays; once the host is back
    every rating arrives, once."""
    capacity = 10  # the smallest a device takes
    h = hall(outbox_capacity=capacity)
    h.start_hostd()
    h.device.start(record_panel=True)
    assert h.device.wait_ready(30)
    h.wait_online()
    serve(h)
    h.stop_hostd()
    time.sleep(1.0)
    buttons = ([1, 2, 3, 2] * capacity)[:capacity]  # good levels: a 差评 takes the next press as reason
    offline_presses(h, buttons)
    for button in (1, 2, 3):  # the outbox is full: these are refused
        h.device.press(button)
        time.sleep(1.2)
    # The buttons' row says presses are refused (a press counts on its release:
    # wait for the screen, not a fixed time).
    try:
        wait_for(lambda: red(h.device.board.panel.image().convert("RGB").getpixel((2, 195))), 20, 0.1)
    except TimeoutError:
        raise AssertionError("the buttons' row does not say presses are refused") from None
    assert h.device.log_text().count("rating: stored seq") == capacity
    h.device.stop()
    assert h.device.outbox_state() == {
        "depth": capacity,
        "next_seq": capacity + 1,
    }  # refused, none overwritten

    h.start_hostd()
    h.start_device()
    wait_for(lambda: len(delivered(h)) >= capacity, 120, 0.2)
    h.wait_online(after=int(time.time()))
    time.sleep(1.0)
    assert delivered(h) == list(range(1, capacity + 1))
    levels = [lvl for (lvl,) in db_rows(h.home, "SELECT level FROM ratings ORDER BY seq")]
    assert levels == [LEVEL_OF_BUTTON[b] for b in buttons]
    h.device.stop()
    assert h.device.outbox_state() == {"depth": 0, "next_seq": capacity + 1}  # drained completely


def test_a_press_right_after_power_on_is_stored_before_the_network_is_up(hall):  # noqa: F811
    """The last idle message (who is serving) is kept on flash: after a power
    cut, with the Wi-Fi not there yet, the device knows whom a press rates
    and stores it at once; it reaches hostd once the network is back."""
    h = hall(wifi_ssid=SSID, wifi_password=PASSWORD)
    h.start_hostd()
    h.device.start(ap_password=PASSWORD)
    assert h.device.wait_ready(30)
    h.wait_online()
    serve(h, staff="s7")
    h.device.stop()

    turns = h.device.log_text().count("offline: WIFI CONNECTING")
    h.device.start(ap_up=False, ap_password=PASSWORD)  # power back; no Wi-Fi, so no broker
    assert h.device.wait_ready(30)
    # The loop's first turn (it says why it is offline) is the first moment a
    # press can be read; a button already held while the firmware starts is
    # not a press (firmware/buttons.py).
    wait_for(lambda: h.device.log_text().count("offline: WIFI CONNECTING") > turns, 30, 0.02)
    h.offline_press(2)  # waits for the device's "stored" line: the press counted
    assert h.device.wait_log("offline: WIFI NOT FOUND", 30)  # it was never online
    assert "link: connected" not in h.device.log_text().split("board: flash mounted")[-1]
    h.device.stop()
    assert h.device.outbox_state() == {"depth": 1, "next_seq": 2}

    h.device.start(ap_password=PASSWORD)
    wait_for(lambda: len(delivered(h)) >= 1, 60, 0.1)
    rows = db_rows(h.home, "SELECT seq, level, session_id, staff, binding FROM ratings")
    assert rows == [(1, 4, None, "s7", "window")]
