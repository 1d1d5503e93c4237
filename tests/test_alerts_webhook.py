"""Alerts to the hall's group chat (hostd/alerts/webhook.py): WeCom and
DingTalk robot stand-ins on a real HTTP port refuse what the real robots
refuse (tests/robot_receiver.py); the news is cut to their size, sent within
their rate, signed, and nothing is lost while a robot refuses. The last test
runs `hostd run` with a webhook and reads the alert on the robot, the API,
/metrics and the CLI.
"""

import sqlite3

import httpx
import pytest
from hostd_helpers import HostdProcess, wait_for
from hostd_support import hostd, make_home
from robot_receiver import Robot
from test_alerts import Clock, at, hall  # noqa: F401  (hall: the fixture)

from hostd.alerts import ledger, webhook


def news_rows(count, text="评价器 d%d 已 15 分钟没有消息"):
    return [
        (
            {
                "id": i,
                "key": "device_silent:d%d" % i,
                "kind": "device_silent",
                "subject": "d%d" % i,
                "message": (text % i) + "。" * 40,
                "raised_at": int(at("2026-12-02 10:00")),
                "cleared_at": None,
            },
            "raised",
        )
        for i in range(count)
    ]


def test_wecom_messages_fit_the_robot_and_its_rate(tmp_path):
    clock = Clock(at("2026-12-02 10:00"))
    robot = Robot("wecom", clock=clock)
    try:
        settings = {"url": robot.url, "kind": "wecom", "secret": "", "keyword": ""}
        sender = webhook.Sender(clock=clock)
        news = news_rows(400)
        delivered = sender.deliver(settings, "h1", news)
        assert 0 < len(delivered) < len(news)  # this minute's share, no more
        assert robot.refusals == []
        assert len(robot.messages) == webhook.PER_MINUTE
        assert all(len(m.encode()) <= 2048 and m.startswith("【好差评告警】") for m in robot.messages)
        rest = news[len(delivered) :]
        while rest:
            clock.t += 61
            part = sender.deliver(settings, "h1", rest)
            assert part
            rest = rest[len(part) :]
        assert robot.refusals == []
        text = "\n".join(robot.messages)
        assert all(("评价器 d%d " % i) in text for i in range(400))  # every alert, once
        assert sum(text.count("评价器 d%d " % i) for i in range(400)) == 400
    finally:
        robot.close()


def test_the_robot_stand_in_refuses_what_the_real_one_refuses(tmp_path):
    clock = Clock(at("2026-12-02 10:00"))
    robot = Robot("wecom", clock=clock)
    try:
        too_long = "长" * 700  # 2100 bytes
        assert (
            httpx.post(robot.url, json={"msgtype": "text", "text": {"content": too_long}}).json()["errcode"]
            == 40058
        )
        assert httpx.post(robot.url, json={"msgtype": "markdown"}).json()["errcode"] == 40008
        wrong = robot.url.replace("robot-key-1", "other")
        assert (
            httpx.post(wrong, json={"msgtype": "text", "text": {"content": "x"}}).json()["errcode"] == 93000
        )
        for _ in range(20):
            assert (
                httpx.post(robot.url, json={"msgtype": "text", "text": {"content": "x"}}).json()["errcode"]
                == 0
            )
        assert (
            httpx.post(robot.url, json={"msgtype": "text", "text": {"content": "x"}}).json()["errcode"]
            == 45009
        )
    finally:
        robot.close()


def test_dingtalk_signed_with_its_keyword(tmp_path):
    clock = Clock(at("2026-12-02 10:00"))
    robot = Robot("dingtalk", secret="SEC0123456789abcdef", keywords=("好差评告警",), clock=clock)
    try:
        good = {"url": robot.url, "kind": "dingtalk", "secret": "SEC0123456789abcdef", "keyword": ""}
        sender = webhook.Sender(clock=clock)
        assert len(sender.deliver(good, "h1", news_rows(2))) == 2
        assert len(robot.messages) == 1 and "评价器 d1" in robot.messages[0]
        with pytest.raises(webhook.WebhookError, match="310000"):  # a wrong secret: sign not match
            sender.deliver(dict(good, secret="SECwrong"), "h1", news_rows(1))
        unsigned = Robot("dingtalk", secret="SEC0123456789abcdef", clock=clock)
        try:
            with pytest.raises(webhook.WebhookError, match="310000"):  # no 加签 at all
                sender.deliver(dict(good, url=unsigned.url, secret=""), "h1", news_rows(1))
        finally:
            unsigned.close()
        picky = Robot("dingtalk", keywords=("机房",), clock=clock)
        try:
            settings = dict(good, url=picky.url, secret="")
            with pytest.raises(webhook.WebhookError, match="keywords not in content"):
                sender.deliver(settings, "h1", news_rows(1))
            assert len(sender.deliver(dict(settings, keyword="机房"), "h1", news_rows(1))) == 1
        finally:
            picky.close()
    finally:
        robot.close()


def test_a_refusing_robot_loses_nothing(hall, tmp_path):
    robot = Robot("dingtalk", secret="SECright", clock=hall.clock)
    try:
        webhook.save(hall.home, robot.url, "dingtalk", "SECwrong")
        watch = hall.watch(sender=webhook.Sender(clock=hall.clock))
        hall.clock.t += 3600
        raised, _ = watch.once()
        assert raised and robot.messages == [] and robot.refusals
        assert watch.failing and "310000" in watch.failing
        with hall.store.read() as db:
            assert len(ledger.unsent(db)) == len(raised)  # waiting, not lost
        webhook.save(hall.home, robot.url, "dingtalk", "SECright")  # the admin fixes the secret
        watch.once()
        assert watch.failing is None
        text = "\n".join(robot.messages)
        assert all(r["message"][:20] in text for r in raised)
        with hall.store.read() as db:
            assert ledger.unsent(db) == []
        hall.heard("d1", hall.clock.t)
        watch.once()
        assert "已恢复" in robot.messages[-1] and "d1" in robot.messages[-1]
        assert sum("已恢复" in m for m in robot.messages) == 1
    finally:
        robot.close()


def test_a_json_endpoint_gets_the_alerts_as_data(tmp_path):
    robot = Robot("json")
    try:
        settings = {"url": robot.url, "kind": "json", "secret": "", "keyword": ""}
        delivered = webhook.Sender().deliver(settings, "h1", news_rows(3))
        assert len(delivered) == 3
        (body,) = robot.messages
        assert body["hall"] == "h1" and [a["subject"] for a in body["alerts"]] == ["d0", "d1", "d2"]
        assert body["alerts"][0]["state"] == "raised" and "评价器 d0" in body["alerts"][0]["text"]
    finally:
        robot.close()


def test_the_webhook_commands(tmp_path):
    home = make_home(tmp_path / "home")
    robot = Robot("wecom")
    try:
        assert "no webhook" in hostd(home, "alerts", "webhook").output
        bad = hostd(home, "alerts", "webhook", "ftp://x")
        assert bad.exit_code != 0 and "http(s)://" in bad.output and "Traceback" not in bad.output
        wrong = hostd(home, "alerts", "webhook", robot.url, "--secret", "SEC1")
        assert wrong.exit_code != 0 and "only for --kind dingtalk" in wrong.output
        done = hostd(home, "alerts", "webhook", robot.url)
        assert done.exit_code == 0 and "robot-key-1" not in done.output  # the key is not shown
        assert oct((home.keys / webhook.FILE).stat().st_mode & 0o777) == "0o600"
        test = hostd(home, "alerts", "test")
        assert test.exit_code == 0, test.output
        assert len(robot.messages) == 1 and "测试消息" in robot.messages[0]
        robot.token = "revoked"  # the robot was removed from the group
        failed = hostd(home, "alerts", "test")
        assert failed.exit_code != 0 and "93000" in failed.output and "Traceback" not in failed.output
        assert hostd(home, "alerts", "webhook", "--off").exit_code == 0
        assert "no webhook" in hostd(home, "alerts", "test").output
        assert hostd(home, "alerts", "list").output.strip() == "no open alerts"
        with sqlite3.connect(home.db_path) as db:
            db.execute(
                "INSERT INTO alerts (key, kind, subject, message, raised_at) VALUES"
                " ('disk_low:/', 'disk_low', '/', '磁盘空间不足：很久以前', 1)"
            )
        assert "很久以前" in hostd(home, "alerts", "list", "--days", "1").output  # open: listed
        (home.keys / webhook.FILE).write_text('{"url": "http://x"}')
        broken = hostd(home, "alerts", "webhook")
        assert broken.exit_code != 0 and "set it again" in broken.output and "Traceback" not in broken.output
    finally:
        robot.close()


def test_hostd_run_raises_to_the_robot_the_dashboard_the_api_and_metrics(tmp_path):
    home = make_home(tmp_path / "home")
    home.set("alerts", "disk_free_pct", 99)  # no test disk is that empty
    home.set("alerts", "check_seconds", 2)
    home.set("log", "level", "DEBUG")
    robot = Robot("wecom")
    assert hostd(home, "alerts", "webhook", robot.url).exit_code == 0
    daemon = HostdProcess(home)
    try:
        wait_for(lambda: any("磁盘空间不足" in m for m in robot.messages), timeout=60)
        daemon.wait_for("alert raised [disk_low:")
        web = home.config()["web"]
        base = "http://127.0.0.1:%d" % web["port"]
        token = (home.keys / "api-token").read_text().strip()
        alerts = httpx.get(base + "/api/v1/alerts", headers={"Authorization": "Bearer " + token}).json()
        assert [a["kind"] for a in alerts if a["kind"] == "disk_low"] == ["disk_low"]
        metrics = httpx.get(base + "/metrics").text
        assert 'hostd_alerts_open{kind="disk_low"} 1.0' in metrics
        listed = hostd(home, "alerts", "list")
        assert "磁盘空间不足" in listed.output
        wait_for(lambda: daemon.text().count("alerts checked") >= 2, timeout=60)  # a later check
        assert sum("磁盘空间不足" in m for m in robot.messages) == 1  # sent once
        assert robot.key_seen_in_log(daemon.text()) is False  # the robot's key stays out of the log
    finally:
        assert daemon.stop() == 0
        robot.close()
    with sqlite3.connect(home.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM alerts WHERE kind = 'disk_low'").fetchone()[0] == 1
