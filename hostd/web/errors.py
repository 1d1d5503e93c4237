"""Errors that odd input must never turn into a 500 or a dropped connection.

- a request that fails validation: 422 with where and why, never the input
  itself (it may be a lone surrogate or an infinite number, which no JSON
  answer can carry);
- a number too large for SQLite's 64-bit integers (a path id, a query
  parameter): 400, one line.
"""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(OverflowError, out_of_range)
