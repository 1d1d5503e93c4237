"""一件事, 帮办代办 and 办结 (issue 18, items 5, 6 and 7), through /api/v1 and the
rate-later page on a real Store; what goes upstream read from the outbox."""

import json
import re

import pytest
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from session_rows import add_device_rating
from test_api import api, post  # noqa: F401  (the /api/v1 client on a real Store, and its session post)

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.devices import push
from hostd.recording import channels
from hostd.rules import sessions, staff
from hostd.web.api import ensure_token
from hostd.web.app import create_app


def outbox(api, kind):
    with api.app.state.ctx.store.read() as db:
        rows = db.conn.execute(
            "SELECT body FROM upstream_outbox WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


THEME = {
    "item_code": "YJS-001",
    "item_name": "我要开餐馆",
    "items": [
        {"item_code": "B101", "item_name": "营业执照", "cases": [{"case_id": "c1"}, {"case_id": "c2"}]},
        {"item_code": "B202", "item_name": "食品经营许可"},
    ],
}


def test_a_theme_is_rated_once_and_goes_up_once_per_case_under_its_item(api):
    answer = post(api, **THEME)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert [i["item_code"] for i in made["items"]] == ["B101", "B202"]
    assert [c["case_id"] for c in made["items"][0]["cases"]] == ["c1", "c2"]
    assert len(made["cases"]) == 3  # B202 came without a case id: hostd numbered one
    ctx = api.app.state.ctx
    with ctx.store.read() as db:
        session = sessions.get(db, made["session_id"])
    shown = push.session_fields(ctx, session, ctx.clock.now())
    assert shown[5] == "我要开餐馆（一件事·2项）"  # the device shows the theme and the item count
    page = api.get("/" + made["rate_url"].split("/", 3)[3])
    assert "我要开餐馆" in page.text and "食品经营许可" in page.text and "共 2 项" in page.text

    ctx.store.run(lambda db: channels.record_rating(db, made["session_id"], "qr", 5))
    services = {s["projectNo"]: s["taskCode"] for s in outbox(api, "service")}
    generated = [c["case_id"] for c in made["cases"] if c["case_id"] not in ("c1", "c2")]
    assert services == {"c1": "B101", "c2": "B101", generated[0]: "B202"}
    ratings = {r["projectNo"]: r["taskCode"] for r in outbox(api, "rating")}
    assert ratings == services  # each case's rating goes up under its own item, as its service did


@pytest.mark.parametrize(
    "change, words",
    [
        ({"items": THEME["items"][:1]}, "2-30"),
        ({"items": [THEME["items"][0], dict(THEME["items"][0], cases=[])]}, "重复"),
        ({"cases": [{"case_id": "c9"}]}, "各事项下"),
        (
            {
                "items": [
                    THEME["items"][0],
                    {"item_code": "B3", "item_name": " ", "cases": [{"case_id": "c1"}]},
                ]
            },
            "名称",
        ),
    ],
)
def test_a_bad_theme_is_refused_with_the_reason(api, change, words):
    answer = post(api, **dict(THEME, **change))
    assert answer.status_code == 422 and words in answer.json()["detail"]["reason"]
    with api.app.state.ctx.store.read() as db:
        assert db.conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)


def test_agent_business_is_closed_by_whoever_rates_first(api):
    ctx = api.app.state.ctx
    first = post(api, agent_id="DB-330102-0007").json()
    assert first["agent_id"] == "DB-330102-0007"
    # the agent rates at the device: the applicant's link then says so
    ctx.store.run(lambda db: add_device_rating(db, first["session_id"], 5, seq=1, device_id="w07-a"))
    path = "/" + first["rate_url"].split("/", 3)[3]
    page = api.get(path)
    assert "已由代办人在窗口评价" in page.text and 'id="rate"' not in page.text
    csrf = api.cookies.get("hcp_csrf")
    late = api.post(path + "/rate", data={"csrf": csrf, "level": "1", "reasons": "1"})
    assert late.status_code == 409 and "代办人" in late.text
    # the applicant rates first through the link: the session is closed for the agent's device
    second = post(api, agent_id="DB-330102-0007").json()
    path = "/" + second["rate_url"].split("/", 3)[3]
    form = api.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert (
        api.post(path + "/rate", data={"csrf": csrf, "level": "4"}, follow_redirects=False).status_code == 303
    )
    with ctx.store.read() as db:
        assert sessions.get(db, second["session_id"])["state"] == "rated"
        # the device's screen leaves the session at once: it is no longer open
        assert sessions.screen_session(db, "w07-a", ctx.clock.now()) is None


def test_finished_opens_the_final_rating_at_the_next_visit(api):
    ctx = api.app.state.ctx
    first = post(api, cases=[{"case_id": "c9"}]).json()
    early = api.post("/api/v1/cases/c9/finished")
    assert early.status_code == 409 and "尚未评价" in early.json()["detail"]["reason"]
    ctx.store.run(lambda db: channels.record_rating(db, first["session_id"], "qr", 4))
    done = api.post("/api/v1/cases/c9/finished")
    assert done.status_code == 201, done.text
    final = done.json()
    assert final["purpose"] == "finished" and final["cases"] == [{"case_id": "c9", "visit": 2}]
    assert (final["window"], final["item_code"], final["staff_id"]) == ("07", "A001", "s1")
    assert api.post("/api/v1/cases/c9/finished").status_code == 409  # the final one is open
    ctx.store.run(lambda db: channels.record_rating(db, final["session_id"], "paper", 5))
    again = api.post("/api/v1/cases/c9/finished")
    assert again.status_code == 409 and "只办结一次" in again.json()["detail"]["reason"]
    services = [(s["projectNo"], s["serviceNumber"]) for s in outbox(api, "service")]
    assert services == [("c9", 1), ("c9", 2)]
    unknown = api.post("/api/v1/cases/nope/finished")
    assert unknown.status_code == 404 and unknown.json()["detail"]["error"] == "unknown_case"


def test_the_cli_opens_a_final_rating_through_the_running_hostd(tmp_path):
    home = make_home(tmp_path / "home")
    out = hostd(home, "session", "finished", "2026-000123")
    assert out.exit_code == 1 and "hostd is not running" in out.output and "Traceback" not in out.output


class Recorder:
    """Stands in for the collector as ctx.publisher: keeps what would be published."""

    def __init__(self):
        self.sent = []

    def publish_signed(self, hall, device, leaf, fields, retain=False):
        self.sent.append((device, fields))
        return b"x" * 100


class Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


def test_the_agent_s_device_says_the_applicant_rated_first_then_shows_who_serves(api):
    ctx = api.app.state.ctx
    ctx.publisher, ctx.clock = Recorder(), Clock(1_790_000_000)
    made = post(api, agent_id="DB-0007").json()
    assert made["pushed"] and ctx.publisher.sent[-1][1][1] == "S"  # the session, on w07-a
    ctx.store.run(lambda db: channels.record_rating(db, made["session_id"], "qr", 5, now=ctx.clock.now()))
    keeper = push.keeper(ctx)
    keeper.tick()
    device, fields = ctx.publisher.sent[-1]
    renderer = push.render.renderer_for(ctx.config)
    notice = renderer.window(push.RATED_ELSEWHERE["agent"])
    assert (device, fields[1]) == ("w07-a", "I") and fields[-1][0] == notice  # 本次服务已由申请人评价
    ctx.clock.t += push.NOTICE_S - 1
    keeper.tick()
    assert ctx.publisher.sent[-1][1][-1][0] == notice  # still saying it
    ctx.clock.t += 2
    keeper.tick()
    assert ctx.publisher.sent[-1][1][1] == "I" and ctx.publisher.sent[-1][1][-1][0] != notice  # who serves
    # a session the device itself rated leaves no notice
    again = post(api).json()
    ctx.store.run(lambda db: add_device_rating(db, again["session_id"], 5, seq=2, device_id="w07-a"))
    before = len(ctx.publisher.sent)
    keeper.tick()
    assert len(ctx.publisher.sent) == before + 1 and ctx.publisher.sent[-1][1][1] == "I"  # idle pushed
    assert ctx.publisher.sent[-1][1][-1][0] != notice and not keeper.notices
