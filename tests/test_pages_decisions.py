"""What a supervisor needs to act (issue 19): a work order names the service
and its case ids; an appeal shows the rating in full; no form decides for the
supervisor (the close form's verdict and the appeal's conclusion start empty,
and closing without one is refused)."""

from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import appeals


def _order_of(ctx, staff_id):
    with ctx.store.read() as db:
        return db.execute("SELECT order_id FROM work_orders WHERE staff_id = ?", [staff_id]).fetchone()[0]


def _move(client, order_id, **form):
    page = client.get("/workorders/%d" % order_id).text
    return client.post("/workorders/%d/move" % order_id, data=dict(form, csrf=csrf(page)))


def _state(ctx, order_id):
    with ctx.store.read() as db:
        return db.execute("SELECT state, feedback FROM work_orders WHERE order_id = ?", [order_id]).fetchone()


def test_a_work_order_names_its_service_and_cases(hall):  # noqa: F811
    ctx, _made = hall
    client = client_for(ctx)
    login(client, "zhao")
    order_id = _order_of(ctx, "s1")
    page = client.get("/workorders/%d" % order_id).text
    item = page.split('id="order-item">')[1].split("</td>")[0]
    cases = page.split('id="order-cases">')[1].split("</td>")[0]
    assert item == "营业执照办理（A001）" and cases.startswith("CASE-")
    assert '<option value="" selected disabled>请选择</option>' in page  # no move chosen for them


def test_closing_needs_the_complainants_verdict_or_says_they_were_unreachable(hall):  # noqa: F811
    ctx, _made = hall
    client = client_for(ctx)
    login(client, "zhao")
    order_id = _order_of(ctx, "s1")
    for to_state, extra in (("contacted", {}), ("rectifying", {}), ("replied", {"reply": "已优化叫号"})):
        assert _move(client, order_id, to_state=to_state, **extra).status_code == 303
    assert _state(ctx, order_id) == ("replied", None)
    refused = _move(client, order_id, to_state="closed", feedback="")
    assert refused.status_code == 303 and _state(ctx, order_id) == ("replied", None)  # nothing chosen
    assert _move(client, order_id, to_state="closed", feedback="unreachable").status_code == 303
    assert _state(ctx, order_id) == ("closed", None)
    with ctx.store.read() as db:
        note = db.execute(
            "SELECT note FROM work_order_events WHERE order_id = ? ORDER BY id DESC LIMIT 1", [order_id]
        ).fetchone()[0]
    assert "无法联系" in note


def test_an_appeal_shows_the_rating_in_full_and_no_conclusion_is_chosen(hall):  # noqa: F811
    ctx, made = hall
    bad = made["s2"][2]  # s2's 不满意
    ctx.store.run(lambda db: appeals.file(db, bad, "s2", "群众误按", actor="li"))
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/appeals").text
    row = page.split('class="rating">')[1].split("</td>")[0]
    assert "不满意" in row and "服务态度" in row and "等候时间太长" in row
    assert "营业执照办理（A001）" in row and "CASE-" in row
    assert '<option value="" selected>支持时选择结论</option>' in page
    decided = client.post("/appeals/1/decide", data={"csrf": csrf(page), "decision": "uphold", "verdict": ""})
    assert decided.status_code == 303
    with ctx.store.read() as db:
        assert db.execute("SELECT state FROM appeals").fetchone()[0] == "pending"  # not upheld blindly
