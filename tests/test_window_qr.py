"""A window's standing QR code (issue 18, item 1): the counter sticker, and a
rating through it bound by its time to the session the window was serving,
else kept window-level. Through the real app (TestClient) on a real Store."""

import io
import re
import tomllib

import pytest
import tomli_w
import zxingcpp
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from pypdf import PdfReader

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.rules import links, sessions, staff
from hostd.web.app import create_app


class Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


T0 = 1_790_000_000


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home")
    raw = tomllib.loads(home.config_path.read_text())
    raw.setdefault("web", {})["public_url"] = "https://hall.example"  # the CLI's stickers read it too
    home.config_path.write_text(tomli_w.dumps(raw))
    config = home.config()
    store = Store(home.db_path)
    clock = Clock(T0)
    ctx = Context(home, config, store, clock=clock)
    store.run(lambda db: staff.add_staff(db, "s1", "张三", "0042", 0))
    store.run(lambda db: staff.add_window(db, ctx.hall, "09", "综合窗口"))
    store.run(lambda db: staff.on_duty(db, ctx.hall, "09", "s1", T0 - 3600, "test"))
    client = TestClient(create_app(ctx), base_url="https://hall.example")
    yield ctx, client, clock
    store.close()


def token_of(url):
    return url.split("/w/")[1]


def open_session(ctx, at):
    made = ctx.store.run(
        lambda db: sessions.create(db, ctx.config, ctx.hall, "09", "A001", "户口迁移", "s1", (), at)
    )
    return made["session_id"]


def rate(client, path, level, **more):
    page = client.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"csrf": csrf, "level": str(level)}
    bound = re.search(r'name="session_id" value="([^"]+)"', page.text)
    if bound:
        form["session_id"] = bound.group(1)
    form.update(more)
    return page, client.post(path + "/rate", data=form)


def ratings(ctx):
    with ctx.store.read() as db:
        return db.conn.execute(
            "SELECT channel, binding, session_id, window, staff_id, level FROM ratings ORDER BY id"
        ).fetchall()


def test_window_and_session_tokens_do_not_pass_for_each_other(hall):
    ctx, _, _ = hall
    url = links.window_url(ctx, "09", 3)
    assert links.verify_window(ctx, token_of(url)) == ("09", 3)
    session_token = links.make_token(ctx, "S1", T0 + 999)
    with pytest.raises(links.LinkInvalid):
        links.verify_window(ctx, session_token)
    with pytest.raises(links.LinkInvalid):
        links.verify(ctx, token_of(url))
    with pytest.raises(links.LinkInvalid):
        links.verify_window(ctx, token_of(url).replace("09", "08", 1))


def test_a_rating_with_no_session_to_bind_is_window_level(hall):
    ctx, client, _ = hall
    path = "/w/" + token_of(links.window_url(ctx, "09"))
    page, done = rate(client, path, 4)
    assert "综合窗口" in page.text and "张三" in page.text
    assert done.status_code == 200 and "感谢您的评价" in done.text
    assert ratings(ctx) == [("qr", "window", None, "09", "s1", 4)]  # counted for who was on duty
    with ctx.store.read() as db:
        assert db.conn.execute("SELECT COUNT(*) FROM upstream_outbox WHERE kind != 'service'").fetchone() == (
            0,
        )


def test_a_rating_binds_to_the_session_the_window_served_just_before(hall):
    ctx, client, clock = hall
    old = open_session(ctx, T0 - 1200)  # 20 minutes ago: past rating.window_qr_bind_s
    new = open_session(ctx, T0 - 60)
    path = "/w/" + token_of(links.window_url(ctx, "09"))
    page, done = rate(client, path, 2, reasons="2")
    assert "户口迁移" in page.text and done.status_code == 200
    assert ratings(ctx) == [("qr", "session", new, "09", "s1", 2)]
    with ctx.store.read() as db:
        state = dict(db.conn.execute("SELECT session_id, state FROM sessions").fetchall())
        assert state == {old: "open", new: "rated"}
        assert db.conn.execute("SELECT COUNT(*) FROM work_orders").fetchone() == (1,)
    # the next citizen: the window's session is rated, the old one too old: window-level
    clock.t += 30
    rate(client, path, 5)
    assert ratings(ctx)[-1] == ("qr", "window", None, "09", "s1", 5)


def test_a_session_rated_meanwhile_refuses_the_second_rating(hall):
    ctx, client, _ = hall
    sid = open_session(ctx, T0 - 30)
    path = "/w/" + token_of(links.window_url(ctx, "09"))
    page = client.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    from hostd.recording import channels

    ctx.store.run(lambda db: channels.record_rating(db, sid, "qr", 5, now=T0))  # rated on a phone meanwhile
    done = client.post(path + "/rate", data={"csrf": csrf, "level": "1", "reasons": "1", "session_id": sid})
    assert done.status_code == 409 and "已评价" in done.text  # one service, one rating
    assert [r[:3] for r in ratings(ctx)] == [("qr", "session", sid)]  # nothing counted twice


def test_a_bad_or_retired_sticker_says_so(hall, tmp_path):
    ctx, client, _ = hall
    first = tmp_path / "first.pdf"
    made = hostd(ctx.home, "window", "qr", "09", "--out", str(first))
    assert made.exit_code == 0, made.output
    old_url = made.output.split("(code 1, ")[1].split(")")[0]
    assert client.get("/w/" + token_of(old_url)).status_code == 200
    renewed = hostd(ctx.home, "window", "qr", "09", "--out", str(tmp_path / "second.pdf"), "--renew")
    assert renewed.exit_code == 0 and "code 2" in renewed.output
    retired = client.get("/w/" + token_of(old_url))
    assert retired.status_code == 410 and "已更换" in retired.text
    assert client.get("/w/not-a-token").status_code == 400
    unknown = hostd(ctx.home, "window", "qr", "77", "--out", str(tmp_path / "x.pdf"))
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output


def test_the_sticker_pdf_carries_the_window_and_its_code(hall, tmp_path):
    ctx, _, _ = hall
    out = tmp_path / "sticker.pdf"
    made = hostd(ctx.home, "window", "qr", "09", "--out", str(out))
    assert made.exit_code == 0, made.output
    reader = PdfReader(str(out))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 105  # A6
    text = page.extract_text()
    assert "综合窗口" in text and "扫码" in text
    (image,) = page.images
    from PIL import Image

    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    assert [c.text for c in codes] == [links.window_url(ctx, "09", 1)]
