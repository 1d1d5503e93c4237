"""Errors as a browser should see them: an HTML page in Chinese with a way
back, for a person at a browser (the request accepts text/html) anywhere but
the API. The API (/api/...) and every other client keep their JSON answers.

Covers 4xx raised by the pages (no right to a page, CSRF, not found), a
request that fails validation, a number out of range, and any error left
unhandled (500: logged with a reference the page shows).
"""

import logging
import re
import secrets

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hostd.web.pages.common import TEMPLATES

log = logging.getLogger("hostd.web")
HEADINGS = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持此操作",
    413: "提交的内容太大",
    422: "提交的内容有误",
    429: "操作太频繁",
    500: "服务器内部错误",
}
DEFAULT_MESSAGES = {
    404: "您要打开的页面不存在，或已被删除。请检查地址，或从首页进入。",
    405: "此页面不支持这样的操作。",
    422: "提交的内容格式不对，请检查后重试。",
    500: "服务器处理时出错了，您的操作可能没有完成。请稍后重试。",
}
_CHINESE = re.compile("[\u4e00-\u9fff]")


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def page(request: Request, status: int, message: str = "", reference: str = "", headers=None):
    """The HTML error page; `message` is shown when it is Chinese (an English
    one from the framework, "Not Found", is not for hall staff)."""
    if not message or not _CHINESE.search(message):
        message = DEFAULT_MESSAGES.get(status, HEADINGS.get(status, "出错了"))
    citizen = request.url.path.startswith("/r/")  # a citizen's phone: no hall pages to go to
    values = {
        "title": HEADINGS.get(status, "出错了"),
        "heading": HEADINGS.get(status, "出错了（%d）" % status),
        "message": message,
        "reference": reference,
        "home": None if citizen else "/",
        "hall": request.app.state.ctx.hall,
        "user": None,
    }
    return TEMPLATES.TemplateResponse(
        request, "pages/error.html", values, status_code=status, headers=headers
    )


def http_error(json_handler):
    async def handler(request: Request, exc: Exception):
        assert isinstance(exc, HTTPException)
        if exc.status_code < 400 or not wants_html(request):
            return await json_handler(request, exc)
        return page(request, exc.status_code, str(exc.detail or ""), headers=getattr(exc, "headers", None))

    return handler


def html_or(json_handler, status):
    """A handler that answers a browser with the page for `status`, others as before."""

    async def handler(request: Request, exc: Exception):
        if wants_html(request):
            return page(request, status)
        return await json_handler(request, exc)

    return handler


async def unhandled(request: Request, exc: Exception):
    reference = secrets.token_hex(4)
    log.error("error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
    if wants_html(request):
        return page(request, 500, reference=reference)
    return JSONResponse(
        {"detail": {"error": "internal", "reason": "服务器内部错误 / internal error (ref %s)" % reference}},
        status_code=500,
    )
