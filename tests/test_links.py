"""Signed, expiring rate-later links: round trip, tampering, expiry, and URL/QR size."""

import os
import stat

import pytest
import qrcode
from hostd_support import make_home

from hostd.base.context import Context
from hostd.rules import links


class FixedClock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


@pytest.fixture
def ctx(tmp_path):
    home = make_home(tmp_path / "home")
    config = home.config()
    config["web"]["public_url"] = "http://192.168.100.200:8080"
    return Context(home, config, store=None, clock=FixedClock(1_790_000_000))


def token_of(url):
    return url.rsplit("/r/", 1)[1]


def test_round_trip(ctx):
    url = links.rate_url(ctx, "S20261121-000123", 1_790_500_000)
    assert url.startswith("http://192.168.100.200:8080/r/")
    assert links.verify(ctx, token_of(url)) == ("S20261121-000123", 1_790_500_000)


def test_secret_is_made_once_and_private(ctx):
    url = links.rate_url(ctx, "s-1", 1_790_500_000)
    path = os.path.join(str(ctx.home.keys), links.SECRET_NAME)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(open(path).read().strip()) == 64
    assert links.rate_url(ctx, "s-1", 1_790_500_000) == url  # same secret, same link


@pytest.mark.parametrize("change", ["signature", "session", "expiry", "cut", "empty", "junk"])
def test_tampered_links_are_invalid(ctx, change):
    token = token_of(links.rate_url(ctx, "s-1", 1_790_500_000))
    expiry, session, signature = token.split(".")
    bad = {
        "signature": "%s.%s.%s"
        % (expiry, session, signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]),
        "session": "%s.%s.%s" % (expiry, "s-2", signature),
        "expiry": "%s.%s.%s" % (links._base36(1_890_500_000), session, signature),
        "cut": token[:-3],
        "empty": "",
        "junk": "%%%.<script>",
    }[change]
    with pytest.raises(links.LinkInvalid):
        links.verify(ctx, bad)


def test_another_halls_link_is_invalid(ctx, tmp_path):
    other_home = make_home(tmp_path / "other")
    other = Context(other_home, ctx.config, store=None, clock=ctx.clock)
    with pytest.raises(links.LinkInvalid):
        links.verify(ctx, token_of(links.rate_url(other, "s-1", 1_790_500_000)))


def test_expired(ctx):
    token = token_of(links.rate_url(ctx, "s-1", 1_790_000_100))
    ctx.clock.t = 1_790_000_100
    assert links.verify(ctx, token)[0] == "s-1"
    ctx.clock.t = 1_790_000_101
    with pytest.raises(links.LinkExpired) as err:
        links.verify(ctx, token)
    assert err.value.session_id == "s-1"


def qr_size(url):
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.version, qr.modules_count + 2 * 2


@pytest.mark.parametrize(
    "session_id, max_len, max_version",
    [
        ("s3f2b8c1e9a7d", 80, 5),  # hostd.rules.sessions.new_session_id(): "s" + 12 hex
        ("3f2b8c1e9a7d4e6f8b0c1d2e3f4a5b6c", 100, 6),  # a uuid-long id from elsewhere
    ],
)
def test_url_is_short_enough_for_the_device_qr(ctx, capsys, session_id, max_len, max_version):
    # A LAN address with a port, as the default public base would be.
    url = links.rate_url(ctx, session_id, 1_790_500_000)
    version, modules = qr_size(url)
    with capsys.disabled():
        print(
            "\nrate-later URL for a %d-char session id: %d chars, QR version %d (M), "
            "%d modules with border" % (len(session_id), len(url), version, modules)
        )
    assert len(url) <= max_len and version <= max_version
    assert modules * 3 <= 160  # 3 px a module fits in 160 of the screen's 240 rows
