"""书面评价 (paper forms) and the upload module (issue 18, item 3).

The entry through every door: hostd/recording/paper.py on a real Store, the
API (POST /api/v1/paper, multipart) and `hostd rating paper`; the scan checked
by content (hostd/files/uploads.py). The page and its browser walk are in
tests/test_paper_page.py.
"""

import io
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from hostd_support import hostd, make_home
from PIL import Image
from session_rows import add_session

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.files import uploads
from hostd.recording import channels, paper
from hostd.recording import evaluator as evaluators
from hostd.web.api import ensure_token
from hostd.web.app import create_app


def jpeg(size=(64, 48)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def png():
    out = io.BytesIO()
    Image.new("L", (20, 20), 128).save(out, "PNG")
    return out.getvalue()


def pdf():
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="form A-0001")
    return bytes(doc.output())


@pytest.fixture
def ctx(tmp_path):
    home = make_home(tmp_path / "home")
    store = Store(home.db_path)
    context = Context(home, home.config(), store)
    yield context
    store.close()


def open_session(ctx, sid, cases=1, period=86400):
    now = int(time.time())
    ctx.store.run(lambda db: add_session(db, sid, now - 60, now + period, cases=cases))
    return sid


def form(**given):
    base = {"level": 5, "serial": "A-0001", "reasons": [], "comment": None, "evaluator": evaluators.NONE}
    base.update(given)
    return base


def row(ctx, sql, *args):
    with ctx.store.read() as db:
        return db.conn.execute(sql, args).fetchone()


# -- the upload module --------------------------------------------------------


@pytest.mark.parametrize("make, kind", [(jpeg, "jpeg"), (png, "png"), (pdf, "pdf")])
def test_images_and_pdfs_are_recognised_by_their_content(make, kind):
    assert uploads.check(make(), 5120) == kind


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "空"),
        (b"hello, this is text with a .jpg name", "不是图片或 PDF"),
        (b"%PDF-1.7\nnot really a pdf at all", "PDF 文件已损坏"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "不是图片或 PDF"),  # a JPEG's magic, no JPEG
        (b"GIF89a" + b"\x00" * 64, "不是图片或 PDF"),  # a kind we do not take
    ],
)
def test_what_is_not_an_image_or_pdf_is_refused_with_the_reason(data, words):
    with pytest.raises(uploads.UploadError, match=words):
        uploads.check(data, 5120)


def test_an_oversized_file_is_refused():
    data = jpeg((900, 900)) + b"\x00" * 20_000  # trailing bytes: still a JPEG, now over 16 KB
    assert len(data) > 16 * 1024
    with pytest.raises(uploads.UploadError, match="超过上限 16 KB"):
        uploads.check(data, 16)


def test_an_upload_is_stored_once_by_its_sha256(ctx):
    data = pdf()
    scan = uploads.prepare(data, 5120)
    for _ in range(2):
        ctx.store.run(lambda db: uploads.record(db, scan, "clerk", 0))
    assert row(ctx, "SELECT COUNT(*), MIN(sha256) FROM uploads") == (1, scan.sha256)
    with ctx.store.read() as db:
        assert uploads.read(db, scan.sha256) == (data, "application/pdf")
        assert uploads.read(db, "0" * 64) is None


# -- the entry ----------------------------------------------------------------


def test_a_paper_form_rates_its_session_and_goes_upstream_as_paper(ctx):
    sid = open_session(ctx, "P1")
    done = paper.enter(ctx, form(session_id=sid, level=4, serial="A-0001"), "clerk", jpeg())
    assert done["session_id"] == sid
    rating = row(ctx, "SELECT channel, level, binding FROM ratings WHERE id = ?", done["rating_id"])
    assert rating == ("paper", 4, "session")
    assert row(ctx, "SELECT state FROM sessions WHERE session_id = ?", sid) == ("rated",)
    entered = row(
        ctx, "SELECT serial, entered_by, scan FROM paper_forms WHERE rating_id = ?", done["rating_id"]
    )
    assert entered[:2] == ("A-0001", "clerk") and len(entered[2]) == 64
    assert row(ctx, "SELECT kind, created_by FROM uploads WHERE sha256 = ?", entered[2]) == ("jpeg", "clerk")
    queued = row(ctx, "SELECT key FROM upstream_outbox WHERE key LIKE 'paper:%'")
    assert queued is not None and sid in queued[0]


def test_a_case_is_rated_through_the_session_of_its_latest_visit(ctx):
    open_session(ctx, "P2")
    ctx.store.run(lambda db: db.conn.execute("UPDATE session_cases SET visit = 2 WHERE session_id = 'P2'"))
    open_session(ctx, "P3")  # an older visit of the same case
    ctx.store.run(
        lambda db: db.conn.execute(
            "UPDATE session_cases SET case_id = 'P2-case-1', visit = 1 WHERE session_id = 'P3'"
        )
    )
    done = paper.enter(ctx, form(case_id="P2-case-1"), "clerk")
    assert done["session_id"] == "P2"


def test_a_service_rated_by_another_channel_refuses_the_form_and_says_which(ctx):
    sid = open_session(ctx, "P4")
    ctx.store.run(lambda db: channels.record_rating(db, sid, "qr", 5))
    with pytest.raises(channels.AlreadyRated, match="扫码评价"):
        paper.enter(ctx, form(session_id=sid, serial="A-0002"), "clerk", pdf())
    # nothing half-written: no paper row, and no scan
    assert row(ctx, "SELECT COUNT(*) FROM paper_forms") == (0,)
    assert row(ctx, "SELECT COUNT(*) FROM uploads") == (0,)


def test_a_serial_number_is_entered_once(ctx):
    open_session(ctx, "P5")
    open_session(ctx, "P6")
    paper.enter(ctx, form(session_id="P5", serial="B-7"), "clerk")
    with pytest.raises(paper.SerialTaken, match="B-7 已录入过"):
        paper.enter(ctx, form(session_id="P6", serial="B-7"), "clerk")
    assert row(ctx, "SELECT state FROM sessions WHERE session_id = 'P6'") == ("open",)


@pytest.mark.parametrize(
    "given, error, words",
    [
        ({"session_id": "nope"}, channels.SessionNotFound, "没有会话 nope"),
        ({"session_id": None, "case_id": "no-such-case"}, channels.SessionNotFound, "没有办件 no-such-case"),
        ({"session_id": None}, paper.PaperError, "二选一"),
        ({"serial": "  "}, paper.PaperError, "编号"),
        ({"level": 1}, channels.ReasonRequired, "差评"),
        ({"level": 9}, channels.ChannelError, "1-5"),
    ],
)
def test_bad_forms_are_refused_with_the_reason_and_store_nothing(ctx, given, error, words):
    open_session(ctx, "P7")
    with pytest.raises(error, match=words):
        paper.enter(ctx, form(**dict({"session_id": "P7"}, **given)), "clerk", png())
    assert row(ctx, "SELECT COUNT(*) FROM ratings") == (0,)
    assert row(ctx, "SELECT COUNT(*) FROM uploads") == (0,)


def test_a_named_paper_form_keeps_the_evaluator_only_with_consent(ctx):
    open_session(ctx, "P8")
    with pytest.raises(evaluators.EvaluatorError, match="同意回访"):
        evaluators.clean("王五", "13800138000", callback_consent=False)
    with pytest.raises(evaluators.EvaluatorError, match="不是有效的大陆手机号"):
        evaluators.clean("王五", "12345", callback_consent=True)
    named = evaluators.clean("王五", "+86 138-0013-8000", callback_consent=True)
    done = paper.enter(ctx, form(session_id="P8", level=2, reasons=[2], evaluator=named), "clerk")
    stored = row(
        ctx,
        "SELECT evaluator_name, evaluator_mobile, evaluator_consent, named FROM ratings WHERE id = ?",
        done["rating_id"],
    )
    assert stored == ("王五", "13800138000", 0, 1)


def test_the_paper_table_refuses_a_second_row_for_a_serial(ctx):
    """The schema holds the rule too, whoever writes."""
    open_session(ctx, "P9")
    paper.enter(ctx, form(session_id="P9", serial="C-1"), "clerk")
    with pytest.raises(sqlite3.IntegrityError):
        ctx.store.run(
            lambda db: db.conn.execute(
                "INSERT INTO paper_forms (rating_id, hall, serial, entered_by, entered_at)"
                " VALUES (999, 'h1', 'C-1', 'x', 0)"
            )
        )


# -- the API ------------------------------------------------------------------


@pytest.fixture
def api(ctx):
    client = TestClient(create_app(ctx))
    client.headers["Authorization"] = "Bearer " + ensure_token(ctx.home)
    return client


def post_paper(api, files=None, **fields):
    data = {"serial": "API-1", "level": "5", "entered_by": "window-system", "session_id": "A1"}
    data.update({k: v for k, v in fields.items() if v is not None})
    return api.post("/api/v1/paper", data=data, files=files)


def test_the_api_enters_a_form_with_its_scan(api, ctx):
    open_session(ctx, "A1")
    answer = post_paper(api, files={"scan": ("form.pdf", pdf(), "application/pdf")}, reasons=None)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["session_id"] == "A1" and made["serial"] == "API-1"
    assert row(ctx, "SELECT entered_by FROM paper_forms") == ("api:window-system",)


@pytest.mark.parametrize(
    "fields, files, status, error",
    [
        ({"session_id": "missing"}, None, 404, "unknown_session"),
        ({"evaluator_mobile": "010-12345678", "consent_callback": "true"}, None, 422, "bad_form"),
        ({}, {"scan": ("form.jpg", b"MZ\x90\x00 not a picture", "image/jpeg")}, 422, "bad_upload"),
        ({"level": "2"}, None, 422, "bad_form"),  # a 差评 without a reason
    ],
)
def test_the_api_refuses_bad_forms_with_a_reason(api, ctx, fields, files, status, error):
    open_session(ctx, "A1")
    answer = post_paper(api, files=files, **fields)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert detail["error"] == error and " / " in detail["reason"]
    assert row(ctx, "SELECT COUNT(*) FROM ratings") == (0,)


def test_the_api_refuses_a_second_rating_and_a_used_serial(api, ctx):
    open_session(ctx, "A1")
    open_session(ctx, "A2")
    assert post_paper(api).status_code == 201
    again = post_paper(api, serial="API-2")
    assert again.status_code == 409 and again.json()["detail"]["error"] == "already_rated"
    assert "书面评价" in again.json()["detail"]["reason"]
    taken = post_paper(api, session_id="A2")
    assert taken.status_code == 409 and taken.json()["detail"]["error"] == "serial_taken"


def test_an_oversized_scan_is_refused_before_it_is_read(api, ctx):
    open_session(ctx, "A1")
    limit = ctx.config["web"]["upload_max_kb"]
    huge = b"\xff" * ((limit + 40) * 1024)
    answer = post_paper(api, files={"scan": ("big.jpg", huge, "image/jpeg")})
    assert answer.status_code == 413
    assert row(ctx, "SELECT COUNT(*) FROM ratings") == (0,)


# -- the CLI ------------------------------------------------------------------


def test_the_cli_enters_a_form_and_refuses_mistakes_in_one_line(ctx, tmp_path):
    open_session(ctx, "C1", cases=1)
    scan = tmp_path / "form.png"
    scan.write_bytes(png())
    done = hostd(ctx.home, "rating", "paper", "--case", "C1-case-1", "--level", "满意",
                 "--serial", "CLI-1", "--scan", str(scan), "--actor", "李敏")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "paper form CLI-1 entered" in done.output and "C1" in done.output
    assert row(ctx, "SELECT entered_by, scan IS NOT NULL FROM paper_forms") == ("李敏", 1)

    again = hostd(ctx.home, "rating", "paper", "--session", "C1", "--level", "5", "--serial", "CLI-2")
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert "已有评价（书面评价）" in again.output

    text = tmp_path / "form.txt"
    text.write_text("not a scan")
    open_session(ctx, "C2")
    bad = hostd(ctx.home, "rating", "paper", "--session", "C2", "--level", "5", "--serial", "CLI-3",
                "--scan", str(text))  # fmt: skip
    assert bad.exit_code == 1 and "不是图片或 PDF" in bad.output
    assert row(ctx, "SELECT state FROM sessions WHERE session_id = 'C2'") == ("open",)
    assert row(ctx, "SELECT COUNT(*), MIN(created_by) FROM uploads") == (1, "李敏")  # CLI-1's scan only


@pytest.mark.parametrize("upstream", [False, True])
def test_evaluator_details_go_upstream_only_with_the_second_consent(ctx, upstream):
    open_session(ctx, "U1")
    who = evaluators.clean("王五", "13800138000", callback_consent=True, upstream_consent=upstream)
    paper.enter(ctx, form(session_id="U1", evaluator=who), "clerk")
    body = row(ctx, "SELECT body FROM upstream_outbox WHERE kind = 'rating'")[0]
    assert ("13800138000" in body and "王五" in body) is upstream
