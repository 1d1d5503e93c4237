"""Do the QR codes' links reach this hostd? Checked once `hostd run` serves.

The rate-later links printed as QR codes on every device screen start with
the public base URL (web.public_url, else this host's LAN address and
web.port). `hostd run` requests <base>.well-known/hostd through that very
URL and expects its own instance id back: a base that points elsewhere, or
a server listening on loopback only (web.listen = 127.0.0.1) while the base
names the LAN address, fails the check. The result is logged (a warning
that says what to set) and kept for the dashboard's banner.
"""

import logging
import secrets

from fastapi import APIRouter, Request

from hostd.rules import links

log = logging.getLogger("hostd.web")
router = APIRouter(include_in_schema=False)
PATH = ".well-known/hostd"
INSTANCE = secrets.token_hex(8)  # this process: another hostd answers with another


@router.get("/" + PATH)
def here(request: Request):
    return {"hostd": INSTANCE}


def check(ctx, timeout=5.0):
    """Request the public base and keep the result in ctx.link_check:
    {"ok": bool, "url": base, "why": text (in Chinese, for the dashboard)}."""
    # lazy: the HTTP client loads only for this one request
    import httpx

    base = links.public_base(ctx)
    try:
        answer = httpx.get(base + PATH, timeout=timeout, follow_redirects=False)
        ok = answer.status_code == 200 and answer.json().get("hostd") == INSTANCE
        why = "" if ok else "该地址上的服务不是本机 hostd（HTTP %d）" % answer.status_code
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        ok, why = False, "无法连接（%s）" % type(exc).__name__
    ctx.link_check = {"ok": ok, "url": base, "why": why}
    if ok:
        log.info("rate-later links: %s reaches this hostd", base)
    else:
        log.warning(
            "rate-later links (the QR codes) point at %s, which does not reach this hostd: %s."
            " Set web.public_url to an address phones reach, and web.listen to 0.0.0.0"
            " (or that address) in hostd.toml, then restart",
            base,
            why,
        )
    return ctx.link_check
