"""The review of a fraud flag (hostd/casework/fraud.py): confirmed, or dismissed, with a reason.

A supervisor confirms a flag as 刷好评 or 恶意差评 and picks which of the
ratings it names were that (candidates()). Those ratings are excluded from
counting, as an upheld appeal excludes one (ratings.excluded; the row stays):
刷好评 takes only the flag's good ratings (满意, 非常满意), 恶意差评 only its
差评, and the open work order of an excluded 差评 ends as explained. A
dismissal changes no rating. Either way the reason is required and kept on
the flag with who and when, the excluded ratings in fraud_exclusions, and a
line goes to the log.

Exclusions are local: the provincial interface has no record for them (an
appeal decision is its only correction), so a rating that went upstream
stays there as it was.
"""

import logging

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.casework import fraud, workorders

log = logging.getLogger("hostd.fraud")
VERDICTS = {"刷好评": "level >= 4", "恶意差评": "level <= 2"}
STATE_LABELS = {"open": "待核查", "confirmed": "属实", "dismissed": "已排除"}
MAX_CANDIDATES = 500
MAX_NOTE = 500


class ReviewError(UserError):
    pass


def get(db, flag_id):
    rows = list(db.query("SELECT * FROM fraud_flags WHERE flag_id = ?", [flag_id]))
    if not rows:
        raise ReviewError("没有线索 %s / no fraud flag %s: see `hostd fraud list`" % (flag_id, flag_id))
    flag = fraud.dress(rows[0])
    flag["state_label"] = STATE_LABELS[flag["state"]]
    flag["excluded_ids"] = [
        row[0]
        for row in db.execute(
            "SELECT rating_id FROM fraud_exclusions WHERE flag_id = ? ORDER BY rating_id", [flag_id]
        )
    ]
    return flag


def _named(flag):
    """(SQL condition on ratings r, args) of the ratings a flag names: the
    evidence's rating ids, or for a staff member's 非常满意 share (top_share)
    their counted 非常满意 of the period; None when it names none."""
    ids = flag["evidence"].get("rating_ids")
    if ids is not None:
        return "r.id IN (%s)" % ",".join("?" * len(ids)), [int(i) for i in ids]
    if flag["kind"] == "top_share":
        where = (
            "r.staff_id = ? AND r.level = 5 AND r.received_at >= ? AND r.received_at < ?"
            " AND r.binding IN ('session', 'window') AND r.excluded IS NULL"
        )
        return where, [flag["subject"], flag["period_start"], flag["period_end"]]
    return None


def candidate_ids(db, flag):
    """Every rating id the flag names (no limit: `hostd fraud review --all`)."""
    named = _named(flag)
    if named is None:
        return []
    return [
        row[0] for row in db.execute("SELECT r.id FROM ratings r WHERE %s ORDER BY r.id" % named[0], named[1])
    ]


def candidates(db, flag):
    """The ratings a flag names, as rows for the review form (the first MAX_CANDIDATES)."""
    named = _named(flag)
    if named is None:
        return []
    where, args = named
    return list(
        db.query(
            "SELECT r.id, r.level, r.channel, r.received_at, r.hall, r.window, r.staff_id, r.binding,"
            " r.excluded, s.name AS staff_name FROM ratings r LEFT JOIN staff s ON s.staff_id = r.staff_id"
            " WHERE %s ORDER BY r.received_at, r.id LIMIT %d" % (where, MAX_CANDIDATES),
            args,
        )
    )


def _reason(note):
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE:
        raise ReviewError("请填写核查理由（1-%d 字）/ give the reason for the review" % MAX_NOTE)
    return note


def _open(db, flag_id, actor):
    if not actor:
        raise ReviewError("核查须注明核查人 / a review needs an actor")
    flag = get(db, flag_id)
    if flag["state"] != "open":
        raise ReviewError(
            "线索 %s 已核查（%s）/ flag %s was reviewed already" % (flag_id, flag["state_label"], flag_id)
        )
    return flag


def dismiss(db, flag_id, actor, note, now=None):
    """No fraud: the flag is closed with the reason; no rating changes."""
    now = int(clock.now()) if now is None else int(now)
    note = _reason(note)
    _open(db, flag_id, actor)
    db.conn.execute(
        "UPDATE fraud_flags SET state = 'dismissed', reviewed_at = ?, reviewed_by = ?, review_note = ?"
        " WHERE flag_id = ?",
        (now, actor, note, flag_id),
    )
    log.info("fraud flag %s dismissed by %s: %s", flag_id, actor, note)
    return get(db, flag_id)


def confirm(db, flag_id, actor, verdict, note, rating_ids, now=None):
    """Fraud: exclude the chosen ratings (those of the flag that fit the
    verdict and still count) and close the flag; return the flag, with
    "excluded_ids". `rating_ids` must be among candidates()."""
    now = int(clock.now()) if now is None else int(now)
    if verdict not in VERDICTS:
        raise ReviewError("认定须为 刷好评 或 恶意差评 / verdict must be 刷好评 or 恶意差评")
    note = _reason(note)
    flag = _open(db, flag_id, actor)
    chosen = sorted({int(i) for i in rating_ids})
    named = _named(flag)
    found = set()
    for at in range(0, len(chosen), 500):  # SQLite's variable limit, in slices
        part = chosen[at : at + 500]
        if named is not None:
            found.update(
                row[0]
                for row in db.conn.execute(
                    "SELECT r.id FROM ratings r WHERE r.id IN (%s) AND %s"
                    % (",".join("?" * len(part)), named[0]),
                    part + named[1],
                )
            )
    stray = [i for i in chosen if i not in found]
    if stray:
        raise ReviewError("评价 %s 不在本线索中 / rating %s is not one of this flag's" % (stray[0], stray[0]))
    excluded = []
    for at in range(0, len(chosen), 500):
        part = chosen[at : at + 500]
        excluded += [
            row[0]
            for row in db.conn.execute(
                "SELECT id FROM ratings WHERE id IN (%s) AND %s AND %s"
                % (",".join("?" * len(part)), VERDICTS[verdict], fraud.COUNTED),
                part,
            )
        ]
    for rating_id in excluded:
        db.conn.execute(
            "UPDATE ratings SET excluded = ?, excluded_at = ? WHERE id = ?", (verdict, now, rating_id)
        )
        db.conn.execute(
            "INSERT INTO fraud_exclusions (flag_id, rating_id) VALUES (?, ?)", (flag_id, rating_id)
        )
        _end_order(db, rating_id, actor, verdict, flag_id, now)
    db.conn.execute(
        "UPDATE fraud_flags SET state = 'confirmed', verdict = ?, reviewed_at = ?, reviewed_by = ?,"
        " review_note = ? WHERE flag_id = ?",
        (verdict, now, actor, note, flag_id),
    )
    log.warning(
        "fraud flag %s confirmed as %s by %s: %d rating(s) excluded from counting (%s)",
        flag_id,
        verdict,
        actor,
        len(excluded),
        note,
    )
    return get(db, flag_id)


def _end_order(db, rating_id, actor, verdict, flag_id, now):
    row = db.conn.execute(
        "SELECT order_id, state FROM work_orders WHERE rating_id = ?", (rating_id,)
    ).fetchone()
    if row is None or row[1] not in workorders.OPEN_STATES:
        return
    explanation = "经核查为%s，评价不计入统计（线索 %s）" % (verdict, flag_id)
    if "explained" in workorders.NEXT[row[1]]:
        workorders.move(db, row[0], "explained", actor, explanation=explanation, now=now)
    else:  # replied: answered already; close without feedback
        workorders.move(db, row[0], "closed", actor, note=explanation, now=now)
