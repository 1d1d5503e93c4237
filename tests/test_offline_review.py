"""待确认的离线评价: an offline device rating whose session cannot be told
waits for a supervisor; none of its candidate sessions becomes a default
meanwhile, and a bound 差评 reaches the province as that 差评."""

import json
import re

import pytest
from fastapi.testclient import TestClient
from hostd_support import make_home
from pages_seed import PASSWORD, open_context

from hostd.base import config as config_schema
from hostd.recording import defaults
from hostd.recording.device_ratings import insert_rating
from hostd.rules import offline, sessions, staff
from hostd.web import auth
from hostd.web.app import create_app
from protocol import messages

HALL = "h1"
NOW = 1_800_000_000
CONFIG = config_schema.defaults()
CONFIG["rating"]["working_days"] = False


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home", hall=HALL)
    home.set("rating", "working_days", False)  # natural days: the calendar of any year will do
    ctx = open_context(home)

    def setup(db):
        db.execute(
            "INSERT INTO devices (device_id, hall, window, key_hex, created_at)"
            " VALUES ('w07-a', ?, '07', ?, 0)",
            [HALL, "00" * 32],
        )
        staff.add_staff(db, "s1", "张三", "0042", NOW)
        auth.add_user(db, "zhao", PASSWORD, "supervisor", None, now=NOW)

    ctx.store.run(setup)
    yield ctx
    ctx.store.close()


def start(ctx, now, case):
    return ctx.store.run(
        lambda db: sessions.create(db, CONFIG, HALL, "07", "A001", "户口迁移", "s1", [case], now)
    )


def rate_offline(ctx, seq, level=1, reasons=(), received=NOW + 600):
    """A rating pressed while the device was offline with an unsynced clock."""
    fields = [1, "R", "w07-a", seq, None, level, list(reasons), 1, "s1", 7, False]
    wire = messages.sign(b"k" * 32, fields)
    ctx.store.run(lambda db: insert_rating(db, messages.as_dict(fields), wire, HALL, received))
    with ctx.store.read() as db:
        return db.conn.execute(
            "SELECT id, session_id, binding FROM ratings WHERE device_id = 'w07-a' AND seq = ?", (seq,)
        ).fetchone()


def outbox(ctx, kind):
    with ctx.store.read() as db:
        return [
            json.loads(b)
            for (b,) in db.conn.execute(
                "SELECT body FROM upstream_outbox WHERE kind = ? ORDER BY id", (kind,)
            )
        ]


def default_all(ctx):
    """Run the default-rating check long after every period ended."""
    return defaults.run_due(ctx, now=NOW + 60 * 86400)


def test_an_unsynced_offline_rating_with_two_candidates_waits_and_holds_their_defaults(hall):
    first, second = start(hall, NOW, "C1"), start(hall, NOW + 60, "C2")
    rating_id, session_id, binding = rate_offline(hall, 1, level=1, reasons=[2])
    assert (session_id, binding) == (None, "window")
    with hall.store.read() as db:
        (waiting,) = offline.pending(db)
    assert waiting["rating_id"] == rating_id
    assert [c["session_id"] for c in waiting["candidates"]] == [first["session_id"], second["session_id"]]
    assert default_all(hall)["defaulted"] == 0  # both held: the citizen's 差评 may be either's
    assert outbox(hall, "default") == [] and outbox(hall, "rating") == []


def test_binding_sends_the_bad_rating_and_frees_the_other_candidate(hall):
    first, second = start(hall, NOW, "C1"), start(hall, NOW + 60, "C2")
    rating_id = rate_offline(hall, 1, level=1, reasons=[2])[0]
    hall.store.run(
        lambda db: offline.bind(db, rating_id, second["session_id"], "zhao", NOW + 700, "核对监控")
    )
    (sent,) = outbox(hall, "rating")
    assert sent["projectNo"] == "C2" and sent["satisfaction"] == 1 and sent["reasons"] == ["efficiency"]
    assert default_all(hall)["defaulted"] == 1  # the other candidate, now free
    (default,) = outbox(hall, "default")
    assert default["projectNo"] == "C1"
    with hall.store.read() as db:
        states = dict(db.conn.execute("SELECT session_id, state FROM sessions").fetchall())
        review = db.conn.execute("SELECT state, session_id, decided_by, note FROM offline_reviews").fetchone()
        order = db.conn.execute("SELECT session_id, staff_id FROM work_orders").fetchone()
    assert states == {first["session_id"]: "defaulted", second["session_id"]: "rated"}
    assert review == ("bound", second["session_id"], "zhao", "核对监控")
    assert order == (second["session_id"], "s1")  # the 差评's work order follows it


def test_dismissing_keeps_it_window_level_and_lets_both_default(hall):
    start(hall, NOW, "C1")
    start(hall, NOW + 60, "C2")
    rating_id = rate_offline(hall, 1, level=2, reasons=[1])[0]
    hall.store.run(lambda db: offline.dismiss(db, rating_id, "zhao", NOW + 700))
    assert default_all(hall)["defaulted"] == 2
    assert outbox(hall, "rating") == []
    with pytest.raises(offline.ReviewError, match="已处理"):
        hall.store.run(lambda db: offline.bind(db, rating_id, "nope", "zhao", NOW))


def test_a_session_rated_meanwhile_cannot_be_bound(hall):
    first = start(hall, NOW, "C1")
    start(hall, NOW + 60, "C2")
    rating_id = rate_offline(hall, 1)[0]
    default_all(hall)  # held: nothing happens
    from hostd.recording import channels

    hall.store.run(lambda db: channels.record_rating(db, first["session_id"], "qr", 5, now=NOW + 650))
    with pytest.raises(offline.ReviewError, match="已有评价"):
        hall.store.run(lambda db: offline.bind(db, rating_id, first["session_id"], "zhao", NOW + 700))
    with pytest.raises(offline.ReviewError, match="不在候选"):
        hall.store.run(lambda db: offline.bind(db, rating_id, "s-other", "zhao", NOW + 700))


def test_the_page_lists_and_binds_with_the_supervisors_name(hall):
    start(hall, NOW, "C1")
    second = start(hall, NOW + 60, "C2")
    rating_id = rate_offline(hall, 1, level=1, reasons=[1])[0]
    client = TestClient(create_app(hall), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf": token, "next": "/offline"})
    page = client.get("/offline")
    assert page.status_code == 200 and "待确认的离线评价" in page.text
    assert "offline-%d" % rating_id in page.text and second["session_id"] in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post("/offline/%d" % rating_id, data={"csrf": token, "session_id": second["session_id"]})
    assert done.status_code == 303 and done.headers["location"] == "/offline"
    after = client.get("/offline").text
    assert "已绑定到会话" in after  # the banner, from the server's flash cookie
    assert "没有待确认的离线评价" in after and "zhao" in after
    (sent,) = outbox(hall, "rating")
    assert sent["projectNo"] == "C2" and sent["satisfaction"] == 1
