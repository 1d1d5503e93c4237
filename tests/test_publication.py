"""Publication (issue 25, item 6): the hall display adds this quarter's 整改情况
and the windows' quarterly ranking, and the same figures print as an A3
poster. Aggregates only: no evaluator, comment or phone ever shows."""

import io
import subprocess

import pypdf
from hostd_support import hostd, make_home
from pages_seed import SCREENS, open_context, seed
from test_pages_auth import client_for, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.base import clock
from hostd.reporting import publication

SECRETS = ("王秘密", "13800138000", "等候时间太长")


def test_the_display_shows_rectification_and_the_window_ranking(hall):  # noqa: F811
    ctx, made = hall
    ctx.config["ranking"]["min_ratings"] = 1
    with ctx.store.read() as db:
        order = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's1'").fetchone()[0]
    ctx.store.run(
        lambda db: db.execute(
            "UPDATE work_orders SET state = 'closed', done_at = opened_at + 60, closed_at = opened_at + 60"
            " WHERE order_id = ?",
            [order],
        )
    )
    with ctx.store.read() as db:
        data = publication.figures(db, "h1", ctx.config, int(clock.now()))
    assert data["rectification"] == {
        "orders": 2,
        "finished": 1,
        "on_time": 1,
        "open": 1,
        "overdue": 0,
        "on_time_rate": 0.5,
    }
    assert [(r["rank"], r["window"]) for r in data["ranking"]] == [(1, "W01"), (2, "W02")]  # 3/4 good vs 1/3
    page = client_for(ctx).get("/display")  # no login
    assert page.status_code == 200
    html = page.text
    assert 'id="fix-orders">2<' in html and 'id="fix-rate">50.0%<' in html
    assert "窗口季度排名" in html and "W01 1号窗口" in html
    assert not any(secret in html for secret in SECRETS)


def test_the_poster_is_an_a3_pdf_of_the_same_figures(hall):  # noqa: F811
    ctx, _ = hall
    ctx.config["ranking"]["min_ratings"] = 1
    anonymous = client_for(ctx)
    assert anonymous.get("/display/poster.pdf").status_code == 303  # to the login page
    zhang = client_for(ctx)
    login(zhang, "zhang")
    assert zhang.get("/display/poster.pdf").status_code == 403
    zhao = client_for(ctx)
    login(zhao, "zhao")
    got = zhao.get("/display/poster.pdf")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(got.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 1191)  # A3 in points
    text = "".join(page.extract_text() for page in reader.pages)
    for words in ("政务服务“好差评”公示", "差评整改情况", "按时整改率", "窗口季度排名", "W01 1号窗口"):
        assert words in text, words
    assert not any(secret in text for secret in SECRETS)


def test_cli_writes_the_poster(tmp_path):
    home = make_home(tmp_path / "home", hall="h1")
    ctx = open_context(home)
    ctx.store.run(lambda db: seed(db))
    ctx.store.close()
    out = tmp_path / "poster.pdf"
    done = hostd(home, "poster", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "7 ratings, 2 差评工单 (0 on time)" in done.output
    assert pypdf.PdfReader(str(out)).pages[0].extract_text().count("差评整改情况") == 1
    SCREENS.mkdir(parents=True, exist_ok=True)  # docs/screens/poster-a3.png with UPDATE_SCREENS=1
    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", "-singlefile", str(out), str(SCREENS / "poster-a3")], check=True
    )
    refused = hostd(home, "poster", "--out", str(tmp_path / "no-such-dir" / "p.pdf"))
    assert refused.exit_code == 1 and "cannot write" in refused.output and "Traceback" not in refused.output


def test_a_replied_order_counts_as_rectified_and_never_more_than_the_orders(hall):  # noqa: F811
    ctx, _ = hall
    with ctx.store.read() as db:
        orders = [r[0] for r in db.execute("SELECT order_id FROM work_orders ORDER BY order_id")]
    ctx.store.run(
        lambda db: db.execute(
            "UPDATE work_orders SET state = 'replied', done_at = opened_at + 60, reply = '已整改'"
            " WHERE order_id = ?",
            [orders[0]],
        )
    )
    with ctx.store.read() as db:
        fix = publication.figures(db, "h1", ctx.config, int(clock.now()))["rectification"]
    assert fix == {"orders": 2, "finished": 1, "on_time": 1, "open": 1, "overdue": 0, "on_time_rate": 0.5}
