"""Rate-later floods (issue 17, finding 13): ratings per address per minute
with a burst allowance; a hall's worth of phones behind one address still
rate; and the fraud scan runs daily on its own."""

import time

import pytest
from fastapi.testclient import TestClient
from hostd_support import make_home
from session_rows import add_session

from hostd.base.context import Context
from hostd.casework import fraud
from hostd.casework.fraud_daily import scan_last_day
from hostd.db.store import Store
from hostd.rules import links
from hostd.web.app import create_app
from hostd.web.throttle import PerAddress


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def site(tmp_path):
    home = make_home(tmp_path / "home")
    store = Store(home.db_path)
    ctx = Context(home, home.config(), store)
    app = create_app(ctx)
    clock = FakeClock()
    app.state.ratelater_throttle = PerAddress(20, clock=clock)
    yield ctx, TestClient(app, follow_redirects=False), clock
    store.close()


def rate(ctx, client, n):
    sid = "S-%d" % n
    created = int(time.time()) - 60
    ctx.store.run(lambda db: add_session(db, sid, created, created + 86400))
    token = links.rate_url(ctx, sid, created + 86400).rsplit("/", 1)[1]
    client.get("/r/%s" % token)
    return client.post("/r/%s/rate" % token, data={"level": "5", "csrf": client.cookies.get("hcp_csrf")})


def ratings(ctx):
    with ctx.store.read() as db:
        return db.conn.execute("SELECT COUNT(*) FROM ratings WHERE channel = 'qr'").fetchone()[0]


def test_a_flood_from_one_address_is_slowed_down(site):
    ctx, client, clock = site
    codes = [rate(ctx, client, n).status_code for n in range(25)]
    assert codes[:20] == [303] * 20 and codes[20:] == [429] * 5
    assert ratings(ctx) == 20
    answer = rate(ctx, client, 99)
    assert answer.status_code == 429 and "一分钟后再试" in answer.text
    clock.t += 3  # one token back every 3 s
    assert rate(ctx, client, 100).status_code == 303


def test_a_busy_halls_phones_behind_one_address_all_rate(site):
    ctx, client, clock = site
    # a citizen every 4 s for half an hour, all through the hall's guest Wi-Fi
    for n in range(450):
        assert rate(ctx, client, n).status_code == 303, n
        clock.t += 4
    assert ratings(ctx) == 450


def test_the_daily_fraud_scan_keeps_flags_without_anyone_running_it(site):
    ctx, client, clock = site
    for n in range(25):  # a burst from one address, faster than any window
        rate(ctx, client, n)
        clock.t += 0.1
    new = scan_last_day(ctx.store)
    with ctx.store.read() as db:
        kinds = {f["kind"] for f in fraud.list_flags(db)}
    assert new >= 1 and kinds
    assert scan_last_day(ctx.store) == 0  # the next day's run refreshes, adds nothing twice
