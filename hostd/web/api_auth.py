"""The /api/v1 bearer token: <home>/keys/api-token, and the errors' JSON shape."""

import hmac
import os
import secrets
from typing import Optional

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hostd.base.home import write_atomic

TOKEN_FILE = "api-token"
_bearer = HTTPBearer(auto_error=False)


def token_path(home):
    return home.keys / TOKEN_FILE


def ensure_token(home):
    """The API token, made (0600) if the home has none yet."""
    path = token_path(home)
    if not path.exists():
        home.keys.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, secrets.token_urlsafe(32) + "\n", 0o600)
    return path.read_text().strip()


def authorised(request: Request, credentials: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)):
    ctx = request.app.state.ctx
    token = getattr(request.app.state, "api_token", None)
    if token is None:
        token = request.app.state.api_token = ensure_token(ctx.home)
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            401,
            detail={
                "error": "unauthorised",
                "reason": "缺少或错误的令牌 / missing or wrong bearer token: see %s"
                % os.path.join("<home>", "keys", TOKEN_FILE),
            },
            headers={"WWW-Authenticate": "Bearer"},
        )
    return ctx


def fail(exc):
    """An HTTPException from a request error with .status and .code (hostd.rules.staff)."""
    return HTTPException(exc.status, detail={"error": exc.code, "reason": str(exc)})
