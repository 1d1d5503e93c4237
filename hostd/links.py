"""Signed, expiring rate-later links (stub until the rate-later page lands).

Contract used by sessions (the QR code on the device):
  rate_url(ctx, session_id, expires_at) -> str
"""


def public_base(ctx):
    web = ctx.config["web"]
    if web["public_url"]:
        return web["public_url"].rstrip("/") + "/"
    host, _port = ctx.home.advertised_broker(ctx.config)
    return "http://%s:%d/" % (host, web["port"])


def rate_url(ctx, session_id, expires_at):
    return "%sr/%s" % (public_base(ctx), session_id)
