"""The complainant's verdict on a rectification (issue 25, item 3): the work
order's page gives a signed link once the order is replied; the complainant
rates the result 满意 / 基本满意 / 不满意 on it; 不满意 sends the order back
to rectifying. Through the real app on a real Store."""

import re

from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import workorders
from hostd.rules import links

DAY = 86400


def replied_order(ctx, staff_id="s1"):
    with ctx.store.read() as db:
        order = db.execute("SELECT order_id FROM work_orders WHERE staff_id = ?", [staff_id]).fetchone()[0]
    for step, extra in (
        ("contacted", {}),
        ("rectifying", {}),
        ("replied", {"reply": "已增加周末窗口，缩短等候"}),
    ):
        ctx.store.run(lambda db, s=step, e=extra: workorders.move(db, order, s, "zhao", **e))
    return order


def verdict_path(ctx, client, order):
    page = client.get("/workorders/%d" % order).text
    url = re.search(r'id="verdict-link">[^<]*<a href="([^"]+)"', page).group(1)
    return "/" + url.split("/", 3)[3]


def state(ctx, order):
    with ctx.store.read() as db:
        return db.execute("SELECT state, feedback FROM work_orders WHERE order_id = ?", [order]).fetchone()


def test_the_complainant_closes_a_replied_order_with_their_verdict(hall):  # noqa: F811
    ctx, _ = hall
    order = replied_order(ctx)
    zhao = client_for(ctx)
    login(zhao, "zhao")
    path = verdict_path(ctx, zhao, order)
    phone = client_for(ctx)
    page = phone.get(path)
    assert page.status_code == 200 and "已增加周末窗口" in page.text and "基本满意" in page.text
    done = phone.post(path, data={"csrf": csrf(page.text), "feedback": "基本满意"})
    assert done.status_code == 200 and "工单已办结" in done.text
    assert state(ctx, order) == ("closed", "基本满意")
    with ctx.store.read() as db:
        last = db.execute(
            "SELECT actor, note FROM work_order_events WHERE order_id = ? ORDER BY id DESC LIMIT 1", [order]
        ).fetchone()
    assert last[0] == "citizen" and last[1].startswith("群众评价：基本满意（本人评价）；来自 testclient")
    again = phone.get(path)
    assert again.status_code == 409 and "不在等待您的评价" in again.text


def test_not_satisfied_sends_the_order_back_and_a_new_reply_asks_again(hall):  # noqa: F811
    ctx, _ = hall
    order = replied_order(ctx)
    zhao = client_for(ctx)
    login(zhao, "zhao")
    path = verdict_path(ctx, zhao, order)
    phone = client_for(ctx)
    page = phone.get(path).text
    nothing = phone.post(path, data={"csrf": csrf(page), "feedback": ""})
    assert nothing.status_code == 422 and state(ctx, order) == ("replied", None)
    forged = phone.post(path, data={"csrf": "not-the-cookie", "feedback": "满意"})
    assert forged.status_code == 403 and state(ctx, order) == ("replied", None)
    back = phone.post(path, data={"csrf": csrf(page), "feedback": "不满意"})
    assert back.status_code == 200 and "重新整改" in back.text
    assert state(ctx, order) == ("rectifying", None)
    with ctx.store.read() as db:  # open again: its reply no longer counts as done
        assert db.execute("SELECT done_at FROM work_orders WHERE order_id = ?", [order]).fetchone() == (None,)
    assert 'id="verdict-link"' not in zhao.get("/workorders/%d" % order).text  # not awaiting a verdict now
    ctx.store.run(lambda db: workorders.move(db, order, "replied", "zhao", reply="已调整叫号规则"))
    assert "已调整叫号规则" in phone.get(verdict_path(ctx, zhao, order)).text


def test_hall_staff_cannot_answer_for_the_complainant(hall):  # noqa: F811
    ctx, _ = hall
    order = replied_order(ctx)
    zhao = client_for(ctx)
    login(zhao, "zhao")
    path = verdict_path(ctx, zhao, order)
    page = zhao.get(path).text
    answer = zhao.post(path, data={"csrf": csrf(page), "feedback": "满意"})
    assert answer.status_code == 403 and "群众本人" in answer.text
    assert state(ctx, order) == ("replied", None)


def test_a_tampered_or_expired_link_says_so_and_staff_see_no_link(hall):  # noqa: F811
    ctx, _ = hall
    order = replied_order(ctx)
    phone = client_for(ctx)
    assert phone.get("/v/not-a-token").status_code == 400
    other = links.verdict_url(ctx, order + 100, ctx.clock.now() + DAY)
    assert phone.get("/" + other.split("/", 3)[3]).status_code == 404  # no such order
    old = links.verdict_url(ctx, order, ctx.clock.now() - 1)
    assert phone.get("/" + old.split("/", 3)[3]).status_code == 410
    zhang = client_for(ctx)
    login(zhang, "zhang")  # the order's staff member: the link is the supervisor's to send
    assert 'id="verdict-link"' not in zhang.get("/workorders/%d" % order).text
