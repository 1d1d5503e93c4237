"""Reset causes on the fleet page and the reboot alert (alerts.reboots_per_hour).

The heartbeats go through the collector's own upsert_status (as hostd stores
them), into a seeded hall whose pages run under FastAPI's TestClient.
"""

import time

from hostd_support import hostd
from test_pages_auth import client_for, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.recording.device_ratings import upsert_status
from protocol import messages


def heartbeat(ctx, device, reset, boots, at, outbox=0):
    status = {
        "device": device,
        "state": messages.ONLINE,
        "fw": "0.1.0",
        "outbox": outbox,
        "heap": 60000,
        "synced": True,
        "uptime": 5,
        "next_seq": 12,
        "reset": reset,
        "boots": boots,
    }
    ctx.store.run(lambda db: upsert_status(db, status, "h1", at))


def test_each_reboot_is_counted_once_and_named(hall):  # noqa: F811
    ctx, _made = hall
    now = int(time.time())
    heartbeat(ctx, "w01-a", 1, 1, now - 120)
    heartbeat(ctx, "w01-a", 1, 1, now - 90)  # the same boot: no reboot
    heartbeat(ctx, "w01-a", 3, 2, now - 60)
    with ctx.store.read() as db:
        rows = list(db.query("SELECT cause, boots FROM device_reboots WHERE device_id = 'w01-a' ORDER BY id"))
        fleet = list(db.query("SELECT reset_cause, boots, reboots_hour FROM fleet WHERE device_id = 'w01-a'"))
    assert [(r["cause"], r["boots"]) for r in rows] == [("power", 1), ("watchdog", 2)]
    assert fleet == [{"reset_cause": "watchdog", "boots": 2, "reboots_hour": 2}]
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/fleet").text
    assert "看门狗（第 2 次启动，近一小时 2 次）" in page
    assert 'id="reboot-alert"' not in page  # 2 is not more than 3


def test_a_device_rebooting_too_often_raises_the_alert(hall):  # noqa: F811
    ctx, _made = hall
    now = int(time.time())
    for boot in range(1, 5):
        heartbeat(ctx, "w02-a", 6, boot, now - 600 + boot * 60)
    heartbeat(ctx, "w01-a", 6, 1, now - 7200)  # an old reboot does not count
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/fleet").text
    assert 'id="reboot-alert"' in page
    alert = page.split('id="reboot-alert"')[1].split("</div>")[0]
    assert "w02-a（W02 窗口，近一小时 4 次，最近一次：程序异常）" in alert and "w01-a" not in alert
    assert "超过每小时 3 次" in alert


def test_the_alert_threshold_is_a_setting(tmp_path):
    from hostd_support import make_home

    home = make_home(tmp_path / "home")
    text = home.config_path.read_text()
    assert "reboots_per_hour = 3" in text  # hostd init writes every setting with its default
    home.config_path.write_text(text.replace("reboots_per_hour = 3", "reboots_per_hour = 0"))
    result = hostd(home, "device", "list")
    assert result.exit_code == 2
    assert "alerts.reboots_per_hour" in result.output and "1-1000" in result.output


def test_a_status_carries_reset_and_boots_and_the_old_shape_still_decodes():
    from protocol.errors import Malformed

    key = bytes(range(32))
    new = [messages.VERSION, messages.STATUS, "w01-a", "online", "0.1.0", 0, 60000, True, 5, 12, 3, 7]
    fields = messages.decode(messages.sign(key, new), (key,), "w01-a", messages.MAX_DEVICE_MESSAGE, False)
    assert messages.as_dict(fields)["reset"] == 3 and messages.as_dict(fields)["boots"] == 7
    old = new[:10]
    assert "reset" not in messages.as_dict(
        messages.decode(messages.sign(key, old), (key,), "w01-a", messages.MAX_DEVICE_MESSAGE, False)
    )
    for bad in (new[:11], new + [1], new[:10] + ["3", 7]):
        try:
            messages.decode(messages.sign(key, bad), (key,), "w01-a", messages.MAX_DEVICE_MESSAGE, False)
        except Malformed:
            continue
        raise AssertionError("decoded %r" % (bad,))


def test_a_full_outbox_is_told_to_the_administrator_not_the_citizen(hall):  # noqa: F811
    """The device's screen sends the citizen to the QR code; the words for
    whoever can fix it are on the fleet page."""
    ctx, _made = hall
    now = int(time.time())
    heartbeat(ctx, "w01-a", 1, 1, now - 60, outbox=10000)
    heartbeat(ctx, "w02-a", 1, 1, now - 60, outbox=8500)
    client = client_for(ctx)
    login(client, "zhao")
    alert = client.get("/fleet").text.split('id="outbox-alert"')[1].split("</div>")[0]
    assert "w01-a（W01 窗口，10000 / 10000 条待发，<b>已满，按键评价已暂停" in alert
    assert "w02-a（W02 窗口，8500 / 10000 条待发）" in alert
    heartbeat(ctx, "w01-a", 1, 1, now - 30, outbox=12)
    heartbeat(ctx, "w02-a", 1, 1, now - 30, outbox=7999)
    assert 'id="outbox-alert"' not in client.get("/fleet").text
