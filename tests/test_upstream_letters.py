"""Dead letters can be acted on: retried as they are, or edited and resent,
from the 上报失败 page or `hostd sync --retry ID`; each action is logged."""

import json
import re

import pytest
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from pages_seed import PASSWORD, open_context
from upstream_fixtures import AREA, DEPT, add_rating, add_session, make_sender, open_db, outbox_counts, seed
from upstream_platform import ref  # noqa: F401 (the reference platform, keyed with SECRET)

from hostd.upstream import letters
from hostd.web import auth
from hostd.web.app import create_app

SECRET = b"letters-secret"


def dead_service(db):
    """A session of a unit without codes: its service record dies (BAD_CODE), its rating behind it."""
    with db.conn:
        add_session(db, "s1", cases=("C1",), unit="u0")
        add_rating(db, "s1", level=2, reasons="[1]", seq=1)


def test_retry_brings_back_the_record_and_those_that_died_behind_it(tmp_path, ref):
    db = open_db(tmp_path / "hostd.db")
    dead_service(db)
    make_sender(db, ref.url, secret=SECRET).drain()
    assert outbox_counts(db) == {"dead": 2}
    service_id = db.conn.execute("SELECT id FROM upstream_outbox WHERE kind = 'service'").fetchone()[0]
    with db.conn:
        assert letters.retry(db, service_id, "zhao", 1000) == 1
    assert outbox_counts(db) == {"pending": 2}
    make_sender(db, ref.url, secret=SECRET, dept_code=DEPT, area_code=AREA).drain()
    assert outbox_counts(db) == {"confirmed": 2}
    assert letters.actions(db, service_id)[0]["actor"] == "zhao"
    with pytest.raises(letters.LetterError, match="not a dead letter"):
        letters.retry(db, service_id, "zhao", 1001)


def test_edit_keeps_the_identity_and_logs_before_and_after(tmp_path, ref):
    db = open_db(tmp_path / "hostd.db")
    dead_service(db)
    make_sender(db, ref.url, secret=SECRET).drain()
    row_id, body = db.conn.execute("SELECT id, body FROM upstream_outbox WHERE kind = 'service'").fetchone()
    record = json.loads(body)
    with pytest.raises(letters.LetterError, match="projectNo"):
        letters.edit(db, row_id, json.dumps(dict(record, projectNo="C9")), "zhao", 1000)
    with pytest.raises(letters.LetterError, match="JSON"):
        letters.edit(db, row_id, "{not json", "zhao", 1000)
    with db.conn:
        letters.edit(db, row_id, json.dumps(dict(record, deptCode=DEPT, areaCode=AREA)), "zhao", 1000)
    make_sender(db, ref.url, secret=SECRET).drain()
    # the service record went with the edited codes; the rating behind it took the hall's (none): dead again
    assert db.conn.execute("SELECT status FROM upstream_outbox WHERE id = ?", (row_id,)).fetchone() == (
        "confirmed",
    )
    (action,) = letters.actions(db, row_id)
    assert action["action"] == "edit" and DEPT in action["after"] and DEPT not in action["before"]


def upstream_home(tmp_path, url):
    home = make_home(tmp_path / "home")
    home.set("upstream", "url", url)
    home.keys.mkdir(exist_ok=True)
    (home.keys / "upstream-secret").write_bytes(SECRET + b"\n")
    return home


def test_cli_retry_and_status_json(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    db = open_db(home.db_path)
    dead_service(db)
    seed(db, 3, start=10)
    assert hostd(home, "sync", "--once").exit_code == 0
    status = json.loads(hostd(home, "sync", "--status", "--json").output)
    assert (status["pending"], status["confirmed"], status["dead"]) == (0, 6, 2)
    assert status["oldest_pending_age_s"] is None
    service_id = [d["id"] for d in status["dead_letters"] if d["kind"] == "service"][0]
    home.set("upstream", "area_code", AREA)
    home.set("upstream", "dept_code", DEPT)
    result = hostd(home, "sync", "--retry", str(service_id))
    assert (
        result.exit_code == 0 and "queued again" in result.output and "1 record(s) waiting" in result.output
    )
    status = json.loads(hostd(home, "sync", "--status", "--json").output)
    assert status["pending"] == 2 and status["dead"] == 0 and status["oldest_pending_age_s"] >= 0
    assert hostd(home, "sync", "--once").exit_code == 0
    assert outbox_counts(db) == {"confirmed": 8}
    again = hostd(home, "sync", "--retry", str(service_id))
    assert again.exit_code != 0 and again.output.count("\n") == 1 and "not a dead letter" in again.output
    missing = hostd(home, "sync", "--retry", "99999")
    assert missing.exit_code != 0 and "no upstream record" in missing.output


def test_the_page_shows_both_versions_and_acts(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    ctx = open_context(home)
    ctx.store.run(lambda db: auth.add_user(db, "zhao", PASSWORD, "supervisor", None, now=1000))
    db = open_db(home.db_path)
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=5, seq=1)
    send = make_sender(db, ref.url, secret=SECRET)
    send.step()  # the service record
    theirs = send.translate("rating", json.loads(db.conn.execute(
        "SELECT body FROM upstream_outbox WHERE kind = 'rating'").fetchone()[0]))  # fmt: skip
    theirs["satisfaction"] = 3
    ref.platform.db.execute(
        "INSERT INTO ratings (projectNo, serviceNumber, assessNumber, pf, satisfaction, body, at)"
        " VALUES ('C1', 1, 1, '4', 3, ?, 0)",
        (json.dumps(theirs, ensure_ascii=False),),
    )
    send.drain()
    row_id = db.conn.execute("SELECT id FROM upstream_outbox WHERE status = 'dead'").fetchone()[0]
    client = TestClient(create_app(ctx), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf": token, "next": "/upstream"})
    page = client.get("/upstream")
    assert page.status_code == 200 and "letter-%d" % row_id in page.text
    assert "MISMATCH" in page.text and "平台已有的记录" in page.text and "satisfaction" in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    bad = client.post("/upstream/%d/edit" % row_id, data={"csrf": token, "body": "[]"})
    assert bad.status_code == 303 and "JSON 对象" in client.get("/upstream").text
    done = client.post("/upstream/%d/retry" % row_id, data={"csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/upstream"
    assert "已重新排队上报" in client.get("/upstream").text
    assert letters.actions(db, row_id)[0]["actor"] == "zhao"
    staff_view = TestClient(create_app(ctx), follow_redirects=False).get("/upstream")
    assert staff_view.status_code == 303  # not logged in: to the login page
    ctx.store.close()
