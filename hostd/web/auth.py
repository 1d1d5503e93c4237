"""Users, roles, login sessions and CSRF for the hall pages.

Roles:
  admin       hall IT: devices, config, users (no evaluator data)
  supervisor  监督考核科: everything except keys; the only role that may read
              evaluator data (every such read is logged in evaluator_access)
  staff       工作人员: their own ratings, appeals and rectification tasks only

Passwords are hashed with argon2id (pwdlib) and must pass check_password
(length, and zxcvbn's guessability). The session is a cookie signed with
itsdangerous under a secret kept in <home>/keys/web-session-secret; it
carries the username, the user's session generation and a CSRF token that
every form post must echo back. The generation is bumped on logout, a
password change and disabling, so every cookie of that user stops working
at once, copies included. Login throttling and the audit log: logins.py.
"""

import hmac
import secrets
import time
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from hostd.base.home import write_atomic

ROLES = ("admin", "supervisor", "staff")
ROLE_NAMES = {"admin": "系统管理员", "supervisor": "监督考核", "staff": "窗口工作人员"}
EVALUATOR_ROLES = ("supervisor",)  # may see ratings.evaluator_name / evaluator_mobile
COOKIE = "hcp_session"
SESSION_SECONDS = 12 * 3600
SECRET_FILE = "web-session-secret"
MIN_PASSWORD = 10
MIN_STRENGTH = 3  # zxcvbn's score, 0-4: 3 = "safely unguessable" against online attacks

_hasher = PasswordHash((Argon2Hasher(),))
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class BadUser(ValueError):
    """A user that cannot be added as asked; the message says what to change."""


# -- users ------------------------------------------------------------------
def add_user(db, username, password, role, staff_id=None, now=None):
    """Insert a user (caller owns the transaction). Raises BadUser."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise BadUser("user name must be 1-64 characters without spaces")
    if role not in ROLES:
        raise BadUser("role must be one of %s" % ", ".join(ROLES))
    if role == "staff" and not staff_id:
        raise BadUser("a staff user needs --staff-id (the staff member whose results they see)")
    if role != "staff" and staff_id:
        raise BadUser("--staff-id is only for role staff")
    check_password(password, username)
    if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
        raise BadUser("user %s exists already: choose another name" % username)
    db.execute(
        "INSERT INTO users (username, role, staff_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        [username, role, staff_id, _hasher.hash(password), int(now or time.time())],
    )
    return get_user(db, username)


def check_password(password, username=""):
    """The password policy: at least MIN_PASSWORD characters, and not common
    or guessable (zxcvbn: its lists of common passwords, names, words,
    keyboard patterns and dates, and the user's own name). Raises BadUser."""
    if len(password or "") < MIN_PASSWORD:
        raise BadUser(
            "password must have at least %d characters (密码至少 %d 位)" % (MIN_PASSWORD, MIN_PASSWORD)
        )
    # lazy: zxcvbn's word lists load only when a password is set
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=[username, "hostd", "haochaping"])["score"] < MIN_STRENGTH:
        raise BadUser(
            "password is too common or easy to guess: use a longer phrase of unrelated words"
            " (密码太常见或太容易猜，请用更长、无规律的密码)"
        )


def set_password(db, username, password):
    check_password(password, username)
    db.execute(
        "UPDATE users SET password_hash = ?, session_generation = session_generation + 1 WHERE username = ?",
        [_hasher.hash(password), username],
    )


def get_user(db, username):
    row = db.execute(
        "SELECT username, role, staff_id, created_at, disabled_at, session_generation"
        " FROM users WHERE username = ?",
        [username],
    ).fetchone()
    if row is None:
        return None
    keys = ("username", "role", "staff_id", "created_at", "disabled_at", "generation")
    return dict(zip(keys, row))


def list_users(db):
    return [
        dict(r)
        for r in db.query(
            "SELECT username, role, staff_id, created_at, disabled_at FROM users ORDER BY username"
        )
    ]


def authenticate(db, username, password):
    """The user dict when the password is right and the user enabled, else None."""
    return check_login(db, username, password)[0]


def check_login(db, username, password):
    """(user dict or None, result for the audit log: ok | unknown_user |
    bad_password | disabled). A missing user costs the same hash check, so
    timing does not tell names."""
    row = db.execute(
        "SELECT password_hash, disabled_at FROM users WHERE username = ?", [username or ""]
    ).fetchone()
    if row is None:
        _hasher.verify(password or "", _DUMMY_HASH)
        return None, "unknown_user"
    if not _hasher.verify(password or "", row[0]):
        return None, "bad_password"
    if row[1] is not None:
        return None, "disabled"
    return get_user(db, username), "ok"


def end_sessions(db, username):
    """Every session of `username` ends now (logout, password change, disable)."""
    db.execute("UPDATE users SET session_generation = session_generation + 1 WHERE username = ?", [username])


def set_disabled(db, username, disabled, now=None):
    """Disable (ending its sessions) or enable a user; False if there is none."""
    changed = db.execute(
        "UPDATE users SET disabled_at = ? WHERE username = ?",
        [int(now or time.time()) if disabled else None, username],
    ).rowcount
    if disabled:
        end_sessions(db, username)
    return changed == 1


class LastAdmin(BadUser):
    """Removing or disabling this user would leave nobody to manage the hall."""


def remove_user(db, username):
    """Delete a user (their sessions end: the cookie names a user no longer
    there). What they did stays in the logs and trails, by name. The last
    enabled admin cannot go. False if there is no such user."""
    user = get_user(db, username)
    if user is None:
        return False
    if user["role"] == "admin" and user["disabled_at"] is None:
        others = db.execute(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND username != ?",
            [username],
        ).fetchone()[0]
        if not others:
            raise LastAdmin(
                "%s is the only enabled admin: add another admin first (hostd user add NAME --role admin)"
                % username
            )
    db.execute("DELETE FROM users WHERE username = ?", [username])
    return True


# -- the signed session cookie ------------------------------------------------
def _secret(home):
    path = home.keys / SECRET_FILE
    if not path.is_file():
        home.keys.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, secrets.token_hex(32) + "\n", 0o600)
    return path.read_text().strip()


def _serializer(request):
    state = request.app.state
    serializer = getattr(state, "session_serializer", None)
    if serializer is None:
        serializer = URLSafeTimedSerializer(_secret(state.ctx.home), salt="hcp-pages")
        state.session_serializer = serializer
    return serializer


def read_session(request):
    """The cookie's payload ({"c": csrf, "u"?: user, "g"?: generation}) or {}."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        return _serializer(request).loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        return {}


def served_over_https(request):
    """Behind HTTPS: the request came that way, or web.public_url says so."""
    public = request.app.state.ctx.config.get("web", {}).get("public_url", "")
    return request.url.scheme == "https" or public.startswith("https://")


def write_session(request, response, payload):
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(payload),
        max_age=SESSION_SECONDS,
        httponly=True,
        secure=served_over_https(request),
        samesite="lax",
        path="/",
    )


def new_csrf():
    return secrets.token_urlsafe(24)


FLASH_COOKIE = "hcp_flash"
FLASH_SECONDS = 120


def set_flash(request, response, kind, message):
    """A one-line message for the next page this browser opens, signed: the
    server says what a banner shows, never the URL."""
    response.set_cookie(
        FLASH_COOKIE,
        _serializer(request).dumps({"k": kind, "m": message[:300]}, salt="hcp-flash"),
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="lax",
        path="/",
    )


def take_flash(request):
    """(kind, message) set by the last form post, or (None, None)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None, None
    try:
        data = _serializer(request).loads(raw, max_age=FLASH_SECONDS, salt="hcp-flash")
    except BadSignature:
        return None, None
    return (data.get("k"), data.get("m")) if data.get("k") in ("ok", "err") else (None, None)


def csrf_of(request):
    """The CSRF token of this browser's session (pages put it in every form)."""
    return read_session(request).get("c", "")


def login_session(user):
    return {"u": user["username"], "g": user["generation"], "c": new_csrf()}


# -- dependencies -----------------------------------------------------------
def optional_user(request: Request):
    session = read_session(request)
    username = session.get("u")
    if not username:
        return None
    with request.app.state.ctx.store.read() as db:
        user = get_user(db, username)
    if user is None or user["disabled_at"] is not None or user["generation"] != session.get("g"):
        return None
    return user


def current_user(request: Request, user=Depends(optional_user)):
    """The logged-in user; a browser without one is sent to the login page."""
    if user is None:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query

        raise HTTPException(303, "请先登录", headers={"Location": "/login?next=" + quote(target)})
    return user


def require_role(*roles):
    """A dependency that lets only `roles` through (403 otherwise)."""

    def check(user=Depends(current_user)):
        if user["role"] not in roles:
            raise HTTPException(403, "您的账号（%s）无权访问此页面" % ROLE_NAMES[user["role"]])
        return user

    return check


async def require_csrf(request: Request):
    """Refuse a form post whose csrf field does not match the session's token."""
    form = await request.form()
    expected = read_session(request).get("c", "")
    given = form.get("csrf", "")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "表单已过期或来源不明（CSRF 校验失败）：请刷新页面后重试")
    return form


def may_see_evaluator(user):
    return user is not None and user["role"] in EVALUATOR_ROLES


def log_evaluator_access(db, user, rating_ids, fields, purpose, now=None):
    """Record reads of evaluator data (caller owns the transaction)."""
    at = int(now or time.time())
    db.conn.executemany(
        "INSERT INTO evaluator_access (at, username, role, rating_id, fields, purpose)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(at, user["username"], user["role"], rid, ",".join(fields), purpose) for rid in rating_ids],
    )
