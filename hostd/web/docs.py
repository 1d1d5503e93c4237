"""/api/docs and /api/openapi.json, private, with Swagger UI served from the
package (swagger-ui-bundle), never from a CDN: a hall LAN has no internet,
and nothing a hall page loads may come from outside the hall.

Who may read them: a logged-in hall user, or a caller with the API token
(the window business system's integrators). So may /status (status.py).
"""

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from hostd.web import auth
from hostd.web.api import ensure_token

router = APIRouter(include_in_schema=False)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")
PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>hostd API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>
"""


def viewer(request: Request):
    """A hall user or the API token; else 401 (JSON callers) or the login page."""
    if auth.optional_user(request) is not None:
        return True
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(
        header[7:].strip().encode(), ensure_token(request.app.state.ctx.home).encode()
    ):
        return True
    if "text/html" in request.headers.get("accept", ""):
        raise HTTPException(303, headers={"Location": "/login?next=" + request.url.path})
    raise HTTPException(
        401,
        detail={
            "error": "unauthorised",
            "reason": "请先登录，或带上 API 令牌 / log in, or send the API token",
        },
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/api/docs")
def docs_page(request: Request):
    viewer(request)
    return HTMLResponse(PAGE)


@router.get("/api/docs/assets/{name}")
def docs_asset(name: str):
    if name not in ASSETS:
        raise HTTPException(404, "no such file")
    # lazy: the Swagger UI package loads only when someone opens the docs
    from swagger_ui_bundle import swagger_ui_path

    return FileResponse(str(swagger_ui_path / name))


@router.get("/api/openapi.json")
def openapi_document(request: Request):
    viewer(request)
    return JSONResponse(request.app.openapi())
