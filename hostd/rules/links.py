"""Signed, expiring rate-later links: what the device's QR code encodes.

    rate_url(ctx, session_id, expires_at) -> str    <public base>r/<token>
    verify(ctx, token) -> (session_id, expires_at)  or LinkInvalid / LinkExpired

token = <expires_at in base 36>.<session id>.<signature>, signed with
itsdangerous (HMAC-SHA256, key derived from <home>/keys/link-secret, a random
secret made on first use). The signature is cut to 16 bytes (128 bits, 22
base64 characters) to keep the URL, and so the QR code on the 320x240 screen,
small: tests/test_links.py measures it.
"""

import hashlib
import os
import secrets
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from itsdangerous.signer import HMACAlgorithm

SECRET_NAME = "link-secret"
SIGNATURE_BYTES = 16
_SALT = "hostd.rate-later"


class LinkError(Exception):
    """A rate-later link that cannot be used; the page tells the citizen why."""


class LinkInvalid(LinkError):
    """Tampered with, cut short, or signed by another hall."""


class LinkExpired(LinkError):
    def __init__(self, session_id, expires_at):
        super().__init__("link for %s expired at %d" % (session_id, expires_at))
        self.session_id, self.expires_at = session_id, expires_at


class _ShortHMAC(HMACAlgorithm):
    def get_signature(self, key, value):
        return super().get_signature(key, value)[:SIGNATURE_BYTES]


def public_base(ctx):
    web = ctx.config["web"]
    if web["public_url"]:
        return web["public_url"].rstrip("/") + "/"
    host, _port = ctx.home.advertised_broker(ctx.config)
    return "http://%s:%d/" % (host, web["port"])


def secret(home):
    """The link secret under <home>/keys/, made (0600) on first use."""
    path = os.path.join(str(home.keys), SECRET_NAME)
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(str(home.keys), mode=0o700, exist_ok=True)
    value = secrets.token_hex(32)
    try:  # O_EXCL: if another process made it first, use theirs
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path) as f:
            return f.read().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
        f.flush()
        os.fsync(f.fileno())
    return value


def _signer(ctx, salt=_SALT):
    """The link signer under `salt`: one per kind of link, so none passes for another."""
    return Signer(
        secret(ctx.home), salt=salt, digest_method=hashlib.sha256, algorithm=_ShortHMAC(hashlib.sha256)
    )


def _base36(number):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def make_token(ctx, session_id, expires_at):
    if not session_id:
        raise ValueError("a rate-later link needs a session id")
    payload = "%s.%s" % (_base36(int(expires_at)), session_id)
    return _signer(ctx).sign(payload).decode()


def rate_url(ctx, session_id, expires_at):
    """The link for the QR code: valid until `expires_at` (Unix seconds)."""
    return "%sr/%s" % (public_base(ctx), quote(make_token(ctx, session_id, expires_at), safe=".-_~"))


def verify(ctx, token):
    """(session_id, expires_at) of a good link; LinkInvalid or LinkExpired otherwise."""
    try:
        payload = _signer(ctx).unsign(token).decode()
        expires, session_id = payload.split(".", 1)
        expires_at = int(expires, 36)
    except (BadSignature, ValueError, UnicodeError, TypeError):
        raise LinkInvalid("bad rate-later link")
    if not session_id:
        raise LinkInvalid("bad rate-later link")
    if ctx.clock.now() > expires_at:
        raise LinkExpired(session_id, expires_at)
    return session_id, expires_at


# -- the standing QR code of a window (its counter sticker) --------------------
#
# token = g<generation in base 36>.<window>.<signature>, signed like the
# session links under a salt of its own, so neither kind of token passes for
# the other. It does not expire: a sticker stays on the counter. A new
# generation (`hostd window qr 07 --renew`, windows.qr_generation) makes every
# older sticker of that window invalid.

_WINDOW_SALT = "hostd.window-qr"


def window_url(ctx, window, generation=1):
    """The standing link of a window's sticker."""
    if not window:
        raise ValueError("a window link needs a window")
    token = _signer(ctx, _WINDOW_SALT).sign("g%s.%s" % (_base36(int(generation)), window)).decode()
    return "%sw/%s" % (public_base(ctx), quote(token, safe=".-_~"))


def verify_window(ctx, token):
    """(window, generation) of a good sticker token; LinkInvalid otherwise."""
    try:
        payload = _signer(ctx, _WINDOW_SALT).unsign(token).decode()
        generation, window = payload.split(".", 1)
        if not generation.startswith("g") or not window:
            raise ValueError(payload)
        return window, int(generation[1:], 36)
    except (BadSignature, ValueError, UnicodeError, TypeError):
        raise LinkInvalid("bad window link")


# -- the complainant's verdict on a rectification (整改结果评价) ------------------
#
# token = <expires_at in base 36>.o<order id>.<signature>, under a salt of its
# own: /v/<token> (hostd/web/verdict.py), valid workorder.verdict_days after
# the reply.

_VERDICT_SALT = "hostd.verdict"


def verdict_url(ctx, order_id, expires_at):
    token = _signer(ctx, _VERDICT_SALT).sign("%s.o%d" % (_base36(int(expires_at)), int(order_id))).decode()
    return "%sv/%s" % (public_base(ctx), quote(token, safe=".-_~"))


def verify_verdict(ctx, token):
    """(order_id, expires_at) of a good verdict link; LinkInvalid or LinkExpired otherwise."""
    try:
        payload = _signer(ctx, _VERDICT_SALT).unsign(token).decode()
        expires, order = payload.split(".", 1)
        expires_at, order_id = int(expires, 36), int(order[1:]) if order.startswith("o") else None
    except (BadSignature, ValueError, UnicodeError, TypeError):
        raise LinkInvalid("bad verdict link")
    if order_id is None:
        raise LinkInvalid("bad verdict link")
    if ctx.clock.now() > expires_at:
        raise LinkExpired("o%d" % order_id, expires_at)
    return order_id, expires_at
