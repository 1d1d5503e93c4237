"""The list pages at size: 评价明细 and 差评工单 a hundred rows a page, and 季度排名
(FastAPI TestClient, real SQLite, the seeded hall of tests/pages_seed.py)."""

import re
import time

import pytest
from fastapi.testclient import TestClient
from hostd_support import make_home
from pages_seed import PASSWORD, open_context, seed

from hostd.reporting import periods, ranking
from hostd.web.app import create_app
from hostd.web.pages.common import quarter_spec


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """150 ratings in the last 150 minutes, all in one quarter (past its first
    hours): s1 120 差评 (120 open work orders), s2 30 非常满意."""
    home = make_home(tmp_path_factory.mktemp("lists") / "home", hall="h1")
    ctx = open_context(home)
    now = max(time.time(), periods.period(periods.quarter_of(time.time()))[0] + 4 * 3600)
    ctx.store.run(lambda db: seed(db, now=now, levels={"s1": (1,) * 120, "s2": (5,) * 30}))
    client = TestClient(create_app(ctx), follow_redirects=False)
    client.seeded_at = now
    yield ctx, client
    ctx.store.close()


def login(client, username):
    client.cookies.clear()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
    assert answer.status_code == 303, answer.text[:300]


def ids(html, prefix):
    return re.findall(r">%s(\d+)<" % re.escape(prefix), html)


def test_ratings_come_a_hundred_a_page(big):
    _ctx, client = big
    login(client, "zhao")
    first = client.get("/ratings")
    assert first.status_code == 200
    one = ids(first.text, "#")
    assert len(one) == 100 and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/ratings?page=2")
    two = ids(second.text, "#")
    assert len(two) == 50 and 'rel="next"' not in second.text and 'rel="prev"' in second.text
    assert not set(one) & set(two) and len(set(one) | set(two)) == 150
    assert client.get("/ratings?page=0").status_code == 422  # out of range: the usual 422


def test_the_work_order_queue_counts_and_pages(big):
    _ctx, client = big
    login(client, "zhao")
    first = client.get("/workorders")
    assert "共 120 条" in first.text and "第 1 页" in first.text
    one = ids(first.text, "#")
    second = client.get(re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&"))
    two = ids(second.text, "#")
    assert len(one) == 100 and len(two) == 20 and not set(one) & set(two)
    login(client, "li")  # s2 has no 差评: an empty queue, no pager links
    mine = client.get("/workorders")
    assert "共 0 条" in mine.text and "没有符合条件的工单" in mine.text and 'rel="next"' not in mine.text


def test_the_quarterly_ranking_page(big):
    ctx, client = big
    login(client, "zhao")
    quarter = periods.quarter_of(client.seeded_at)
    page = client.get("/ranking?quarter=" + quarter)
    assert page.status_code == 200 and quarter in page.text
    with ctx.store.read() as db:
        expected = ranking.ranking(db, quarter, by="staff", config=ctx.config)
    assert [r["key"] for r in expected] == ["s2", "s1"]  # 30 非常满意 above 120 差评
    table = page.text[page.text.index('id="ranking"') :]
    assert table.index("李娜") < table.index("张伟")
    assert "%.2f" % expected[0]["score"] in table and "%.2f" % expected[1]["score"] in table
    by_unit = client.get("/ranking?by=unit&quarter=%s" % quarter.lower())
    assert by_unit.status_code == 200 and "市场监管局" in by_unit.text
    assert quarter_spec() in client.get("/ranking").text  # this quarter unless one is asked for
    wrong = client.get("/ranking?quarter=2026-11")
    assert wrong.status_code == 400 and "2026Q4" in wrong.text
    assert client.get("/ranking?by=nobody").status_code == 400
    login(client, "zhang")  # staff do not see everyone's ranking
    assert client.get("/ranking").status_code == 403
