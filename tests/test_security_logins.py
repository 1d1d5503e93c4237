"""Logins and sessions of the hall pages (issue 17, findings 3 and 4):
throttling with backoff per account and per address, a lockout an admin
lifts, the login audit log, the password policy, and sessions that end at
logout, a password change or disabling, copies included."""

import re

import pytest
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from pages_seed import PASSWORD, open_context, seed

from hostd.base import clock
from hostd.web import auth, logins
from hostd.web.app import create_app


@pytest.fixture
def hall(tmp_path, monkeypatch):
    monkeypatch.setenv(clock.ENV, str(tmp_path / "clock-offset"))
    home = make_home(tmp_path / "home")
    ctx = open_context(home)
    ctx.store.run(lambda db: seed(db))
    yield home, ctx
    ctx.store.close()


def move_clock(tmp_path, seconds):
    clock.set_offset(str(tmp_path / "clock-offset"), seconds)


def client_for(ctx, base_url="http://testserver"):
    return TestClient(create_app(ctx), follow_redirects=False, base_url=base_url)


def login(client, username, password=PASSWORD):
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token, "next": "/"}
    )


def events(ctx, username=None):
    with ctx.store.read() as db:
        rows = logins.recent(db, 500)
    return [r for r in rows if username is None or r["username"] == username]


def test_forty_wrong_passwords_then_the_right_one_do_not_get_in(hall, tmp_path):
    home, ctx = hall
    client = client_for(ctx)
    codes = [login(client, "zhao", "wrong-%d" % i).status_code for i in range(40)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    right = login(client, "zhao")
    assert right.status_code == 429 and "hostd user unlock zhao" in right.text
    assert client.get("/dashboard").status_code == 303  # not logged in
    move_clock(tmp_path, 31)  # the first wait (30 s) has passed: one more try is allowed
    assert login(client, "zhao", "wrong-again").status_code == 401
    assert login(client, "zhao").status_code == 429  # and the next wait is twice as long
    move_clock(tmp_path, 31 + 61)
    assert login(client, "zhao").status_code == 303  # the right password, after the wait


def test_an_admin_lifts_the_lockout_and_it_is_logged(hall):
    home, ctx = hall
    client = client_for(ctx)
    for i in range(6):
        login(client, "zhao", "wrong-%d" % i)
    assert login(client, "zhao").status_code == 429
    result = hostd(home, "user", "unlock", "zhao")
    assert result.exit_code == 0 and "unlocked zhao" in result.output
    assert login(client, "zhao").status_code == 303
    results = [e["result"] for e in events(ctx, "zhao")]
    assert results[0] == "ok" and results[1] == "unlock" and "throttled" in results
    assert results.count("bad_password") == 5  # the 6th try waited: no password was checked


def test_failed_and_successful_logins_are_audited_with_their_address(hall):
    home, ctx = hall
    client = client_for(ctx)
    login(client, "nobody", "whatever-123")
    login(client, "zhao", "wrong-password")
    login(client, "zhao")
    (ok, bad, unknown) = events(ctx)[:3]
    assert (ok["result"], bad["result"], unknown["result"]) == ("ok", "bad_password", "unknown_user")
    assert ok["address"] == "testclient" and unknown["username"] == "nobody"


def test_one_address_trying_many_accounts_is_throttled(hall):
    home, ctx = hall
    client = client_for(ctx)
    codes = [login(client, "user%d" % i, "wrong-password").status_code for i in range(25)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    assert login(client, "zhao").status_code == 429  # even a good account, from this address
    assert hostd(home, "user", "unlock", "--address", "testclient").exit_code == 0
    assert login(client, "zhao").status_code == 303


@pytest.mark.parametrize(
    "password, words",
    [("short-1", "at least 10"), ("password123", "too common"), ("qwertyuiop", "too common")],
)
def test_the_password_policy(password, words):
    with pytest.raises(auth.BadUser, match=words):
        auth.check_password(password, "wang")


def test_a_copied_cookie_stops_working_at_logout(hall):
    home, ctx = hall
    client = client_for(ctx)
    assert login(client, "zhao").status_code == 303
    copied = dict(client.cookies)
    page = client.get("/dashboard")
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    thief = client_for(ctx)
    thief.cookies.update(copied)
    assert thief.get("/dashboard").status_code == 303  # to the login page


def test_disable_and_passwd_end_sessions_at_once(hall):
    home, ctx = hall
    client = client_for(ctx)
    assert login(client, "zhao").status_code == 303
    assert hostd(home, "user", "disable", "zhao").exit_code == 0
    assert client.get("/dashboard").status_code == 303
    assert login(client, "zhao").status_code == 401  # disabled
    assert hostd(home, "user", "enable", "zhao").exit_code == 0
    assert login(client, "zhao").status_code == 303
    from click.testing import CliRunner

    from hostd.cli import cli

    changed = CliRunner().invoke(
        cli, ["--home", str(home.path), "user", "passwd", "zhao"], input="Another-long-phrase-77\n"
    )
    assert changed.exit_code == 0, changed.output
    assert client.get("/dashboard").status_code == 303
    missing = hostd(home, "user", "disable", "ghost")
    assert missing.exit_code != 0 and "hostd user list" in missing.output


def test_remove_ends_sessions_and_never_leaves_the_hall_without_an_admin(hall):
    home, ctx = hall
    client = client_for(ctx)
    assert login(client, "zhao").status_code == 303
    removed = hostd(home, "user", "remove", "zhao", "--yes")
    assert removed.exit_code == 0 and "removed zhao" in removed.output, removed.output
    assert client.get("/dashboard").status_code == 303  # logged out
    assert login(client, "zhao").status_code == 401
    with ctx.store.read() as db:
        admins = [u["username"] for u in auth.list_users(db) if u["role"] == "admin"]
    for name in admins[1:]:
        assert hostd(home, "user", "remove", name, "--yes").exit_code == 0
    last = hostd(home, "user", "remove", admins[0], "--yes")
    assert last.exit_code != 0 and "only enabled admin" in last.output and "Traceback" not in last.output
    with ctx.store.read() as db:
        assert auth.get_user(db, admins[0]) is not None
    assert "hostd user list" in hostd(home, "user", "remove", "ghost", "--yes").output


def test_the_session_cookie_is_secure_behind_https(hall):
    home, ctx = hall
    plain = login(client_for(ctx), "zhao")
    assert "secure" not in plain.headers["set-cookie"].lower()
    secure = login(client_for(ctx, "https://hall.example"), "li")
    assert "secure" in secure.headers["set-cookie"].lower()
    ctx.config["web"]["public_url"] = "https://hall.example"  # TLS ends at a proxy in front
    behind_proxy = client_for(ctx).get("/login")
    assert "secure" in behind_proxy.headers["set-cookie"].lower()
