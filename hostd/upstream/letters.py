"""Dead letters: upstream records the platform refused for good, and what a
supervisor does with them (the 上报失败 page, `hostd sync --retry ID`).

  retry  send it again as it is (the refusal may have been the platform's
         own, or a prerequisite was fixed since);
  edit   change its content and send it again; its identity (projectNo,
         serviceNumber, assessNumber) stays, since that names the citizen's
         rating upstream.
Both are logged in upstream_actions (who, when, before and after), and both
bring back the records that died only because this one did (a rating behind
its service record, a 追评 behind its rating).
"""

import json

from hostd.base.errors import UserError
from hostd.upstream import outbox

IDENTITY_FIELDS = ("projectNo", "serviceNumber", "assessNumber", "appealTime", "externalId")


class LetterError(UserError):
    """Not a dead letter, or an edit that cannot go."""


def _row(db, row_id):
    row = outbox.fetch_row(
        db,
        "SELECT id, target, kind, key, ref, status, body, remote_body, last_error, identity, attempts,"
        " created_at, note FROM upstream_outbox WHERE id = ?",
        (row_id,),
    )
    if row is None:
        raise LetterError(
            "没有上报记录 #%s / no upstream record %s: see `hostd sync --status`" % (row_id, row_id)
        )
    return row


def dead_letters(db, limit=200):
    """The dead letters, newest first, each with its body, the platform's
    version (when it holds another) and its action history."""
    rows = db.conn.execute(
        "SELECT id FROM upstream_outbox WHERE status = 'dead' ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    out = []
    for (row_id,) in rows:
        row = _row(db, row_id)
        row["body_obj"] = json.loads(row["body"])
        row["remote_obj"] = json.loads(row["remote_body"]) if row["remote_body"] else None
        row["actions"] = actions(db, row_id)
        out.append(row)
    return out


def actions(db, row_id):
    cursor = db.conn.execute(
        "SELECT at, actor, action, before, after FROM upstream_actions WHERE outbox_id = ? ORDER BY id",
        (row_id,),
    )
    return [dict(zip(("at", "actor", "action", "before", "after"), r)) for r in cursor]


def _revive(db, row):
    """Make `row` pending again, and the records that died behind it waiting."""
    db.conn.execute(
        "UPDATE upstream_outbox SET status = 'pending', attempts = 0, next_attempt = 0,"
        " last_error = NULL, remote_body = NULL, blocked = 0 WHERE id = ?",
        (row["id"],),
    )
    keys = [row["key"]]
    revived = 0
    while keys:
        key = keys.pop()
        prefix = "its prerequisite %s:" % key
        followers = db.conn.execute(
            "SELECT key FROM upstream_outbox WHERE depends_on = ? AND status = 'dead'"
            " AND substr(last_error, 1, ?) = ?",
            (key, len(prefix), prefix),
        ).fetchall()
        for (follower,) in followers:
            db.conn.execute(
                "UPDATE upstream_outbox SET status = 'pending', attempts = 0, next_attempt = 0,"
                " last_error = NULL, blocked = 1 WHERE key = ?",
                (follower,),
            )
            keys.append(follower)
            revived += 1
    return revived


def _log(db, row_id, actor, action, before, after, now):
    db.conn.execute(
        "INSERT INTO upstream_actions (at, actor, outbox_id, action, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (int(now), actor, row_id, action, before, after),
    )


def _dead(db, row_id):
    row = _row(db, row_id)
    if row["status"] != "dead":
        raise LetterError(
            "上报记录 #%d 不是失败记录（状态 %s）/ record %d is %s, not a dead letter"
            % (row["id"], row["status"], row["id"], row["status"])
        )
    return row


def retry(db, row_id, actor, now):
    """Send a dead letter again as it is; return how many waiting records came back with it."""
    row = _dead(db, row_id)
    revived = _revive(db, row)
    _log(db, row["id"], actor, "retry", row["last_error"], None, now)
    return revived


def edit(db, row_id, text, actor, now):
    """Replace a dead letter's content (JSON text of an object) and send it
    again; its identity fields may not change. Return how many waiting
    records came back with it."""
    row = _dead(db, row_id)
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise LetterError("内容不是有效的 JSON / not valid JSON: %s" % exc)
    if not isinstance(body, dict):
        raise LetterError("内容须为一个 JSON 对象 / the content must be one JSON object {...}")
    old = json.loads(row["body"])
    changed = [f for f in IDENTITY_FIELDS if old.get(f) != body.get(f)]
    if changed:
        raise LetterError(
            "不能修改记录标识 %s / the identity fields %s cannot change: they name the rating upstream"
            % ("、".join(changed), ", ".join(changed))
        )
    encoded = outbox.encode(body)
    db.conn.execute(
        "UPDATE upstream_outbox SET body = ?, identity = ?, note = 'edited by ' || ? WHERE id = ?",
        (encoded, outbox.identity(row["kind"], body), actor, row["id"]),
    )
    revived = _revive(db, row)
    _log(db, row["id"], actor, "edit", row["body"], encoded, now)
    return revived
