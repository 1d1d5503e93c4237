"""Widen a CHECK constraint in place, the way SQLite's documentation gives for
constraint changes that every stored row already satisfies ("Making Other
Kinds Of Table Schema Changes", sqlite.org/lang_altertable.html): rewrite
the table's CREATE text in sqlite_schema and bump schema_version, inside the
migration's transaction. No row is copied, so a hall's 2,000,000 ratings take
no longer than an empty table, and indexes and triggers stay as they are.
Only for a CHECK that accepts more than before: a narrower one would leave
rows that break it.
"""

import sqlite3


def widen_check(db, table, old, new):
    """Replace the text `old` by `new` in `table`'s CREATE statement; `old`
    must occur exactly once (a shipped schema is known text)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()[0]
    if sql.count(old) != 1:
        raise RuntimeError("%s: expected one %r in its schema, found %d" % (table, old, sql.count(old)))
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    defensive = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
    setconfig = getattr(db.conn, "setconfig", None)  # Python 3.12+
    if defensive is not None and setconfig is not None:  # a SQLite built defensive would refuse
        setconfig(defensive, False)
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            [sql.replace(old, new), table],
        )
        db.execute("PRAGMA schema_version = %d" % (version + 1))
    except sqlite3.DatabaseError as exc:
        raise RuntimeError(
            "%s: SQLite refused to widen a CHECK in place (%s): it is built defensive; run hostd"
            " with Python 3.12 or later, or a SQLite without SQLITE_DEFAULT_DEFENSIVE" % (table, exc)
        ) from None
    finally:
        db.execute("PRAGMA writable_schema = OFF")
    problems = db.execute("PRAGMA quick_check").fetchall()
    if problems != [("ok",)]:
        raise RuntimeError("%s: the schema change left %r" % (table, problems[:3]))
