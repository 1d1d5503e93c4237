"""Ratings that do not come from a device: the one place they are recorded.

  qr       扫码评价: the rate-later page behind the device's QR code
  default  系统默认评价: the period ended unrated (hostd/recording/defaults.py)
  paper    书面: a paper form entered by staff

record_rating() runs inside the caller's transaction (a Store op, or an
open_database transaction): it enforces one service, one rating (一次一评),
binds the rating to its session, closes the session and runs what follows a
rating (hostd/recording/pipeline.py), all or nothing.
"""

import json
import sqlite3

from hostd.base import clock, text
from hostd.recording import evaluator as evaluators
from hostd.recording import pipeline
from hostd.rules import binding
from hostd.upstream import followups
from protocol import messages

CHANNELS = ("qr", "default", "paper")
DETAIL_ANSWERS = ("yes", "fair", "no")  # 是 / 一般 / 否
DETAIL_QUESTIONS = (  # the online detail questions (001 §二(五))
    ("guide", "服务指引是否清晰"),
    ("procedure", "办事程序是否便利"),
    ("materials", "材料手续是否精简"),
    ("interface", "操作界面是否友好"),
)
IMPROVE = ("improve", "有何改进意见")
MAX_COMMENT = 500


class ChannelError(ValueError):
    """A rating that is refused; str() is the reason in words."""


class SessionNotFound(ChannelError):
    pass


class AlreadyRated(ChannelError):
    """The session already has its one rating (from any channel)."""


CHANNEL_NAMES = {"device": "评价器", "qr": "扫码评价", "default": "系统默认评价", "paper": "书面评价"}


def already_rated(db, session_id):
    """AlreadyRated for `session_id`, naming the channel that rated it."""
    row = db.conn.execute(
        "SELECT channel FROM ratings WHERE session_id = ? AND binding = 'session'", (session_id,)
    ).fetchone()
    how = CHANNEL_NAMES.get(row[0], row[0]) if row else "系统默认评价"
    return AlreadyRated(
        "这次服务已有评价（%s），每次服务只评价一次 / session %s is already rated (%s)"
        % (how, session_id, row[0] if row else "default")
    )


class SessionClosed(ChannelError):
    """The session was cancelled, or its period is over."""


class ReasonRequired(ChannelError):
    """A 差评 needs a reason code or text (the upstream rejects it otherwise)."""


def clean_details(details):
    """Check the detail answers; return them as a dict (or None when empty)."""
    if not details:
        return None
    known = dict(DETAIL_QUESTIONS)
    out = {}
    for key, value in details.items():
        if value in (None, ""):
            continue
        if key in known:
            if value not in DETAIL_ANSWERS:
                raise ChannelError("detail %s: %r is not one of %s" % (key, value, DETAIL_ANSWERS))
        elif key == IMPROVE[0]:
            value = _words(value, "改进意见 improve")
        else:
            raise ChannelError("unknown detail question %r" % key)
        out[key] = value
    return out or None


def _words(value, field):
    """A citizen's words (hostd/base/text.py free): cut at MAX_COMMENT; a control
    or bidi character is refused, not stored."""
    try:
        return text.free(str(value), field, max_len=1_000_000)[:MAX_COMMENT]
    except ValueError as exc:
        raise ChannelError(str(exc))


def _clean_comment(comment):
    if comment is None:
        return None
    return _words(comment, "留言 comment") or None


def _checked(channel, level, reasons, comment, details):
    """(reasons, comment, details) checked; ChannelError / ReasonRequired saying what is wrong."""
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise ChannelError("评价等级须为 1-5 / level %r is not 1-5" % (level,))
    reasons = sorted(set(int(code) for code in reasons))
    for code in reasons:
        if code not in messages.REASON_CODES:
            raise ChannelError(
                "没有这个原因代码 / reason code %r is not one of %s" % (code, messages.REASON_CODES)
            )
    comment = _clean_comment(comment)
    details = clean_details(details)
    if level <= messages.BAD_LEVEL_MAX and not reasons and not comment and channel != "default":
        raise ReasonRequired("差评须选择原因或写几句意见 / a 差评 needs a reason or a few words")
    return reasons, comment, details


def _insert(db, where, level, reasons, comment, details, client_addr, now, evaluator):
    """INSERT one checked rating; `where`: channel, hall, window, session_id,
    binding, cases, staff. Its id."""
    return db.conn.execute(
        "INSERT INTO ratings (channel, hall, window, session_id, binding, level, reasons, cases, staff,"
        " device_time, clock_synced, received_at, comment, details, client_addr, evaluator_name,"
        " evaluator_mobile, evaluator_consent, named)"
        " VALUES (:channel, :hall, :window, :session_id, :binding, :level, :reasons, :cases, :staff,"
        " :now, 1, :now, :comment, :details, :client_addr, :name, :mobile, :consent, :named)",
        dict(
            where,
            level=level,
            reasons="[" + ",".join(str(code) for code in reasons) + "]",
            now=now,
            comment=comment,
            details=json.dumps(details, ensure_ascii=False) if details else None,
            client_addr=client_addr,
            name=evaluator.name,
            mobile=evaluator.mobile,
            consent=evaluator.consent,
            named=1 if evaluator.name or evaluator.mobile else 0,
        ),
    ).lastrowid


def session_row(db, session_id):
    row = db.conn.execute(
        "SELECT session_id, hall, window, staff_id, cases, state, rate_until, rating_id"
        " FROM sessions WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    keys = ("session_id", "hall", "window", "staff_id", "cases", "state", "rate_until", "rating_id")
    return dict(zip(keys, row))


def record_rating(
    db,
    session_id,
    channel,
    level,
    reasons=(),
    comment=None,
    details=None,
    client_addr=None,
    now=None,
    evaluator=evaluators.NONE,
):
    """Insert the one rating of `session_id` from a non-device channel; return its id.

    Raises SessionNotFound, AlreadyRated, SessionClosed, ReasonRequired or
    ChannelError (bad level, reason code or detail). `now`: Unix seconds
    (hostd.base.clock.now() when None). `evaluator`: a 实名 rating's
    hostd.recording.evaluator.Evaluator, already checked."""
    if channel not in CHANNELS:
        raise ChannelError("channel %r is not one of %s" % (channel, ", ".join(CHANNELS)))
    reasons, comment, details = _checked(channel, level, reasons, comment, details)
    if now is None:
        now = clock.now()
    now = int(now)
    session = session_row(db, session_id)
    if session is None:
        raise SessionNotFound("没有会话 %s / no session %s" % (session_id, session_id))
    if session["state"] in ("rated", "defaulted"):
        raise already_rated(db, session_id)
    if session["state"] != "open":
        raise SessionClosed("会话 %s 已撤销 / session %s was %s" % (session_id, session_id, session["state"]))
    try:
        rating_id = _insert(
            db,
            dict(channel=channel, hall=session["hall"], window=session["window"], session_id=session_id,
                 binding="session", cases=session["cases"], staff=session["staff_id"]),
            level, reasons, comment, details, client_addr, now, evaluator,
        )  # fmt: skip
    except sqlite3.IntegrityError:  # ratings_one_per_session: another channel won
        raise already_rated(db, session_id)
    if not binding.close_session(db, session_id, rating_id, now):
        raise already_rated(db, session_id)
    if channel == "default":
        db.conn.execute("UPDATE sessions SET state = 'defaulted' WHERE session_id = ?", (session_id,))
    pipeline.rating_recorded(db, rating_id)
    return rating_id


def record_window_rating(
    db, hall, window, level, reasons=(), comment=None, details=None, client_addr=None, now=None,
    evaluator=evaluators.NONE,
):  # fmt: skip
    """Insert a window-level rating (扫码 through a window's standing QR code,
    no session it could be bound to); return its id. It counts for the hall
    and the staff on duty (hostd/rules/attribution.py), opens a work order
    when it is a 差评, and stays home: only ratings of a session go upstream."""
    reasons, comment, details = _checked("qr", level, reasons, comment, details)
    now = int(clock.now() if now is None else now)
    where = dict(
        channel="qr", hall=hall, window=window, session_id=None, binding="window", cases=1, staff=None
    )
    rating_id = _insert(db, where, level, reasons, comment, details, client_addr, now, evaluator)
    pipeline.rating_recorded(db, rating_id)
    return rating_id


def add_details(db, rating_id, comment=None, details=None):
    """Attach a comment and detail answers to a counted rating (once); True if stored.

    A rating that already has them keeps them: False."""
    comment = _clean_comment(comment)
    details = clean_details(details)
    if not comment and not details:
        raise ChannelError("nothing to add")
    row = db.conn.execute(
        "SELECT comment, details FROM ratings WHERE id = ? AND binding = 'session'", (rating_id,)
    ).fetchone()
    if row is None or row[1] is not None:
        return False
    if row[0] and comment:
        comment = row[0] + "\n" + comment
    stored = (
        db.conn.execute(
            "UPDATE ratings SET comment = ?, details = ? WHERE id = ? AND details IS NULL",
            (comment or row[0], json.dumps(details or {}, ensure_ascii=False), rating_id),
        ).rowcount
        == 1
    )
    if stored:
        followups.enqueue_details(db, rating_id)  # upstream: the queued rating or a comment record
    return stored


def add_evaluator(db, rating_id, evaluator):
    """Attach a 实名 evaluator's name and phone to a counted rating that has
    none (e.g. a device rating, from the rate-later page); True if stored."""
    if evaluator is None or (evaluator.name is None and evaluator.mobile is None):
        return False
    stored = (
        db.conn.execute(
            "UPDATE ratings SET evaluator_name = ?, evaluator_mobile = ?, evaluator_consent = ?, named = 1"
            " WHERE id = ? AND binding = 'session' AND evaluator_name IS NULL AND evaluator_mobile IS NULL",
            (evaluator.name, evaluator.mobile, evaluator.consent, rating_id),
        ).rowcount
        == 1
    )
    if stored and evaluator.consent:
        followups.refresh_evaluator(db, rating_id)  # a record not yet tried carries them up
    return stored
