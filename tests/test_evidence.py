"""佐证材料 and 举证 (issue 25, item 2): files on a work order and on an appeal,
checked by content through the one upload module, shown only to those
allowed, every opening logged, listed in the quarterly report."""

import io

import openpyxl
from PIL import Image
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import appeals, workorders
from hostd.reporting import report


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def order_of(ctx, staff_id):
    with ctx.store.read() as db:
        return db.execute("SELECT order_id FROM work_orders WHERE staff_id = ?", [staff_id]).fetchone()[0]


def one(ctx, sql, *args):
    with ctx.store.read() as db:
        return db.execute(sql, list(args)).fetchone()


def upload(client, path, data, name="after.jpg", note="整改后现场照片"):
    page = client.get("/dashboard").text  # the session's CSRF token (the logout form carries it)
    return client.post(
        path, data={"csrf": csrf(page), "note": note}, files={"file": (name, data, "image/jpeg")}
    )


def test_the_order_s_staff_member_adds_proof_and_only_the_allowed_open_it(hall):  # noqa: F811
    ctx, _ = hall
    order = order_of(ctx, "s1")
    zhang = client_for(ctx)
    login(zhang, "zhang")  # s1, whose order it is
    done = upload(zhang, "/workorders/%d/evidence" % order, jpeg())
    assert done.status_code == 303
    attachment, name, by = one(ctx, "SELECT id, name, added_by FROM attachments WHERE order_id = ?", order)
    assert (name, by) == ("after.jpg", "zhang")
    assert (
        "上传佐证材料：after.jpg"
        in one(ctx, "SELECT note FROM work_order_events WHERE order_id = ? ORDER BY id DESC LIMIT 1", order)[
            0
        ]
    )
    page = zhang.get("/workorders/%d" % order).text
    assert "/attachments/%d" % attachment in page
    assert zhang.get("/attachments/%d" % attachment).status_code == 200  # their own order's
    li = client_for(ctx)
    login(li, "li")  # s2: not theirs
    assert li.get("/attachments/%d" % attachment).status_code == 404
    refused = upload(li, "/workorders/%d/evidence" % order, jpeg())
    assert refused.status_code == 303 and one(ctx, "SELECT COUNT(*) FROM attachments")[0] == 1
    zhao = client_for(ctx)
    login(zhao, "zhao")
    got = zhao.get("/attachments/%d" % attachment)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(got.content)).size == (40, 30)
    with ctx.store.read() as db:
        reads = db.execute(
            "SELECT username, fields, purpose FROM evaluator_access WHERE fields = ? ORDER BY id",
            ["attachment:%d" % attachment],
        ).fetchall()
    assert reads == [
        ("zhang", "attachment:%d" % attachment, "evidence"),
        ("zhao", "attachment:%d" % attachment, "evidence"),
    ]
    admin = client_for(ctx)
    login(admin, "admin")  # admins do not see evaluator data, nor evidence that may show it
    assert admin.get("/attachments/%d" % attachment).status_code == 404


def test_a_file_that_is_not_an_image_or_pdf_is_refused_and_nothing_is_kept(hall):  # noqa: F811
    ctx, _ = hall
    order = order_of(ctx, "s1")
    zhao = client_for(ctx)
    login(zhao, "zhao")
    answer = upload(zhao, "/workorders/%d/evidence" % order, b"MZ\x90\x00 an exe renamed", name="photo.jpg")
    assert answer.status_code == 303
    assert "不是图片或 PDF" in zhao.get("/workorders/%d" % order).text  # the flash on the way back
    assert one(ctx, "SELECT COUNT(*) FROM attachments")[0] == 0
    assert one(ctx, "SELECT COUNT(*) FROM uploads")[0] == 0


def test_a_finished_order_takes_no_more_proof(hall):  # noqa: F811
    ctx, _ = hall
    order = order_of(ctx, "s1")
    ctx.store.run(lambda db: workorders.move(db, order, "explained", "zhao", explanation="诉求不合理"))
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/workorders/%d" % order).text
    assert 'id="evidence-form"' not in page
    upload(zhao, "/workorders/%d/evidence" % order, jpeg())
    assert one(ctx, "SELECT COUNT(*) FROM attachments")[0] == 0


def test_an_appeal_brings_its_evidence_and_the_report_lists_it(hall, tmp_path):  # noqa: F811
    ctx, made = hall
    bad = made["s2"][2]
    li = client_for(ctx)
    login(li, "li")
    form = li.get("/appeals?rating_id=%d" % bad).text
    filed = li.post(
        "/appeals",
        data={"csrf": csrf(form), "rating_id": str(bad), "reason": "群众误按，有现场录像截图"},
        files={"file": ("screen.jpg", jpeg(), "image/jpeg")},
    )
    assert filed.status_code == 303
    appeal_id, name = one(ctx, "SELECT appeal_id, name FROM attachments WHERE appeal_id IS NOT NULL")
    assert name == "screen.jpg"
    assert upload(li, "/appeals/%d/evidence" % appeal_id, jpeg(), name="more.jpg").status_code == 303
    assert one(ctx, "SELECT COUNT(*) FROM attachments WHERE appeal_id = ?", appeal_id)[0] == 2
    ctx.store.run(lambda db: appeals.decide(db, appeal_id, False, "zhao", note="证据不足"))
    upload(li, "/appeals/%d/evidence" % appeal_id, jpeg(), name="late.jpg")  # decided: refused
    assert one(ctx, "SELECT COUNT(*) FROM attachments WHERE appeal_id = ?", appeal_id)[0] == 2
    out = tmp_path / "report.xlsx"
    with ctx.store.read() as db:
        built = report.build(db, quarter=report_quarter(), config=ctx.config)
    report.write(built, "xlsx", out)
    sheet = [ws for ws in openpyxl.load_workbook(out).worksheets if ws.title.startswith("佐证")][0]
    names = [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert names == ["screen.jpg", "more.jpg"]


def report_quarter():
    from hostd.web.pages.common import quarter_spec

    return quarter_spec()
