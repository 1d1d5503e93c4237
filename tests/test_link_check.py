"""Links that work from day one (issue 19): `hostd init --public-url` sets
where the pages listen; `hostd run` checks that the QR codes' base URL
reaches its own web server, and the dashboard says so when it does not.
Loopback addresses only."""

import logging
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from hostd_support import hostd
from test_pages_auth import client_for, hall, login, seeded_home  # noqa: F401  (fixtures)

from conftest import free_port
from hostd.base.home import Home
from hostd.web import link_check
from hostd.web.app import create_app
from hostd.web.server import WebServer


def one_line_error(result, *words):
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), result.output


def test_init_public_url_sets_where_the_pages_listen(tmp_path):
    plain = Home(tmp_path / "plain")
    shown = hostd(plain, "init", "--hall", "h1")
    assert shown.exit_code == 0 and plain.config()["web"]["listen"] == "127.0.0.1"
    assert "listen on 127.0.0.1:8080 only: phones cannot open the QR codes' links" in shown.output
    home = Home(tmp_path / "new")
    made = hostd(home, "init", "--hall", "h2", "--public-url", "http://192.168.1.10:8080")
    assert made.exit_code == 0, made.output
    web = home.config()["web"]
    assert (web["public_url"], web["listen"]) == ("http://192.168.1.10:8080/", "0.0.0.0")
    assert "QR codes and supervisors use http://192.168.1.10:8080/" in made.output
    local = Home(tmp_path / "local")
    assert hostd(local, "init", "--public-url", "http://127.0.0.1:8080/").exit_code == 0
    assert local.config()["web"]["listen"] == "127.0.0.1"
    one_line_error(hostd(Home(tmp_path / "bad"), "init", "--public-url", "192.168.1.10:8080"), "http://")


def test_the_check_finds_its_own_server_and_a_wrong_url(hall, caplog):  # noqa: F811
    ctx, _made = hall
    port = free_port()
    server = WebServer(create_app(ctx), "127.0.0.1", port).start()
    try:
        ctx.config["web"]["public_url"] = "http://127.0.0.1:%d/" % port
        assert link_check.check(ctx) == {"ok": True, "url": "http://127.0.0.1:%d/" % port, "why": ""}
        other = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)  # not a hostd
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            ctx.config["web"]["public_url"] = "http://127.0.0.1:%d/" % other.server_address[1]
            elsewhere = link_check.check(ctx, timeout=2)
        finally:
            other.shutdown()
            other.server_close()
        assert elsewhere["ok"] is False and "不是本机 hostd（HTTP 404）" in elsewhere["why"]
        ctx.config["web"]["public_url"] = "http://127.0.0.1:%d/" % free_port()  # nothing there
        with caplog.at_level(logging.WARNING, logger="hostd.web"):
            result = link_check.check(ctx, timeout=2)
        assert result["ok"] is False and "无法连接" in result["why"]
        assert any("does not reach this hostd" in r.getMessage() for r in caplog.records)
    finally:
        server.stop()
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/dashboard").text
    assert 'id="link-warning"' in page and result["url"] in page
    ctx.link_check = {"ok": True, "url": result["url"], "why": ""}
    assert 'id="link-warning"' not in client.get("/dashboard").text
