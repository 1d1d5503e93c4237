"""Evaluator data beyond the ratings table (issue 18, review): the upstream
records that carry a 实名 evaluator's name and phone (sent with consent), a
session's consented mobile on its work order, and the daily purge on hostd
run's own clock."""

import json
import time

from session_rows import add_session
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import workorders
from hostd.recording import channels, retention
from hostd.recording import evaluator as evaluators
from hostd.sms import reminders

DAY = 86400


class Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


def dead_letter(ctx):
    """A dead rating record that carries an evaluator's name and phone."""
    body = {
        "projectNo": "C1",
        "serviceNumber": 1,
        "assessNumber": 1,
        "userName": "王五",
        "mobile": "13800138000",
    }
    return ctx.store.run(
        lambda db: (
            db.conn.execute(
                "INSERT INTO upstream_outbox (target, kind, key, ref, body, status, created_at)"
                " VALUES ('province', 'rating', 'qr:S9:C1', '1', ?, 'dead', 0)",
                (json.dumps(body, ensure_ascii=False),),
            ).lastrowid
        )
    )


def test_dead_letters_show_evaluator_data_to_supervisors_only_and_log_it(hall):  # noqa: F811
    ctx, _ = hall
    row_id = dead_letter(ctx)
    admin = client_for(ctx)
    login(admin, "admin")
    page = admin.get("/upstream").text
    assert "13800138000" not in page and "王五" not in page and "评价人信息已隐去" in page
    # an admin's edit keeps the values they could not see
    edited = page.split('<textarea name="body"')[1].split(">", 1)[1].split("</textarea>")[0]
    body = json.loads(edited.replace("&#34;", '"').replace("&quot;", '"'))
    body["serviceNumber"] = 1
    admin.post(
        "/upstream/%d/edit" % row_id, data={"csrf": csrf(page), "body": json.dumps(body, ensure_ascii=False)}
    )
    with ctx.store.read() as db:
        stored = json.loads(
            db.execute("SELECT body FROM upstream_outbox WHERE id = ?", [row_id]).fetchone()[0]
        )
        assert (stored["userName"], stored["mobile"]) == ("王五", "13800138000")
        assert db.execute("SELECT COUNT(*) FROM evaluator_access").fetchone() == (0,)
    ctx.store.run(
        lambda db: db.conn.execute("UPDATE upstream_outbox SET status = 'dead' WHERE id = ?", (row_id,))
    )
    zhao = client_for(ctx)
    login(zhao, "zhao")
    assert "13800138000" in zhao.get("/upstream").text
    with ctx.store.read() as db:
        assert db.execute("SELECT username, purpose FROM evaluator_access").fetchall() == [
            ("zhao", "upstream dead letters")
        ]


def test_the_export_never_carries_upstream_bodies_or_contacts(hall):  # noqa: F811
    ctx, _ = hall
    dead_letter(ctx)
    admin = client_for(ctx)
    login(admin, "admin")
    names = admin.get("/export").text
    assert "session_contacts" not in names
    answer = admin.get("/export/upstream_outbox.csv")
    assert (
        answer.status_code == 200
        and "13800138000" not in answer.text
        and "body" not in answer.text.split("\n")[0]
    )


def test_a_named_rating_s_upstream_copy_and_a_session_s_number_are_purged_by_the_daily_job(hall):  # noqa: F811
    ctx, _ = hall
    t0 = int(time.time())
    clock = Clock(t0)
    ctx.clock = clock
    ctx.store.run(lambda db: add_session(db, "P1", t0 - 60, t0 + DAY, window="W01"))
    ctx.store.run(
        lambda db: db.conn.execute(
            "INSERT INTO session_contacts (session_id, mobile, consented_at) VALUES ('P1', '13900139000', ?)",
            (t0,),
        )
    )
    who = evaluators.clean("王五", "13800138000", callback_consent=True, upstream_consent=True)
    ctx.store.run(lambda db: channels.record_rating(db, "P1", "qr", 5, now=t0, evaluator=who))
    with ctx.store.read() as db:
        assert (
            "13800138000"
            in db.execute(
                "SELECT body FROM upstream_outbox WHERE kind = 'rating' AND key LIKE '%:P_:%'"
            ).fetchone()[0]
        )
    watch = retention.Retention(ctx)
    days = ctx.config["privacy"]["retention_days"]
    clock.t = t0 + DAY + days * DAY - 60
    watch.once()
    with ctx.store.read() as db:
        assert db.execute("SELECT mobile FROM session_contacts").fetchone() == ("13900139000",)
    clock.t += 120
    assert watch.once() >= 2  # the rating's name and phone, and the session's number (and the seed's)
    with ctx.store.read() as db:
        assert db.execute(
            "SELECT evaluator_name, evaluator_mobile, named FROM ratings WHERE session_id = 'P1'"
        ).fetchone() == (None, None, 1)
        body = json.loads(
            db.execute(
                "SELECT body FROM upstream_outbox WHERE kind = 'rating' AND key LIKE '%:P_:%'"
            ).fetchone()[0]
        )
        assert "mobile" not in body and "userName" not in body and body["projectNo"]
        assert db.execute("SELECT mobile FROM session_contacts").fetchone() == (None,)


def test_a_work_order_shows_the_session_s_consented_number_to_supervisors(hall):  # noqa: F811
    ctx, _ = hall
    now = int(time.time())
    ctx.store.run(lambda db: add_session(db, "P2", now - 60, now + DAY, window="W01"))
    ctx.store.run(
        lambda db: reminders.register(
            db, {"session_id": "P2", "screen_until": now}, "13700137000", now, False
        )
    )
    rating = ctx.store.run(lambda db: channels.record_rating(db, "P2", "qr", 1, [2], now=now))
    with ctx.store.read() as db:
        order = db.execute("SELECT order_id FROM work_orders WHERE rating_id = ?", [rating]).fetchone()[0]
    zhao = client_for(ctx)
    login(zhao, "zhao")
    assert "13700137000" in zhao.get("/workorders/%d" % order).text
    zhang = client_for(ctx)
    login(zhang, "zhang")  # s1, whose order it is: no number
    ctx.store.run(lambda db: workorders.move(db, order, "contacted", "zhao", now=now))
    assert "13700137000" not in zhang.get("/workorders/%d" % order).text


def test_details_given_after_the_rating_ride_its_queued_record_with_consent(hall):  # noqa: F811
    ctx, _ = hall
    now = int(time.time())
    ctx.store.run(lambda db: add_session(db, "P3", now - 60, now + DAY, window="W01"))
    rating = ctx.store.run(lambda db: channels.record_rating(db, "P3", "qr", 4, now=now))
    who = evaluators.clean(None, "13600136000", callback_consent=True, upstream_consent=True)
    assert ctx.store.run(lambda db: channels.add_evaluator(db, rating, who))
    with ctx.store.read() as db:
        body = json.loads(
            db.execute(
                "SELECT body FROM upstream_outbox WHERE kind = 'rating' AND key LIKE '%:P_:%'"
            ).fetchone()[0]
        )
    assert body["mobile"] == "13600136000"
