"""Odd and hostile input (issue 17, findings 1, 2, 10, 11): formula injection
and control characters in exports, text that displays wrongly, and numbers
or characters that used to give a 500 or a dropped connection."""

import csv
import io
import re

import openpyxl
import pytest
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from pages_seed import PASSWORD, open_context, seed

from hostd.base import text
from hostd.base.cells import safe_cell
from hostd.rules import staff
from hostd.web.api import ensure_token
from hostd.web.app import create_app


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w07-a", "--window", "07").exit_code == 0
    ctx = open_context(home)
    ctx.store.run(lambda db: seed(db))
    ctx.store.run(lambda db: staff.add_staff(db, "s9", "王五", "0099", 0))
    yield home, ctx
    ctx.store.close()


def api_client(home, ctx):
    client = TestClient(create_app(ctx), follow_redirects=False)
    client.headers["Authorization"] = "Bearer " + ensure_token(home)
    return client


def supervisor(ctx):
    client = TestClient(create_app(ctx), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post(
        "/login", data={"username": "zhao", "password": PASSWORD, "csrf": token, "next": "/dashboard"}
    )
    return client


@pytest.mark.parametrize(
    "value, expect",
    [
        ('=HYPERLINK("http://evil","点我")', '\'=HYPERLINK("http://evil","点我")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\r=1", "'\r=1"),
        ("态度很好", "态度很好"),
        ("a\x0bb\x00c", "abc"),
        (-5, -5),
        (None, None),
    ],
)
def test_cells_are_neutralised_as_owasp_advises(value, expect):
    assert safe_cell(value) == expect


def plant(ctx, comment):
    ctx.store.run(lambda db: db.execute("UPDATE ratings SET comment = ? WHERE id = 1", [comment]))


def test_a_planted_formula_exports_as_text_in_csv_and_xlsx(hall, tmp_path):
    home, ctx = hall
    plant(ctx, '=HYPERLINK("http://evil.example","点此领奖")')
    client = supervisor(ctx)
    rows = list(csv.reader(io.StringIO(client.get("/export/ratings.csv").text.lstrip("\ufeff"))))
    comments = [r[rows[0].index("留言")] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","点此领奖")' in comments
    assert not any(c.startswith("=") for c in comments)
    book = tmp_path / "r.xlsx"
    book.write_bytes(client.get("/export/ratings.xlsx").content)
    sheet = openpyxl.load_workbook(book).active
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("留言")] for row in sheet.iter_rows(min_row=2)]
    planted = [c for c in cells if c.value and "HYPERLINK" in c.value]
    assert len(planted) == 1 and planted[0].data_type == "s" and planted[0].value.startswith("'=")


def test_a_control_character_in_a_stored_value_no_longer_breaks_the_excel_export(hall, tmp_path):
    home, ctx = hall
    plant(ctx, "排队\x0b太久\x00")
    response = supervisor(ctx).get("/export/ratings.xlsx")
    assert response.status_code == 200
    book = tmp_path / "r.xlsx"
    book.write_bytes(response.content)
    values = [c.value for row in openpyxl.load_workbook(book).active.iter_rows() for c in row]
    assert "排队太久" in values


def session(client, **fields):
    body = {"window": "07", "item_code": "A001", "item_name": "户口迁移", "staff_id": "s9"}
    body.update(fields)
    return client.post("/api/v1/sessions", json=body)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"cases": [{"case_id": "C1\x00"}]}, "control character"),
        ({"item_name": "户口\u202e迁移"}, "bidi"),
        ({"item_name": "\u200b\u200b"}, "zero-width"),
        ({"staff_id": "s9", "item_name": "户口\u2066迁移"}, "bidi"),
        ({"item_code": "A\x0b1"}, "control character"),
    ],
)
def test_the_api_refuses_text_that_displays_wrongly(hall, fields, words):
    home, ctx = hall
    answer = session(api_client(home, ctx), **fields)
    assert answer.status_code in (400, 409, 422), answer.text
    assert words in answer.text


def test_an_item_name_of_ideographic_spaces_is_empty_and_names_are_nfc(hall):
    home, ctx = hall
    client = api_client(home, ctx)
    assert session(client, item_name="\u3000\u3000").status_code == 422
    made = session(client, item_name="Cafe\u0301 户口")
    assert made.status_code == 201 and made.json()["item_name"] == "Caf\u00e9 户口"


def test_odd_numbers_and_characters_get_a_4xx_not_a_500(hall):
    home, ctx = hall
    client = api_client(home, ctx)
    raw = '{"window": "07", "item_code": "A001", "item_name": "户口迁移", "staff_id": "s9", "cases": [%s]}'
    for case in ('{"case_id": "c1", "visit": 9223372036854775808}', '{"case_id": "c1", "visit": 1e400}'):
        answer = client.post(
            "/api/v1/sessions", content=raw % case, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"][-1] == "visit"
    lone = client.post(
        "/api/v1/sessions",
        content=(raw % '{"case_id": "c2"}').replace("户口迁移", "\\ud800"),
        headers={"Content-Type": "application/json"},
    )
    assert lone.status_code in (400, 422) and ("surrogate" in lone.text or "unicode" in lone.text)
    pages = supervisor(ctx)
    assert pages.get("/ratings?level=99999999999999999999").status_code == 422
    assert pages.get("/workorders/99999999999999999999").status_code == 422
    assert pages.get("/ratings?days=-5&evaluator=7").status_code == 422
    assert pages.get("/appeals?rating_id=-1").status_code == 422


def test_a_citizens_words_with_a_control_character_are_refused_not_stored():
    with pytest.raises(ValueError, match="control character"):
        text.free("很好\x0b", "comment")
    assert text.free("第一行\r\n第二行", "comment") == "第一行\n第二行"
    with pytest.raises(ValueError, match="bidi"):
        text.free("\u202e好评", "comment")
