"""Request bodies: a size cap on every route, and the API token checked before
any body is read (pure ASGI, ahead of FastAPI's parsing).

  /api/...   web.api_body_max_kb (64 KB by default); a POST/PUT/PATCH/DELETE
             without the right bearer token is 401 before its body is read
  uploads    web.upload_max_kb (5 MB) and 16 KB for the form's fields: the
             routes in UPLOADS, whose forms carry a scan or evidence
  the rest   web.form_body_max_kb (16 KB): the hall pages' forms, the
             rate-later page, the login form
A Content-Length over the cap is refused at once; a chunked body is counted
as it arrives and cut off at the cap. Either way the answer is a clean 413
with one line, and nothing is logged as an error.
"""

import hmac
import json
import re

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
UPLOADS = re.compile(
    r"/(paper|api/v1/paper|appeals|appeals/\d+/evidence|workorders/\d+/evidence)"
)  # may carry a file
FIELDS_KB = 16  # an upload form's other fields


async def _answer(send, status, text, extra=()):
    body = json.dumps({"detail": {"error": "too_large" if status == 413 else "unauthorised", "reason": text}},
                      ensure_ascii=False).encode()  # fmt: skip
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers + list(extra)})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app, api_max_kb=64, form_max_kb=16, token=None, upload_max_kb=5120):
        self.app = app
        self.api_max, self.form_max = api_max_kb * 1024, form_max_kb * 1024
        self.upload_max = (upload_max_kb + FIELDS_KB) * 1024
        self.token = token  # () -> the API token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        api = path.startswith("/api/")
        limit = self.api_max if api else self.form_max
        if UPLOADS.fullmatch(path):
            limit = max(limit, self.upload_max)
        headers = dict(scope.get("headers") or [])
        if api and self.token is not None and not self._token_ok(headers.get(b"authorization", b"")):
            return await _answer(
                send,
                401,
                "缺少或错误的令牌 / missing or wrong bearer token",
                [(b"www-authenticate", b"Bearer")],
            )
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _answer(send, 413, "请求内容过大 / the request body is over %d KB" % (limit // 1024))
        state = {"seen": 0, "started": False, "answered": False}
        too_large = "请求内容过大 / the request body is over %d KB" % (limit // 1024)

        async def counted():
            if state["answered"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:  # answer 413 now; to the app, the client has gone
                    if not state["started"]:
                        await _answer(send, 413, too_large)
                    state["answered"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["answered"]:
                return  # whatever the app makes of the cut-off body, the 413 is the answer
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state["answered"]:
                raise  # a real error: uvicorn logs it
            # the app failed on the body it never fully got: nothing to log

    def _token_ok(self, header):
        given = header.decode("latin-1")
        if self.token is None or not given.startswith("Bearer "):
            return False
        return hmac.compare_digest(given[7:].strip().encode(), self.token().encode())
