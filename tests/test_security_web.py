"""The hall's web surface (issue 17, findings 7, 8, 9): security headers on
every page, banners only from the server, /status and /api/docs private,
and nothing loaded from outside the hall."""

import re

import pytest
from fastapi.testclient import TestClient
from hostd_support import make_home
from pages_seed import PASSWORD, open_context, seed

from hostd.web.api import ensure_token
from hostd.web.app import create_app

PAGES = ("/dashboard", "/workorders", "/appeals", "/ratings", "/fleet", "/export", "/offline", "/upstream")


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home")
    ctx = open_context(home)
    ctx.store.run(lambda db: seed(db))
    yield home, ctx
    ctx.store.close()


def logged_in(ctx, username="zhao"):
    client = TestClient(create_app(ctx), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token, "next": "/"})
    return client


def test_every_page_carries_the_security_headers(hall):
    home, ctx = hall
    client = logged_in(ctx)
    for path in PAGES + ("/login", "/status", "/api/docs", "/static/pages.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        )
        assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        if "text/html" in response.headers["content-type"]:
            assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), "inline script on %s" % path
            assert not re.search(r"""(src|href)=["']https?://""", response.text), "outside asset on %s" % path


def test_the_public_display_may_be_framed_as_configured(hall):
    home, ctx = hall
    display = TestClient(create_app(ctx)).get("/display")
    assert display.status_code == 200
    assert "frame-ancestors 'self'" in display.headers["content-security-policy"]
    assert "x-frame-options" not in display.headers
    ctx.config["web"]["display_frame_ancestors"] = "https://screen.hall.example"
    framed = TestClient(create_app(ctx)).get("/display")
    assert "frame-ancestors https://screen.hall.example" in framed.headers["content-security-policy"]


def test_banners_come_only_from_the_server(hall):
    home, ctx = hall
    client = logged_in(ctx)
    page = client.get("/dashboard?err=账号即将停用，请拨打12345678&ok=中奖了")
    assert "账号即将停用" not in page.text and "中奖了" not in page.text


def test_status_and_the_api_docs_need_a_login_or_the_token(hall):
    home, ctx = hall
    anonymous = TestClient(create_app(ctx), follow_redirects=False)
    assert anonymous.get("/status").status_code == 401
    assert anonymous.get("/api/openapi.json").status_code == 401
    assert anonymous.get("/api/docs", headers={"Accept": "text/html"}).status_code == 303
    token = {"Authorization": "Bearer " + ensure_token(home)}
    assert anonymous.get("/status", headers=token).status_code == 200
    assert "/api/v1/sessions" in anonymous.get("/api/openapi.json", headers=token).json()["paths"]
    assert anonymous.get("/display").status_code == 200  # the public screen stays public


def test_swagger_ui_is_served_from_the_package(hall):
    home, ctx = hall
    client = logged_in(ctx)
    page = client.get("/api/docs").text
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", page)
    assert assets and all(a.startswith("/") for a in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/api/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/api/docs/assets/index.html").status_code == 404
