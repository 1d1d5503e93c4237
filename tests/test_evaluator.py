"""The rating state machine (firmware/evaluator.py) on real MicroPython.

Each test runs tests/mpy/ui_evaluator.py: the real Evaluator, Display, panel
driver, Clock and flash Outbox (littlefs in a file), with a fake ticks_ms.
The ratings are read back from the outbox and checked with the device key.
"""

import json

import pytest

from conftest import ROOT, run_micropython

SCRIPT = ROOT / "tests" / "mpy" / "ui_evaluator.py"
RTC_TIME = 1700000000


def drive(tmp_path, *ops, capacity=100):
    proc = run_micropython(SCRIPT, str(tmp_path / "flash.img"), str(capacity), *ops)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def dump(lines):
    return [line for line in lines if line.get("op") == "dump"][-1]


def by_op(lines, op):
    return [line for line in lines if line.get("op") == op]


def records(lines):
    """The outbox's ratings as dicts by field name."""
    names = ["v", "kind", "device", "seq", "session", "level", "reasons", "cases", "staff", "time", "synced"]
    return [dict(zip(names, r)) for r in dump(lines)["records"]]


def test_good_press_records_at_once_then_thanks(tmp_path):
    lines = drive(tmp_path, "session:s1::3", "press:0", "dump")
    press = by_op(lines, "press:0")[0]
    assert press["did"] and press["state"] == "thanks" and press["depth"] == 1
    thanks = [line for line in lines if line.get("event") == "thanks"]
    # 回避式: the thanks screen is told no level (the same pixels for all).
    assert thanks == [{"event": "thanks", "level": 0, "depth": 1, "next_seq": 2}]
    (rec,) = records(lines)
    assert rec == {
        "v": 1,
        "kind": "R",
        "device": "dev-w01",
        "seq": 1,
        "session": "s1",
        "level": 5,
        "reasons": [],
        "cases": 3,
        "staff": "staff-42",
        "time": RTC_TIME,
        "synced": False,
    }
    assert dump(lines)["missing"] == 0


@pytest.mark.parametrize("index,level", [(0, 5), (1, 4), (2, 3)])
def test_buttons_left_to_right_are_levels_five_down(tmp_path, index, level):
    lines = drive(tmp_path, "session:s1", "press:%d" % index, "dump")
    assert [r["level"] for r in records(lines)] == [level]


@pytest.mark.parametrize("index,level", [(3, 2), (4, 1)])
def test_bad_rating_asks_reason_then_records_it(tmp_path, index, level):
    lines = drive(tmp_path, "session:s1", "press:%d" % index, "dump", "wait:600", "press:2", "dump")
    press = by_op(lines, "press:%d" % index)[0]
    assert press["state"] == "reason" and press["screen"] == "reason" and press["depth"] == 0
    assert by_op(lines, "dump")[0]["records"] == []  # nothing recorded before the reason
    (rec,) = records(lines)
    assert rec["level"] == level and rec["reasons"] == [3] and rec["session"] == "s1"
    assert dump(lines)["state"] == "thanks"


def test_thanks_is_the_same_for_every_level_unless_the_hall_shows_it(tmp_path):
    ops = []
    for i in range(5):
        ops += ["session:s%d" % i, "press:%d" % i, "wait:600", "press:2", "wait:3000"]
    neutral = drive(tmp_path, *ops)
    assert [t["level"] for t in neutral if t.get("event") == "thanks"] == [0] * 5
    shown = drive(tmp_path, "cfg:show_level:1", *ops)
    assert [t["level"] for t in shown if t.get("event") == "thanks"] == [5, 4, 3, 2, 1]


# Reason page 0: 态度 效率 质量 环境 更多; page 1: 便捷性 其他 跳过 (blank) 返回.
@pytest.mark.parametrize(
    "presses,reasons",
    [
        (["0"], [1]),
        (["1"], [2]),
        (["2"], [3]),
        (["3"], [4]),
        (["4", "0"], [6]),  # 更多, 便捷性
        (["4", "1"], [5]),  # 更多, 其他
        (["4", "2"], []),  # 更多, 跳过: no reason given
        (["4", "4", "1"], [2]),  # 更多, 返回, 效率
    ],
)
def test_every_reason_choice_gives_its_code(tmp_path, presses, reasons):
    ops = ["session:s1", "press:4"]
    for press in presses:
        ops += ["wait:600", "press:" + press]
    lines = drive(tmp_path, *ops, "dump")
    (rec,) = records(lines)
    assert rec["reasons"] == reasons and rec["level"] == 1
    pages = [line["page"] for line in lines if line.get("event") == "reason"]
    assert pages == [0] + [(n + 1) % 2 for n in range(presses.count("4"))]


def test_blank_reason_button_does_nothing(tmp_path):
    lines = drive(tmp_path, "session:s1", "press:3", "wait:600", "press:4", "wait:600", "press:3", "dump")
    assert by_op(lines, "press:3")[1]["did"] is False
    assert dump(lines)["state"] == "reason" and dump(lines)["records"] == []


def test_reason_screen_counts_down_and_a_page_turn_starts_it_again(tmp_path):
    lines = drive(tmp_path, "cfg:reason_timeout_s:10", "session:s1", "press:4", "wait:3500", "dump")
    assert dump(lines)["countdown"] == [10, 9, 8, 7]  # shown as it runs, once a second
    lines = drive(
        tmp_path,
        "cfg:reason_timeout_s:10",
        "session:s1",
        "press:4",
        "wait:5000",
        "press:4",
        "wait:9900",
        "dump",
    )
    assert dump(lines)["state"] == "reason"  # 15 s in, but only 9.9 s on this page
    assert dump(lines)["countdown"][-1] == 1
    lines = drive(tmp_path, "cfg:reason_timeout_s:10", "session:s1", "press:4", "wait:10000", "dump")
    (rec,) = records(lines)
    assert rec["reasons"] == [] and dump(lines)["state"] == "thanks"  # timed out: reason not given


def test_reason_timeout_records_without_reason(tmp_path):
    lines = drive(
        tmp_path, "sync:1795248000", "session:s1", "press:3", "wait:29000", "dump", "wait:1100", "dump"
    )
    first = [line for line in lines if line.get("op") == "dump"][0]
    assert first["state"] == "reason" and first["records"] == []
    (rec,) = records(lines)
    assert rec["level"] == 2 and rec["reasons"] == []
    assert rec["time"] == 1795248000 and rec["synced"] is True  # time of the press
    assert dump(lines)["state"] == "thanks"


def test_double_tap_on_bad_button_is_not_a_reason(tmp_path):
    lines = drive(tmp_path, "session:s1", "press:4", "wait:100", "press:4", "dump")
    assert by_op(lines, "press:4")[1]["did"] is False
    assert dump(lines)["state"] == "reason" and dump(lines)["records"] == []


def test_one_service_one_rating(tmp_path):
    lines = drive(
        tmp_path,
        "online:1",
        "session:s1",
        "press:0",
        "press:0",
        "wait:2500",
        "press:4",
        "wait:10000",
        "press:0",
        "press:4",
        "dump",
    )
    presses = by_op(lines, "press:0") + by_op(lines, "press:4")
    assert [p["did"] for p in presses] == [True, False, False, False, False]
    assert len(records(lines)) == 1
    assert dump(lines)["state"] == "idle"


def test_redelivered_session_is_not_rated_twice(tmp_path):
    lines = drive(tmp_path, "online:1", "session:s1", "press:1", "wait:5000", "session:s1", "press:0", "dump")
    assert by_op(lines, "session:s1")[1]["state"] == "idle"
    assert [r["level"] for r in records(lines)] == [4]


def test_press_right_after_a_rating_is_ignored_even_on_a_new_session(tmp_path):
    lines = drive(
        tmp_path,
        "online:1",
        "session:s1",
        "press:0",
        "wait:1000",
        "session:s2",
        "press:4",
        "wait:2000",
        "press:1",
        "dump",
    )
    assert by_op(lines, "session:s2")[0]["state"] == "session"  # replaces the thanks
    assert by_op(lines, "press:4")[0]["did"] is False
    assert [(r["session"], r["level"]) for r in records(lines)] == [("s1", 5), ("s2", 4)]


def test_unrated_session_expires_after_its_ttl(tmp_path):
    lines = drive(tmp_path, "online:1", "session:s1:5", "wait:4900", "dump", "wait:200", "press:0", "dump")
    first = [line for line in lines if line.get("op") == "dump"][0]
    assert first["state"] == "session"
    assert dump(lines)["state"] == "idle" and dump(lines)["records"] == []
    assert by_op(lines, "press:0")[0]["did"] is False


def test_session_without_ttl_uses_config_ttl(tmp_path):
    lines = drive(tmp_path, "session:s1:0", "wait:119000", "dump", "wait:1100", "dump")
    dumps = [line for line in lines if line.get("op") == "dump"]
    assert dumps[0]["state"] == "session" and dumps[1]["state"] == "idle"


def test_new_session_during_reason_keeps_the_bad_rating(tmp_path):
    lines = drive(tmp_path, "session:s1", "press:4", "session:s2", "dump")
    (rec,) = records(lines)
    assert rec["session"] == "s1" and rec["level"] == 1 and rec["reasons"] == []
    assert dump(lines)["state"] == "session"


def test_thanks_returns_to_idle_after_thanks_ms(tmp_path):
    lines = drive(tmp_path, "session:s1", "press:0", "wait:2900", "dump", "wait:200", "dump")
    dumps = [line for line in lines if line.get("op") == "dump"]
    assert dumps[0]["state"] == "thanks" and dumps[1]["state"] == "idle"
    assert dumps[1]["screen"] == "idle"


def test_offline_idle_press_rates_last_known_staff_unsessioned(tmp_path):
    lines = drive(
        tmp_path,
        "cfg:offline_s:5",
        "idle:staff-7:1",
        "online:0",
        "press:1",
        "wait:5000",
        "press:3",
        "wait:600",
        "press:0",
        "dump",
    )
    assert [r["session"] for r in records(lines)] == [None, None]
    assert [(r["level"], r["staff"], r["reasons"], r["cases"]) for r in records(lines)] == [
        (4, "staff-7", [], 1),
        (2, "staff-7", [1], 1),
    ]


def test_offline_presses_count_once_per_offline_s_so_staff_cannot_stuff_ratings(tmp_path):
    ops = ["idle:staff-7:1", "online:0"]
    for _ in range(20):  # a press every 3.5 s for 70 s
        ops += ["press:0", "wait:3500"]
    lines = drive(tmp_path, *ops, "dump")
    assert len(records(lines)) == 2  # at 0 s and at 63 s (offline_s = 60 by default)
    did = [p["did"] for p in by_op(lines, "press:0")]
    assert did.index(True) == 0 and did[1:].index(True) == 17
    # The options leave the idle screen until the next one counts.
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    screens = drive(
        tmp_path / "b", "idle:staff-7:1", "online:0", "press:0", "wait:3100", "dump", "wait:57000", "dump"
    )
    dumps = [line for line in screens if line.get("op") == "dump"]
    assert dumps[0]["state"] == "idle" and dumps[0]["options"] is False
    assert dumps[1]["state"] == "idle" and dumps[1]["options"] is True
    off = drive(tmp_path / "c", "cfg:offline_s:0", "idle:staff-7:1", "online:0", "press:0", "dump")
    assert by_op(off, "press:0")[0]["did"] is False and dump(off)["records"] == []  # the hall turned it off


def test_idle_press_is_ignored_when_paused_or_online(tmp_path):
    lines = drive(
        tmp_path,
        "press:0",  # nobody known yet
        "idle:staff-7:0",
        "press:0",  # staff known but paused
        "idle:none:0",
        "press:1",  # 暂停服务
        "idle:staff-7:1",
        "online:1",
        "press:2",  # host reachable: sessions rule
        "dump",
    )
    assert [p["did"] for p in lines if p.get("op", "").startswith("press")] == [False] * 4
    assert dump(lines)["records"] == []


def test_session_seen_offline_is_rated_with_its_session(tmp_path):
    lines = drive(tmp_path, "idle:staff-7:1", "session:s9", "online:0", "press:2", "dump")
    (rec,) = records(lines)
    assert rec["session"] == "s9" and rec["staff"] == "staff-42"


def test_full_outbox_refuses_press_with_banner_and_keeps_state(tmp_path):
    lines = drive(
        tmp_path,
        "session:s1",
        "press:0",
        "dump",
        "wait:3000",
        "session:s2",
        "press:1",
        "dump",
        "ack",
        "dump",
        "press:1",
        "dump",
        capacity=1,
    )
    dumps = [line for line in lines if line.get("op") == "dump"]
    assert dumps[0]["full"] and dumps[0]["banner"]  # warned as soon as it filled: presses go to the QR code
    refused = by_op(lines, "press:1")[0]
    assert refused["did"] is False and refused["state"] == "session"
    assert dumps[1]["refused"] == 1 and dumps[1]["banner"] and dumps[1]["screen"] == "session"
    assert not dumps[2]["full"] and not dumps[2]["banner"]  # acks made room
    assert by_op(lines, "press:1")[1]["did"] is True
    assert [(r["seq"], r["session"]) for r in records(lines)] == [(2, "s2")]


def test_reason_timeout_with_full_outbox_retries_later(tmp_path):
    lines = drive(
        tmp_path,
        "session:s1",
        "press:0",
        "wait:3000",
        "session:s2",
        "press:4",
        "wait:31000",
        "dump",
        "ack",
        "wait:31000",
        "dump",
        capacity=1,
    )
    dumps = [line for line in lines if line.get("op") == "dump"]
    assert dumps[0]["state"] == "reason" and dumps[0]["banner"]
    assert [(r["session"], r["level"]) for r in records(lines)] == [("s2", 1)]
    assert dumps[1]["state"] == "thanks" and dumps[1]["banner"]  # full again: capacity 1


def test_revoked_device_ignores_everything(tmp_path):
    lines = drive(
        tmp_path,
        "session:s1",
        "press:4",
        "revoke",
        "session:s2",
        "press:0",
        "idle:staff-7:1",
        "online:0",
        "press:0",
        "dump",
    )
    final = dump(lines)
    assert final["revoked"] and final["screen"] == "revoked"
    assert [(r["session"], r["reasons"]) for r in records(lines)] == [("s1", [])]
    assert not any(p["did"] for p in lines if p.get("op") == "press:0")


def test_online_marker_follows_set_online(tmp_path):
    lines = drive(tmp_path, "dump", "online:1", "dump", "online:0", "dump")
    assert [d["online"] for d in lines if d.get("op") == "dump"] == [False, True, False]


def test_clock_runs_from_host_time(tmp_path):
    lines = drive(tmp_path, "dump", "sync:1795248000", "wait:5000", "dump")
    dumps = [line for line in lines if line.get("op") == "dump"]
    assert dumps[0]["now"] == RTC_TIME
    assert dumps[1]["now"] == 1795248005


CLOCK_SCRIPT = """
import json
from firmware.clock import Clock
t = [0]
c = Clock(lambda: t[0], 946684800, rtc=lambda: 100)
out = [c.now(), c.synced]
c.sync(True); c.sync(-5); c.sync("x")
out += [c.synced]
c.sync(1795248000)
t[0] = 999; out += [c.now(), c.synced]
t[0] = 1000; out += [c.now()]
t[0] = 2 * 3600 * 1000 + 1500; out += [c.now()]
t[0] += 500; out += [c.now(), c.now()]
c.sync(1795240000); out += [c.now()]
print(json.dumps(out))
"""


def test_clock_unit():
    out = json.loads(run_micropython(CLOCK_SCRIPT).stdout)
    assert out == [
        946684900,
        False,
        False,
        1795248000,
        True,
        1795248001,
        1795248000 + 7201,
        1795248000 + 7202,
        1795248000 + 7202,
        1795240000,
    ]


def test_revocation_lifted_when_the_broker_lets_the_device_in_again(tmp_path):
    lines = drive(tmp_path, "revoke", "unrevoke", "session:s1", "press:1", "dump")
    final = dump(lines)
    assert not final["revoked"] and final["screen"] == "thanks"
    assert [(r["session"], r["level"]) for r in records(lines)] == [("s1", 4)]


def test_an_idle_screen_during_a_session_ends_it_but_not_a_reason_screen(tmp_path):
    """hostd pushes the idle screen over a session only once it ended it (rated
    by its QR code, cancelled): the device drops it; a citizen on the reason
    screen finishes first."""
    lines = drive(tmp_path, "online:1", "session:s1", "idle:staff-7:1", "press:0", "dump")
    assert by_op(lines, "idle:staff-7:1")[0]["state"] == "idle"
    assert by_op(lines, "press:0")[0]["did"] is False and dump(lines)["records"] == []
    (tmp_path / "b").mkdir()
    lines = drive(
        tmp_path / "b", "online:1", "session:s2", "press:4", "idle:staff-7:1", "wait:600", "press:0", "dump"
    )
    assert by_op(lines, "idle:staff-7:1")[0]["state"] == "reason"
    (rec,) = records(lines)
    assert rec["session"] == "s2" and rec["reasons"] == [1]
