"""/api/v1 through FastAPI's TestClient on a real Store (no broker: nothing is pushed),
and the committed OpenAPI document docs/openapi.json."""

import io
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from PIL import Image

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.rules import staff
from hostd.web.api import ensure_token, openapi_json
from hostd.web.app import create_app

OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


@pytest.fixture
def api(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w07-a", "--window", "07").exit_code == 0
    store = Store(home.db_path)
    store.run(lambda db: staff.add_staff(db, "s1", "张三", "0042", 0))
    client = TestClient(create_app(Context(home, home.config(), store)))
    client.headers["Authorization"] = "Bearer " + ensure_token(home)
    yield client
    store.close()


def post(api, **body):
    base = {"window": "07", "item_code": "A001", "item_name": "户口迁移", "staff_id": "s1"}
    base.update(body)
    return api.post("/api/v1/sessions", json=base)


def test_a_session_is_created_and_read_back(api):
    answer = post(api, cases=[{"case_id": "c1"}, {"case_id": "c2"}, {"case_id": "c3"}])
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["state"] == "open" and made["device_id"] == "w07-a" and len(made["cases"]) == 3
    assert made["pushed"] is False  # no broker in this test
    got = api.get("/api/v1/sessions/%s" % made["session_id"]).json()
    assert got["session_id"] == made["session_id"] and got["staff_no"] == "0042"


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({"window": "99"}, 404, "unknown_window"),
        ({"item_name": " "}, 422, "empty_item_name"),
        ({"staff_id": "nobody"}, 404, "unknown_staff"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(api, body, status, error):
    answer = post(api, **body)
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert detail["error"] == error and " / " in detail["reason"]


def qr_text(png):
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_a_window_without_a_device_is_rated_through_its_link(api):
    api.app.state.ctx.store.run(lambda db: staff.add_window(db, "h1", "09"))
    answer = post(api, window="09", item_name="个体工商户登记")
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["device_id"] is None and made["pushed"] is False and made["state"] == "open"
    link = made["rate_url"]
    assert "/r/" in link and api.get("/api/v1/sessions/%s" % made["session_id"]).json()["rate_url"] == link
    page = api.get(urlsplit(link).path)
    assert page.status_code == 200 and "个体工商户登记" in page.text  # the citizen's page opens
    png = api.get("/api/v1/sessions/%s/qr.png?size=300" % made["session_id"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.mode == "1" and image.width <= 300 and image.info["dpi"][0] == pytest.approx(203, abs=1)
    assert qr_text(png.content) == [link]  # a phone reads the receipt's code as the link
    small = api.get("/api/v1/sessions/%s/qr.png" % made["session_id"]).content
    assert Image.open(io.BytesIO(small)).width <= 240 and qr_text(small) == [link]
    assert api.get("/api/v1/sessions/%s/qr.png?size=10" % made["session_id"]).status_code == 422
    cancelled = api.post("/api/v1/sessions/%s/cancel" % made["session_id"], json={"reason": "录入错误"})
    assert cancelled.status_code == 200 and cancelled.json()["rate_url"] is None
    closed = api.get("/api/v1/sessions/%s/qr.png" % made["session_id"])
    assert closed.status_code == 409 and closed.json()["detail"]["error"] == "session_not_open"
    assert "已取消" in closed.json()["detail"]["reason"]


def test_a_taken_case(api):
    assert post(api, cases=[{"case_id": "c1"}]).status_code == 201
    taken = post(api, cases=[{"case_id": "c1"}])
    assert taken.status_code == 409 and "c1" in taken.json()["detail"]["reason"]
    assert api.get("/api/v1/sessions/nope").status_code == 404


def test_duty_on_and_off(api):
    on = api.post("/api/v1/windows/07/duty", json={"staff_id": "s1"})
    assert on.status_code == 200 and on.json()["serving"] is True
    assert api.get("/api/v1/windows").json()[0]["staff_name"] == "张三"
    off = api.delete("/api/v1/windows/07/duty")
    assert off.json()["serving"] is False and off.json()["staff_id"] is None
    assert api.post("/api/v1/windows/07/duty", json={"staff_id": "x"}).status_code == 404


def test_a_session_is_cancelled_once_with_a_reason(api):
    made = post(api).json()
    url = "/api/v1/sessions/%s/cancel" % made["session_id"]
    assert api.post(url, json={"reason": ""}).status_code == 422
    done = api.post(url, json={"reason": "办件信息录入错误"})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "cancelled" and done.json()["cancel_reason"] == "办件信息录入错误"
    again = api.post(url, json={"reason": "录入错误"})
    assert again.status_code == 409 and again.json()["detail"]["error"] == "session_not_open"
    assert api.post("/api/v1/sessions/s-none/cancel", json={"reason": "x"}).status_code == 404


def test_no_token_no_entry(api):
    del api.headers["Authorization"]
    assert post(api).status_code == 401
    api.headers["Authorization"] = "Bearer wrong"
    assert api.get("/api/v1/windows").status_code == 401


def test_the_committed_openapi_document_is_current(api):
    text = openapi_json()
    served = api.get("/api/openapi.json").json()["paths"]
    paths = json.loads(text)["paths"]
    assert {
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/cancel",
        "/api/v1/sessions/{session_id}/qr.png",
        "/api/v1/windows",
        "/api/v1/windows/{window}/duty",
        "/api/v1/alerts",
        "/api/v1/screens/refresh",
        "/api/v1/paper",
        "/api/v1/cases/{case_id}/finished",
        "/api/v1/unresolved",
        "/api/v1/unresolved/{report_id}",
    } == set(paths)
    assert set(paths) <= set(served)
    if os.environ.get("UPDATE_OPENAPI"):
        OPENAPI.parent.mkdir(exist_ok=True)
        OPENAPI.write_text(text)
    assert OPENAPI.exists() and OPENAPI.read_text() == text, (
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 .venv/bin/pytest tests/test_api.py"
    )


class Recorder:
    """Stands in for the collector as ctx.publisher: keeps what would be published."""

    def __init__(self):
        self.sent = []

    def publish_signed(self, hall, device, leaf, fields, retain=False):
        self.sent.append((device, leaf, fields[1], retain))
        return b"x" * 100


def test_every_screen_is_published_again_on_request(api):
    ctx = api.app.state.ctx
    ctx.store.run(lambda db: staff.add_window(db, ctx.hall, "07"))  # w07-a's window: an idle screen
    assert hostd(ctx.home, "device", "add", "w08-a", "--window", "08").exit_code == 0  # no window row
    answer = api.post("/api/v1/screens/refresh")
    assert answer.status_code == 200 and answer.json()["devices"] == 2 and answer.json()["pushed"] == 0
    ctx.publisher = Recorder()
    made = post(api).json()  # w07-a shows a session
    ctx.publisher.sent.clear()
    answer = api.post("/api/v1/screens/refresh").json()
    assert (
        answer["devices"] == 2 and answer["pushed"] == 1
    )  # w08-a's window is unknown: its own screen stands
    assert ctx.publisher.sent == [("w07-a", "session", "S", True)]
    api.post("/api/v1/sessions/%s/cancel" % made["session_id"], json={"reason": "办错了"})
    ctx.publisher.sent.clear()
    api.post("/api/v1/screens/refresh")
    assert ctx.publisher.sent == [("w07-a", "session", "I", True)]  # back to the idle screen
    del api.headers["Authorization"]
    assert api.post("/api/v1/screens/refresh").status_code == 401


def test_a_session_pushed_during_a_refresh_is_not_overwritten_by_its_idle_screen(api):
    """The refresh reads every device's screen first, then pushes one by one: a
    session that opens meanwhile keeps its screen (its push is newer)."""
    from hostd.devices import push
    from hostd.rules import sessions

    ctx = api.app.state.ctx
    for window in ("07", "08"):
        ctx.store.run(lambda db, w=window: staff.add_window(db, ctx.hall, w))
    assert hostd(ctx.home, "device", "add", "w08-a", "--window", "08").exit_code == 0
    keeper = push.keeper(ctx)

    class OpensASession(Recorder):
        def publish_signed(self, hall, device, leaf, fields, retain=False):
            if device == "w07-a" and not self.sent:  # mid-refresh, a service ends at window 08
                made = ctx.store.run(
                    lambda db: sessions.get(
                        db,
                        sessions.create(db, ctx.config, ctx.hall, "08", "A1", "户口迁移", "s1", [], 0)[
                            "session_id"
                        ],
                    )
                )
                keeper.push_session(made)
            return super().publish_signed(hall, device, leaf, fields, retain)

    ctx.publisher = OpensASession()
    answer = api.post("/api/v1/screens/refresh").json()
    assert answer["devices"] == 2
    assert [(d, kind) for d, _leaf, kind, _r in ctx.publisher.sent] == [("w08-a", "S"), ("w07-a", "I")]
    assert keeper.showing.get("w08-a") is not None  # the keeper still puts its idle screen back later
