"""The alerts table: an alert is raised once, when its condition starts, and
cleared once, when it ends; the webhook hears of each exactly once.

update() takes what holds now (hostd/alerts/conditions.py) and writes the
difference in one transaction: a row for each new key, cleared_at on each
open row whose key no longer holds. unsent() lists the news the webhook has
not had yet (raised, or cleared), oldest first; mark_sent() records that it
had them, or that there was no webhook to have them (0). Because this is in
hostd.db, a restart raises nothing twice.
"""

COLUMNS = "id, key, kind, subject, message, raised_at, cleared_at, raise_sent_at, clear_sent_at"
NO_WEBHOOK = 0  # a *_sent_at for news nobody was set up to hear


def _rows(db, sql, args=()):
    names = [c.strip() for c in COLUMNS.split(",")]
    return [dict(zip(names, row)) for row in db.execute(sql, args).fetchall()]


def open_alerts(db, kinds=None):
    """Alerts raised and not cleared, oldest first (only `kinds`, when given)."""
    rows = _rows(db, "SELECT %s FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at, id" % COLUMNS)
    return [r for r in rows if kinds is None or r["kind"] in kinds]


def recent(db, since):
    """Alerts open, or raised or cleared since `since`, newest first."""
    return _rows(
        db,
        "SELECT %s FROM alerts WHERE raised_at >= ? OR cleared_at >= ? OR cleared_at IS NULL"
        " ORDER BY id DESC" % COLUMNS,
        (since, since),
    )


def update(db, holding, now):
    """Raise what is new in `holding` ({key: alert}), clear what ended; return
    (raised, cleared) as lists of rows."""
    current = {row["key"]: row for row in open_alerts(db)}
    raised, cleared = [], []
    for key, alert in holding.items():
        if key in current:
            continue
        cursor = db.execute(
            "INSERT INTO alerts (key, kind, subject, message, raised_at) VALUES (?, ?, ?, ?, ?)",
            (key, alert["kind"], alert["subject"], alert["message"], int(now)),
        )
        raised.append(dict(alert, id=cursor.lastrowid, raised_at=int(now), cleared_at=None))
    for key, row in current.items():
        if key not in holding:
            db.execute("UPDATE alerts SET cleared_at = ? WHERE id = ?", (int(now), row["id"]))
            cleared.append(dict(row, cleared_at=int(now)))
    return raised, cleared


def unsent(db, limit=200):
    """[(row, "raised" | "cleared")] the webhook has not had, oldest news first.
    A clear waits until its raise has gone out, so it never arrives first."""
    news = [
        (row, "raised")
        for row in _rows(
            db, "SELECT %s FROM alerts WHERE raise_sent_at IS NULL ORDER BY id LIMIT ?" % COLUMNS, (limit,)
        )
    ]
    news += [
        (row, "cleared")
        for row in _rows(
            db,
            "SELECT %s FROM alerts WHERE cleared_at IS NOT NULL AND clear_sent_at IS NULL"
            " AND raise_sent_at IS NOT NULL"
            " ORDER BY cleared_at, id LIMIT ?" % COLUMNS,
            (limit,),
        )
    ]
    return sorted(
        news,
        key=lambda item: (
            item[0]["raised_at"] if item[1] == "raised" else item[0]["cleared_at"],
            item[0]["id"],
        ),
    )


def mark_sent(db, news, at):
    """Record that `news` ([(row, "raised" | "cleared")]) went out at `at`."""
    for row, what in news:
        column = "raise_sent_at" if what == "raised" else "clear_sent_at"
        db.execute(
            "UPDATE alerts SET %s = ? WHERE id = ? AND %s IS NULL" % (column, column), (int(at), row["id"])
        )
