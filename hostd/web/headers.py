"""Security headers on every answer of the web server (pure ASGI, so streamed
exports pass through untouched).

  Content-Security-Policy  scripts only from this host, none inline; nothing
                           loads from outside the hall; frame-ancestors
                           'none', except /display, which a hall may embed
                           (web.display_frame_ancestors, default 'self')
  X-Frame-Options          DENY where frame-ancestors is 'none' (old browsers)
  X-Content-Type-Options   nosniff
  Referrer-Policy          no-referrer (rate-later links carry signed tokens)
"""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors %s"
)


class SecurityHeaders:
    def __init__(self, app, display_frame_ancestors="'self'"):
        self.app = app
        self.display = display_frame_ancestors or "'self'"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        ancestors = self.display if path == "/display" or path.startswith("/display/") else "'none'"

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"
                ]
                headers.append((b"content-security-policy", (CSP % ancestors).encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if ancestors == "'none'":
                    headers.append((b"x-frame-options", b"DENY"))
                message = dict(message, headers=headers)
            await send(message)

        return await self.app(scope, receive, with_headers)
