"""Errors that odd input must never turn into a 500 or a dropped connection.

- a request that fails validation: 422 with where and why, never the input
  itself (it may be a lone surrogate or an infinite number, which no JSON
  answer can carry);
- a number too large for SQLite's 64-bit integers (a path id, a query
  parameter): 400, one line.
A person at a browser gets each of these, and any other error, as a page in
Chinese with a way back (hostd/web/error_pages.py).
"""

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hostd.web import error_pages


def _safe(value):
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else repr(value)


async def validation_failed(request: Request, exc: Exception):
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {
            "loc": [_safe(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")).encode("utf-8", "replace").decode("utf-8"),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def out_of_range(request: Request, exc: Exception):
    return JSONResponse(
        {"detail": {"error": "out_of_range", "reason": "数值超出范围 / a number is out of range"}},
        status_code=400,
    )


def install(app):
    app.add_exception_handler(RequestValidationError, error_pages.html_or(validation_failed, 422))
    app.add_exception_handler(OverflowError, error_pages.html_or(out_of_range, 400))
    # A person at a browser gets a page in Chinese with a way back; the API its JSON.
    app.add_exception_handler(HTTPException, error_pages.http_error(http_exception_handler))
    app.add_exception_handler(Exception, error_pages.unhandled)
