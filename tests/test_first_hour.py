"""The first hour in a hall, as docs/hall-setup.md tells it, on a fresh home.

Every step by the guide's own commands (CLI through click, on a real home):
init with --public-url (loopback here), a unit, a window, a staff member,
accounts, a device; `hostd run` as a real process with its Mosquitto; the
staff member on duty; the simulated 评价器 (the real firmware) on the
window; a session started. Then a phone-sized Chromium reads the QR code
off the device's own screen (decoded from its panel, as a phone's camera
does), opens the link and rates; and the supervisor logs in on a desktop
browser and sees the rating. Screenshots go to docs/screens/ with
UPDATE_SCREENS=1 (first-hour-*.png).
"""

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner
from hostd_helpers import HostdProcess, wait_for
from PIL import Image

from conftest import free_port
from hostd.base.home import Home
from hostd.cli import cli
from simulator.device import SimDevice

PASSWORD = "Hall-setup-2026!"
SCREENS = (
    Path(__file__).resolve().parent.parent / "docs" / "screens"
    if os.environ.get("UPDATE_SCREENS")
    else Path(tempfile.gettempdir()) / "hcp-screens"
)


def hostd(home, *args, stdin=None):
    result = CliRunner().invoke(cli, ["--home", str(home.path), *args], input=stdin)
    assert result.exit_code == 0, "hostd %s:\n%s" % (" ".join(args), result.output)
    return result.output


def shot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / ("first-hour-%s.png" % name)), full_page=True)


def qr_link(device, workdir):
    """The link in the QR code on the device's screen, read as a phone reads it."""
    path = workdir / "device.png"
    device.screenshot(str(path))
    image = Image.open(path).convert("L")
    image = image.resize((image.width * 3, image.height * 3), Image.NEAREST)  # a camera's many pixels
    found = [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    return found[0] if found else None


def test_the_first_hour_by_the_guide(tmp_path, browser):
    web_port, broker_port = free_port(), free_port()
    public = "http://127.0.0.1:%d/" % web_port
    home = Home(tmp_path / "hall")

    # 2. init with the address phones reach (loopback in a test)
    out = hostd(home, "init", "--hall", "hall01", "--public-url", public, "--web-port", str(web_port),
                "--broker-port", str(broker_port))  # fmt: skip
    assert "QR codes and supervisors use %s" % public in out
    # 4-6. unit, window, staff, accounts, a device
    hostd(home, "unit", "add", "u-gaj", "--name", "公安局")
    hostd(home, "window", "add", "01", "--name", "户籍窗口", "--unit", "u-gaj")
    hostd(home, "staff", "add", "s01", "--name", "张晓明", "--staff-no", "0042", "--unit", "u-gaj")
    hostd(home, "user", "add", "zhao", "--role", "supervisor", stdin=PASSWORD + "\n")
    hostd(home, "device", "add", "w01-a", "--window", "01")
    config = json.loads(hostd(home, "device", "show-config", "w01-a"))

    # 3. run: its own pages are reachable through the public URL
    daemon = HostdProcess(home)
    device = None
    try:
        assert "rate-later links: %s reaches this hostd" % public in daemon.text()
        hostd(home, "staff", "on", "s01", "--window", "01")
        device = SimDevice(tmp_path / "flash", "w01-a")
        device.write_config({**config, "heartbeat_s": 5})  # what `hostd device provision` writes
        device.start(record_panel=True)
        assert device.wait_ready(30), device.log_text()
        assert device.wait_log("link: connected", 30), device.log_text()

        # 7. the first service: a session from the business system (here its CLI)
        out = hostd(home, "session", "start", "--window", "01", "--item-code", "A001", "--item-name",
                    "户口迁移", "--case", "2026-0001")  # fmt: skip
        session_id = re.search(r"session (\S+) at window 01", out).group(1)
        link = None
        deadline = time.monotonic() + 20
        while link is None and time.monotonic() < deadline:
            time.sleep(0.3)
            link = qr_link(device, tmp_path)
        assert link and link.startswith(public + "r/"), link
        assert "rate-later link (print it on the receipt, 办件回执): %s" % link in out  # the same link

        # The citizen's phone opens it and rates 满意 with a word of thanks.
        phone = browser.new_context(
            viewport={"width": 390, "height": 780}, locale="zh-CN", device_scale_factor=2
        )
        page = phone.new_page()
        page.set_default_timeout(10000)
        assert page.goto(link).status == 200
        assert "户口迁移" in page.text_content("body") and "张晓明" in page.text_content("body")
        shot(page, "phone-rate")
        page.check("input[name=level][value='4']")
        page.fill("textarea[name=comment]", "办得很快")
        page.click("#rate button[type=submit]")
        page.wait_for_selector("#thanks")
        shot(page, "phone-thanks")
        phone.close()

        # The supervisor, on a PC of the hall, sees it.
        desk = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = desk.new_page()
        page.set_default_timeout(10000)
        page.goto(public + "login")
        page.fill("input[name=username]", "zhao")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/dashboard$"))
        assert page.inner_text("#today-total") == "1"
        assert page.locator("#link-warning").count() == 0  # the QR links reach this hostd
        shot(page, "dashboard")
        page.click("header nav >> text=评价明细")
        listed = page.inner_text("main")
        assert "张晓明" in listed and "满意" in listed and "扫码评价" in listed
        shot(page, "ratings")
        desk.close()
        shown = hostd(home, "session", "show", session_id)
        assert "已评价" in shown and "rated 满意 (扫码评价)" in shown
        # The device's screen goes back to who is serving, once the session is rated.
        wait_for(lambda: qr_link(device, tmp_path) is None, 20, 0.3)
        # A session reported in error is cancelled: off the device's screen, no rating.
        out = hostd(home, "session", "start", "--window", "01", "--item-code", "A002", "--item-name",
                    "身份证换领", "--case", "2026-0002")  # fmt: skip
        wrong = re.search(r"session (\S+) at window 01", out).group(1)
        wait_for(lambda: qr_link(device, tmp_path) is not None, 20, 0.3)
        assert "cancelled (办件信息录入错误)" in hostd(
            home, "session", "cancel", wrong, "--reason", "办件信息录入错误"
        )
        wait_for(lambda: qr_link(device, tmp_path) is None, 20, 0.3)
        assert "已取消" in hostd(home, "session", "show", wrong)
        # hostd goes away: the idle device shows the window's standing code (the
        # counter sticker's, sent with its idle screen), so a citizen can still rate
        daemon.stop()
        wait_for(lambda: (qr_link(device, tmp_path) or "").startswith(public + "w/"), 60, 0.5)
    finally:
        if device is not None:
            device.stop()
        daemon.stop()
