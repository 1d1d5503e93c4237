"""SMS reminders (issue 18, item 2): the adapter's signature and shape, the
reference platform's rules, and hostd sending the rate-later link once.

The reference platform (peers/sms_ref) enforces what the common Chinese SMS
APIs enforce: the RPC signature, approved signature and template, exactly
the template's variables (35 characters, no links), 70-character segments,
and per-number limits of 1 a minute, 5 an hour, 10 a day.
"""

import time

import pytest
from fastapi.testclient import TestClient
from hostd_support import make_home
from sms_fixtures import KEY_ID, SECRET, SIGN, T0, TEMPLATE, VERDICT, Clock, platform

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.recording import retention
from hostd.rules import staff
from hostd.sms import gateway, reminders
from hostd.sms.sender import SmsSender
from hostd.web.api import ensure_token
from hostd.web.app import create_app
from peers.sms_ref.server import RefSms

# -- the adapter against the platform over HTTP ---------------------------------


@pytest.fixture
def ref():
    clock = Clock(int(time.time()))
    server = RefSms(platform(clock)).start()
    server.clock = clock
    yield server
    server.stop()


def adapter(ref, template=TEMPLATE, secret=SECRET):
    return gateway.SendSms(ref.url, KEY_ID, secret, SIGN, template, timeout=5)


def test_the_adapter_sorts_answers_into_sent_refused_retry_and_unknown(ref):
    send = adapter(ref)
    params = {"item": "户口迁移", "code": "Ab3dEf6hIj9k"}
    assert send.send("13800138000", params, "S1", now=ref.clock()).count("^") == 1
    with pytest.raises(gateway.Refused, match="BUSINESS_LIMIT_CONTROL"):
        send.send("13800138000", params, "S2", now=ref.clock())
    with pytest.raises(gateway.Refused, match="SignatureDoesNotMatch"):
        adapter(ref, secret="wrong").send("13900139000", params, "S3", now=ref.clock())
    ref.set_mode("error500", 1)
    with pytest.raises(gateway.Unavailable):
        send.send("13700137000", params, "S4", now=ref.clock())
    ref.set_mode("down", 1)
    with pytest.raises((gateway.Unavailable, gateway.Unknown)):
        send.send("13700137000", params, "S5", now=ref.clock())
    ref.set_mode("hang", 1)
    with pytest.raises(gateway.Unknown):
        send.send("13600136000", params, "S6", now=ref.clock())
    assert [m["out_id"] for m in ref.platform.inbox] == ["S1", "S6"]  # the hung-up one went out
    send.close()


# -- hostd: a session with a number, its one reminder ---------------------------


@pytest.fixture
def hall(tmp_path, ref):
    home = make_home(tmp_path / "home")
    config = home.config()
    config["sms"].update(url=ref.url, access_key_id=KEY_ID, sign_name=SIGN, template_code=TEMPLATE)
    config["web"]["public_url"] = "http://hall.example"
    store = Store(home.db_path)
    ctx = Context(home, config, store, clock=ref.clock)
    store.run(lambda db: staff.add_staff(db, "s1", "张三", "0042", 0))
    store.run(lambda db: staff.add_window(db, ctx.hall, "09"))
    client = TestClient(create_app(ctx), follow_redirects=False)
    client.headers["Authorization"] = "Bearer " + ensure_token(home)
    sender = SmsSender(ctx, adapter(ref))
    yield ctx, client, sender, ref
    store.close()


def start(client, mobile="13800138000", consent=True, **more):
    body = {"window": "09", "item_code": "A001", "item_name": "户口迁移", "staff_id": "s1"}
    body.update(mobile=mobile, mobile_consent=consent, **more)
    return client.post("/api/v1/sessions", json=body)


def reminder(ctx, sid):
    with ctx.store.read() as db:
        return db.conn.execute(
            "SELECT state, attempts, error, code FROM sms_reminders WHERE session_id = ?", (sid,)
        ).fetchone()


def test_a_citizen_who_leaves_without_rating_gets_the_link_once(hall):
    ctx, client, sender, ref = hall
    made = start(client).json()
    assert made["sms_reminder"] == "waiting"
    assert sender.once() == 0  # still on the device's screen
    ref.clock.t = made["screen_until"]
    assert sender.once() == 1
    state, attempts, _, code = reminder(ctx, made["session_id"])
    assert (state, attempts) == ("sent", 1)
    (message,) = ref.platform.inbox
    assert message["mobile"] == "13800138000" and "/s/%s" % code in message["text"]
    ref.clock.t += 3600
    assert sender.once() == 0 and len(ref.platform.inbox) == 1  # one reminder at most
    # the short link leads to the session's rate-later page
    hop = client.get("/s/%s" % code)
    assert hop.status_code == 303 and "/r/" in hop.headers["location"]
    assert client.get("/r/" + hop.headers["location"].split("/r/")[1]).status_code == 200
    assert client.get("/s/%s" % ("x" * 12)).status_code == 404
    assert client.get("/s/bad!").status_code == 400
    assert client.get("/api/v1/sessions/%s" % made["session_id"]).json()["sms_reminder"] == "sent"


def test_no_reminder_once_rated_and_none_without_consent_or_a_real_number(hall):
    ctx, client, sender, ref = hall
    made = start(client).json()
    rate = client.get(made["rate_url"].replace("http://hall.example", ""))
    assert rate.status_code == 200
    from hostd.recording import channels

    ctx.store.run(lambda db: channels.record_rating(db, made["session_id"], "qr", 5, now=ref.clock()))
    ref.clock.t = made["screen_until"]
    sender.once()
    assert reminder(ctx, made["session_id"])[:3] == ("skipped", 0, "session_rated")
    assert ref.platform.inbox == []
    refused = start(client, consent=False)
    assert refused.status_code == 422 and "同意" in refused.json()["detail"]["reason"]
    bad = start(client, mobile="010-6655443")
    assert bad.status_code == 422 and "大陆手机号" in bad.json()["detail"]["reason"]
    assert start(client, mobile=None).json()["sms_reminder"] is None


def test_a_gateway_down_is_tried_again_and_a_lost_answer_is_never_resent(hall):
    ctx, client, sender, ref = hall
    first = start(client).json()
    second = start(client, mobile="13900139000").json()
    ref.clock.t = first["screen_until"]
    ref.set_mode("error500", 1)  # the first request: a 500, nothing taken
    sender.once()
    assert [reminder(ctx, s["session_id"])[0] for s in (first, second)] == ["waiting", "sent"]
    third = start(client, mobile="13700137000").json()
    ref.clock.t = third["screen_until"]  # the first's retry is due too, and goes first
    ref.set_mode("hang", 1)  # taken, and the answer lost
    sender.once()
    assert [reminder(ctx, s["session_id"])[0] for s in (first, second, third)] == ["unknown", "sent", "sent"]
    ref.clock.t += 3600
    sender.once()  # the unknown one is never sent again
    assert [m["out_id"] for m in ref.platform.inbox] == [s["session_id"] for s in (second, first, third)]
    assert sender.results == {"retry": 1, "sent": 2, "unknown": 1}


def test_a_reminder_left_sending_by_a_crash_is_not_sent_again(hall):
    ctx, client, _, ref = hall
    made = start(client).json()
    ref.clock.t = made["screen_until"]
    assert ctx.store.run(lambda db: reminders.claim(db, made["session_id"], ref.clock())) is not None
    fresh = SmsSender(ctx, adapter(ref))  # hostd started again
    fresh.once()
    assert reminder(ctx, made["session_id"])[:3] == ("unknown", 1, "hostd stopped while sending")
    assert ref.platform.inbox == []


def test_the_number_limits_are_kept_here_so_the_platform_never_refuses(hall):
    ctx, client, sender, ref = hall
    made = [start(client).json() for _ in range(3)]  # one citizen, three services in a row
    ref.clock.t = made[-1]["screen_until"]
    sender.once()
    assert [reminder(ctx, m["session_id"])[0] for m in made] == ["sent", "waiting", "waiting"]
    for _ in range(2):
        ref.clock.t += 61
        sender.once()
    assert [reminder(ctx, m["session_id"])[0] for m in made] == ["sent", "sent", "sent"]
    assert ref.platform.refusals == {}


def test_the_number_is_purged_once_the_period_and_any_work_order_are_over(hall):
    ctx, client, _, ref = hall
    kept = start(client).json()
    bad = start(client, mobile="13900139000").json()
    from hostd.casework import workorders
    from hostd.recording import channels

    rating = ctx.store.run(
        lambda db: channels.record_rating(db, bad["session_id"], "qr", 1, [2], now=ref.clock())
    )
    days = ctx.config["privacy"]["retention_days"]

    def mobiles():
        with ctx.store.read() as db:
            return dict(db.conn.execute("SELECT session_id, mobile FROM session_contacts").fetchall())

    ref.clock.t = kept["rate_until"] + days * 86400 + 1
    assert ctx.store.run(lambda db: retention.purge_contacts(db, days, ref.clock())) == 1
    assert mobiles() == {
        kept["session_id"]: None,
        bad["session_id"]: "13900139000",
    }  # its 差评's order is open
    with ctx.store.read() as db:
        order = db.conn.execute("SELECT order_id FROM work_orders WHERE rating_id = ?", (rating,)).fetchone()[
            0
        ]
    ctx.store.run(
        lambda db: workorders.move(db, order, "explained", "zhao", explanation="已解释", now=ref.clock())
    )
    ref.clock.t += days * 86400 - 10
    assert ctx.store.run(lambda db: retention.purge_contacts(db, days, ref.clock())) == 0
    ref.clock.t += 20
    assert ctx.store.run(lambda db: retention.purge_contacts(db, days, ref.clock())) == 1
    assert mobiles() == {kept["session_id"]: None, bad["session_id"]: None}


def test_named_evaluator_details_are_purged_when_nothing_needs_them(hall):
    ctx, client, _, ref = hall
    from hostd.casework import workorders
    from hostd.recording import channels
    from hostd.recording import evaluator as evaluators

    who = evaluators.clean("王五", "13800138000", callback_consent=True)
    good, bad = start(client, mobile=None).json(), start(client, mobile=None).json()
    ctx.store.run(
        lambda db: channels.record_rating(db, good["session_id"], "qr", 5, now=ref.clock(), evaluator=who)
    )
    worse = ctx.store.run(
        lambda db: channels.record_rating(db, bad["session_id"], "qr", 1, [1], now=ref.clock(), evaluator=who)
    )
    days = ctx.config["privacy"]["retention_days"]

    def named():
        with ctx.store.read() as db:
            return db.conn.execute(
                "SELECT session_id, evaluator_mobile, named FROM ratings ORDER BY session_id"
            ).fetchall()

    ref.clock.t = good["rate_until"] + days * 86400 - 5
    assert ctx.store.run(lambda db: retention.purge_evaluators(db, days, ref.clock())) == 0
    ref.clock.t += 10
    assert ctx.store.run(lambda db: retention.purge_evaluators(db, days, ref.clock())) == 1  # the 好评's
    assert sorted(named()) == sorted([(good["session_id"], None, 1), (bad["session_id"], "13800138000", 1)])
    with ctx.store.read() as db:
        order = db.conn.execute("SELECT order_id FROM work_orders WHERE rating_id = ?", (worse,)).fetchone()[
            0
        ]
    ctx.store.run(
        lambda db: workorders.move(db, order, "explained", "zhao", explanation="已解释", now=ref.clock())
    )
    ref.clock.t += days * 86400 + 1
    assert ctx.store.run(lambda db: retention.purge_evaluators(db, days, ref.clock())) == 1
    assert all(mobile is None and flag == 1 for _, mobile, flag in named())  # named stays for the rate


def test_the_hour_and_day_limits_put_a_reminder_off_until_allowed(hall):
    ctx, client, _, ref = hall
    midnight = T0 - (T0 + 8 * 3600) % 86400 + 86400  # a local midnight after T0
    ref.clock.t = midnight

    def sent(at, n):
        """n reminders to one number, marked sent at `at`, `at` + 1, ..."""
        for i in range(n):
            sid = "X%d-%d" % (at, i)

            def op(db, sid=sid, i=i):
                db.conn.execute(
                    "INSERT INTO sessions (session_id, hall, window, item_code, item_name, staff_id,"
                    " staff_name, staff_no, cases, created_at, screen_until, rate_until)"
                    " VALUES (?, 'h1', '09', 'A', 'x', 's1', '张三', '0042', 1, 0, 0, 0)",
                    (sid,),
                )
                reminders.register(db, {"session_id": sid, "screen_until": 0}, "13800138000", at, True)
                db.conn.execute(
                    "UPDATE sms_reminders SET state = 'sent', sent_at = ? WHERE session_id = ?", (at + i, sid)
                )

            ctx.store.run(op)

    sent(midnight, 5)  # five from midnight on: the hour is full
    with ctx.store.read() as db:
        assert reminders.next_allowed(db, "13800138000", midnight + 600) == midnight + 3600
    sent(midnight + 3 * 3600, 5)  # ten today: the day is full
    with ctx.store.read() as db:
        assert reminders.next_allowed(db, "13800138000", midnight + 5 * 3600) == midnight + 86400
        assert reminders.next_allowed(db, "13900139000", midnight + 5 * 3600) == midnight + 5 * 3600


def test_a_replied_order_s_complainant_gets_the_verdict_link_once_per_reply(hall):
    ctx, client, _, ref = hall
    from hostd.casework import workorders
    from hostd.recording import channels

    made = start(client).json()
    rating = ctx.store.run(
        lambda db: channels.record_rating(db, made["session_id"], "qr", 1, [2], now=ref.clock())
    )
    with ctx.store.read() as db:
        order = db.conn.execute("SELECT order_id FROM work_orders WHERE rating_id = ?", (rating,)).fetchone()[
            0
        ]
    for step, extra in (("contacted", {}), ("rectifying", {}), ("replied", {"reply": "已增加叫号窗口"})):
        ctx.store.run(lambda db, s=step, e=extra: workorders.move(db, order, s, "zhao", now=ref.clock(), **e))
    sender = SmsSender(ctx, adapter(ref), adapter(ref, template=VERDICT))
    ref.clock.t = made["screen_until"] + 1
    sender.once()  # the reminder: skipped (rated); the verdict link: sent
    (message,) = ref.platform.inbox
    with ctx.store.read() as db:
        code, state = db.conn.execute(
            "SELECT code, state FROM sms_verdicts WHERE order_id = ?", (order,)
        ).fetchone()
    assert state == "sent" and "/s/%s" % code in message["text"] and message["mobile"] == "13800138000"
    hop = client.get("/s/%s" % code)
    assert hop.status_code == 303 and "/v/" in hop.headers["location"]
    page = client.get("/v/" + hop.headers["location"].split("/v/")[1])
    assert page.status_code == 200 and "已增加叫号窗口" in page.text
    ref.clock.t += 3600
    # proof uploaded on the replied order: an event of the order, not a new reply
    import io

    from PIL import Image

    from hostd.casework import citizen_verdict, evidence
    from hostd.files import uploads

    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "JPEG")
    proof = uploads.prepare(photo.getvalue(), 5120)
    supervisor = {"username": "zhao", "role": "supervisor", "staff_id": None}
    ctx.store.run(lambda db: evidence.attach(db, proof, supervisor, "p.jpg", order_id=order, now=ref.clock()))
    sender.once()
    assert len(ref.platform.inbox) == 1  # once per reply
    ctx.store.run(lambda db: citizen_verdict.citizen_verdict(db, order, "不满意", now=ref.clock()))
    ctx.store.run(
        lambda db: workorders.move(db, order, "replied", "zhao", reply="再次整改", now=ref.clock() + 60)
    )
    ref.clock.t += 120
    sender.once()
    assert len(ref.platform.inbox) == 2  # the new reply asks again
