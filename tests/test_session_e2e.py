"""Sessions end to end: the API of a real `hostd run` (its own Mosquitto), the real
firmware in the simulator (100 KB heap, panel decoded from its SPI stream), and
the real SQLite file.

API call -> the panel shows the item and staff parts that hostd/devices/render.py made
-> press -> the rating is bound to the session and to every case of the batch
-> a second press adds no counted rating -> staff off duty -> 暂停服务.
"""

import json
import time

import httpx
import paho.mqtt.client as mqtt
import pytest
from hostd_helpers import HostdProcess, db_rows, wait_for
from hostd_support import hostd, make_home

from conftest import mosquitto_binary
from hostd.devices import render
from hostd.web.api import ensure_token
from protocol import messages, topics
from simulator.device import SimDevice

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")

DEVICE, WINDOW = "w07-a", "07"
ITEM = "户口迁移"
LONG_ITEM = "不动产登记（首次登记、转移登记、变更登记及抵押权登记）"  # two lines and an ellipsis
ITEM_BOX = (6, 2, 308, 48)  # firmware/display.py _session
STAFF_BOX = (2, 62, 196, 24)


def region_match(panel, part, box):
    """Fraction of the part's pixels that the panel shows as the device would
    draw them (ink black, paper white), centred in its box."""
    w, h, data = render.unpack(part)
    x0, y0, bw, bh = box
    dx, dy = max(0, (bw - w) // 2), max(0, (bh - h) // 2)
    stride = (w + 7) // 8
    good = 0
    for y in range(min(h, bh)):
        for x in range(min(w, bw)):
            ink = data[y * stride + x // 8] & (0x80 >> (x % 8))
            good += panel.rgb(x0 + dx + x, y0 + dy + y) == ((0, 0, 0) if ink else (255, 255, 255))
    return good / float(min(h, bh) * min(w, bw))


class Retained:
    """Reads what hostd publishes on the device's session topic (logged in as the
    device, the only user the ACL lets read it), retained flag included."""

    def __init__(self, home, key):
        from protocol.credentials import mqtt_password

        self.key = key
        self.got = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="t-retained-%d" % time.time_ns()
        )
        self.client.username_pw_set(DEVICE, mqtt_password(key))
        self.client.on_message = lambda c, u, m: self.got.append((m.retain, m.payload))
        self.client.connect("127.0.0.1", home.config()["broker"]["port"])
        self.client.loop_start()
        self.client.subscribe(topics.topic(home.config()["hall"]["id"], DEVICE, topics.SESSION), 1)

    def last(self, timeout=5):
        wait_for(lambda: self.got, timeout)
        return messages.decode(self.got[-1][1], [self.key], DEVICE, messages.MAX_HOST_MESSAGE), self.got[-1][
            0
        ]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", DEVICE, "--window", WINDOW).exit_code == 0
    config = json.loads(hostd(home, "device", "show-config", DEVICE).output)
    added = hostd(home, "staff", "add", "s1", "--name", "张三丰", "--staff-no", "0042")
    assert added.exit_code == 0, added.output
    device = SimDevice(tmp_path / "flash", DEVICE)
    device.write_config({**config, "heartbeat_s": 5, "response_interval_ms": 300, "thanks_ms": 300})
    daemon = HostdProcess(home)
    device.start(record_panel=True)
    try:
        assert device.wait_ready(30), device.log_text()
        wait_for(
            lambda: db_rows(home, "SELECT online FROM fleet WHERE device_id = ?", (DEVICE,)) == [(1,)],
            30,
            0.1,
        )
        yield home, device, bytes.fromhex(config["key"])
    finally:
        device.stop()
        daemon.stop()


def wait_shown(home, device, item_part, staff_part, timeout=5):
    panel = device.board.panel
    try:
        wait_for(
            lambda: (
                region_match(panel, item_part, ITEM_BOX) > 0.99
                and region_match(panel, staff_part, STAFF_BOX) > 0.99
            ),
            timeout,
            0.02,
        )
    except TimeoutError:
        device.screenshot(str(home.path / "session.png"))
        pytest.fail(
            "panel: item %.3f staff %.3f (see %s)\n%s"
            % (
                region_match(panel, item_part, ITEM_BOX),
                region_match(panel, staff_part, STAFF_BOX),
                home.path / "session.png",
                device.log_text()[-2000:],
            )
        )


def api(home, method, path, body=None):
    port = home.config()["web"]["port"]
    return httpx.request(
        method,
        "http://127.0.0.1:%d/api/v1%s" % (port, path),
        json=body,
        headers={"Authorization": "Bearer " + ensure_token(home)},
        timeout=10,
    )


def test_session_screen_press_batch_and_pause(hall):
    home, device, key = hall
    on = hostd(home, "staff", "on", "s1", "--window", WINDOW)
    assert on.exit_code == 0, on.output
    panel = device.board.panel
    renderer = render.Renderer()
    item_part, staff_part = renderer.item(ITEM), renderer.staff("张三丰", "0042")
    time.sleep(0.5)

    t0 = time.monotonic()
    answer = api(
        home,
        "POST",
        "/sessions",
        {
            "window": WINDOW,
            "item_code": "A001",
            "item_name": ITEM,
            "staff_id": "s1",
            "cases": [{"case_id": "c-1"}, {"case_id": "c-2"}, {"case_id": "c-3"}],
        },
    )
    assert answer.status_code == 201, answer.text
    out = answer.json()
    session_id = out["session_id"]
    assert out["pushed"] is True and out["message_bytes"] < messages.MAX_HOST_MESSAGE

    wait_shown(home, device, item_part, staff_part)
    latency = time.monotonic() - t0
    assert latency < 1.0, "the device showed the session after %.2f s" % latency
    print(
        "API call -> item and staff on the panel: %.0f ms; session message %d bytes"
        % (latency * 1000, out["message_bytes"])
    )

    device.press(1)  # 非常满意
    wait_for(lambda: db_rows(home, "SELECT COUNT(*) FROM ratings")[0][0] == 1, 10, 0.05)
    rows = db_rows(home, "SELECT level, session_id, binding, cases FROM ratings")
    assert rows == [(5, session_id, "session", 3)]
    state = db_rows(home, "SELECT state, rating_id FROM sessions WHERE session_id = ?", (session_id,))
    assert state[0][0] == "rated" and state[0][1] is not None
    cases = db_rows(home, "SELECT case_id FROM session_cases WHERE session_id = ? ORDER BY 1", (session_id,))
    assert cases == [("c-1",), ("c-2",), ("c-3",)]
    got = api(home, "GET", "/sessions/%s" % session_id).json()
    assert got["state"] == "rated" and got["rating_level"] == 5 and len(got["cases"]) == 3

    time.sleep(0.6)  # past response_interval_ms: a press would count if the device let it
    device.press(2)
    time.sleep(1.5)
    counted = db_rows(home, "SELECT COUNT(*) FROM ratings WHERE binding = 'session'")
    assert counted == [(1,)]

    # The rated session's retained screen is replaced by the idle screen.
    watch = Retained(home, key)
    try:
        fields, retained = watch.last()
        assert retained and fields[1] == messages.IDLE and fields[7] is True
        assert fields[4] == "s1"

        off = hostd(home, "staff", "off", "--window", WINDOW)
        assert off.exit_code == 0, off.output
        wait_for(lambda: len(watch.got) >= 2, 5)
        fields, _ = watch.last()
        assert fields[1] == messages.IDLE and fields[7] is False and fields[4] is None
    finally:
        watch.close()

    def paused_shown():  # 暂停服务 in red, firmware/display.py _idle
        reds = 0
        for y in range(100, 132, 2):
            for x in range(96, 224, 2):
                reds += panel.rgb(x, y)[0] > 120 and panel.rgb(x, y)[1] < 60
        return reds > 30

    wait_for(paused_shown, 5, 0.05)


def test_a_two_line_item_name_reaches_the_panel(hall):
    home, device, _key = hall
    renderer = render.Renderer()
    answer = api(
        home,
        "POST",
        "/sessions",
        {"window": WINDOW, "item_code": "B002", "item_name": LONG_ITEM, "staff_id": "s1"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["message_bytes"] < messages.MAX_HOST_MESSAGE
    wait_shown(home, device, renderer.item(LONG_ITEM), renderer.staff("张三丰", "0042"))


def test_cli_says_how_to_start_hostd_when_it_is_not_running(tmp_path):
    home = make_home(tmp_path / "home")
    result = hostd(home, "session", "start", "--window", "07", "--item-code", "A", "--item-name", "户口迁移")
    assert result.exit_code == 1
    assert "hostd is not running" in result.output and "run`" in result.output
    assert "Traceback" not in result.output
