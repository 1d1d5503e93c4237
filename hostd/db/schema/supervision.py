"""Tables of supervision (issue 25): 会商 of work orders, the review of fraud
flags, 办不成事 reports and third-party evaluations.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

from hostd.db.schema.rollups import month_of  # the same local month as stats_monthly
from hostd.db.schema.widen import widen_check

MIGRATIONS = Migrations("hostd.supervision")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def s001_classes_consults_fraud_review(db):
    # A policy may sort orders into three classes (hostd/rules/policies.py:
    # the Ezhou pilot's 简易 / 一般 / 较为复杂).
    widen_check(
        db,
        "work_orders",
        "CHECK (complexity IN ('simple', 'complex'))",
        "CHECK (complexity IN ('simple', 'general', 'complex'))",
    )
    # A fraud flag confirmed as 刷好评 excludes the ratings it names, as an
    # upheld appeal does (恶意差评 was allowed already).
    widen_check(
        db,
        "ratings",
        "excluded IN ('误评', '恶意差评')",
        "excluded IN ('误评', '恶意差评', '刷好评')",
    )
    # 会商: the departments a complex order was put to, and each one's reply
    # (hostd/casework/consults.py). An order is not replied while one is missing.
    db.execute("""
        CREATE TABLE work_order_consults (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES work_orders (order_id),
            department TEXT NOT NULL CHECK (length(department) BETWEEN 1 AND 60),
            asked_at INTEGER NOT NULL,
            asked_by TEXT NOT NULL,
            reply TEXT,
            replied_at INTEGER,
            replied_by TEXT,
            UNIQUE (order_id, department)
        )""")
    # The review of a fraud flag: the verdict of a confirmed one, and the
    # ratings its confirmation excluded (hostd/casework/fraud_review.py).
    db.execute(
        "ALTER TABLE fraud_flags ADD COLUMN verdict TEXT"
        " CHECK (verdict IS NULL OR verdict IN ('刷好评', '恶意差评'))"
    )
    db.execute("""
        CREATE TABLE fraud_exclusions (
            flag_id INTEGER NOT NULL REFERENCES fraud_flags (flag_id),
            rating_id INTEGER NOT NULL REFERENCES ratings (id),
            PRIMARY KEY (flag_id, rating_id)
        ) WITHOUT ROWID""")


@MIGRATIONS()
def s002_unresolved_reports(db):
    # 办不成事 (000 二(六)): a problem a citizen could not get solved, for the
    # unit responsible, with its own deadlines (hostd/casework/unresolved.py).
    # The contact is kept only with consent and purged after
    # privacy.retention_days once the report is finished.
    db.execute("""
        CREATE TABLE unresolved_reports (
            report_id INTEGER PRIMARY KEY,
            hall TEXT NOT NULL,
            unit_id TEXT NOT NULL REFERENCES units (unit_id),
            item_name TEXT,
            problem TEXT NOT NULL CHECK (length(problem) BETWEEN 1 AND 1000),
            contact_name TEXT,
            contact_mobile TEXT,
            contact_purged_at INTEGER,
            source TEXT NOT NULL CHECK (source IN ('window', 'api', 'cli')),
            reported_by TEXT NOT NULL,
            reported_at INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'accepted', 'resolved', 'explained')),
            accept_due INTEGER NOT NULL,
            resolve_due INTEGER NOT NULL,
            accepted_at INTEGER,
            finished_at INTEGER,
            outcome TEXT
        )""")
    db.execute("CREATE INDEX unresolved_open ON unresolved_reports (state, resolve_due)")
    db.execute("CREATE INDEX unresolved_reported ON unresolved_reports (reported_at)")
    db.execute("""
        CREATE TABLE unresolved_events (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES unresolved_reports (report_id),
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            note TEXT
        )""")
    db.execute("CREATE INDEX unresolved_events_report ON unresolved_events (report_id, at)")


@MIGRATIONS()
def s003_third_party_evaluations(db):
    # 明察暗访, callback surveys, 体验官 and other third-party evaluations
    # (000 二(八)(九); 001 二(七)), imported from a table
    # (hostd/casework/thirdparty.py): the 四个满意度, each on the five levels,
    # of a window or a staff member. Kept apart from ratings: they appear
    # beside the device ratings in the statistics, never in them. A file is
    # imported once (its SHA-256), all of its rows or none.
    db.execute("""
        CREATE TABLE third_party_imports (
            batch_id INTEGER PRIMARY KEY,
            hall TEXT NOT NULL,
            file_name TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
            kind TEXT NOT NULL CHECK (kind IN ('xlsx', 'csv')),
            rows INTEGER NOT NULL,
            imported_at INTEGER NOT NULL,
            imported_by TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE third_party_evaluations (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES third_party_imports (batch_id),
            hall TEXT NOT NULL,
            day INTEGER NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('明察暗访', '回访', '体验官', '第三方')),
            window TEXT,
            staff_id TEXT,
            efficiency INTEGER NOT NULL CHECK (efficiency BETWEEN 1 AND 5),
            attitude INTEGER NOT NULL CHECK (attitude BETWEEN 1 AND 5),
            discipline INTEGER NOT NULL CHECK (discipline BETWEEN 1 AND 5),
            integrity INTEGER NOT NULL CHECK (integrity BETWEEN 1 AND 5),
            comment TEXT,
            CHECK (window IS NOT NULL OR staff_id IS NOT NULL)
        )""")
    db.execute("CREATE INDEX third_party_day ON third_party_evaluations (day, hall)")


_BAD_COUNTED = "{r}.level <= 2 AND {r}.binding IN ('session', 'window') AND {r}.excluded IS NULL"
_REASONS = (
    "CASE WHEN json_valid({r}.reasons) AND json_array_length({r}.reasons) > 0 THEN {r}.reasons ELSE '[0]' END"
)
_REASON_UPSERT = """
    INSERT INTO bad_reasons_daily (day, hall, reason, staff_id, unit_id, item_code, n)
    SELECT ({r}.received_at + 28800) / 86400, {r}.hall, CAST(j.value AS INTEGER), COALESCE({r}.staff_id, ''),
           COALESCE({r}.unit_id, ''), COALESCE({r}.item_code, ''), {sign}
    FROM json_each(%s) j WHERE %s
    ON CONFLICT (day, hall, reason, staff_id, unit_id, item_code) DO UPDATE SET n = n + excluded.n;""" % (
    _REASONS,
    _BAD_COUNTED,
)


_BAD_UPSERT = (
    """
    INSERT INTO bad_daily (day, hall, staff_id, unit_id, item_code, n)
    SELECT ({r}.received_at + 28800) / 86400, {r}.hall, COALESCE({r}.staff_id, ''),
           COALESCE({r}.unit_id, ''), COALESCE({r}.item_code, ''), {sign} WHERE %s
    ON CONFLICT (day, hall, staff_id, unit_id, item_code) DO UPDATE SET n = n + excluded.n;"""
    % _BAD_COUNTED
)


def _reason_upsert(row, sign):
    return _REASON_UPSERT.format(r=row, sign=sign) + _BAD_UPSERT.format(r=row, sign=sign)


@MIGRATIONS()
def s004_bad_reasons_and_bad_daily(db):
    # 差评 by reason (归因分析, 001 三(二)): counted 差评 per local day (UTC+8),
    # reason (0 = none chosen), staff member, unit and item, kept by triggers
    # whoever writes, as stats_daily is (hostd/reporting/analysis.py reads it).
    # A rating with two reasons counts once under each; bad_daily counts each
    # 差评 once, for the breakdowns by staff member, unit and item and the
    # concentration alert.
    db.execute("""
        CREATE TABLE bad_daily (
            day INTEGER NOT NULL, hall TEXT NOT NULL, staff_id TEXT NOT NULL, unit_id TEXT NOT NULL,
            item_code TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, hall, staff_id, unit_id, item_code)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE bad_reasons_daily (
            day INTEGER NOT NULL, hall TEXT NOT NULL, reason INTEGER NOT NULL,
            staff_id TEXT NOT NULL, unit_id TEXT NOT NULL, item_code TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, hall, reason, staff_id, unit_id, item_code)
        ) WITHOUT ROWID""")
    db.execute(
        "CREATE TRIGGER bad_reasons_insert AFTER INSERT ON ratings WHEN NEW.level <= 2 BEGIN %s END"
        % _reason_upsert("NEW", "1")
    )
    db.execute(
        "CREATE TRIGGER bad_reasons_update AFTER UPDATE OF level, binding, excluded, reasons, staff_id,"
        " unit_id, item_code, received_at, hall ON ratings WHEN OLD.level <= 2 OR NEW.level <= 2"
        " BEGIN %s %s END" % (_reason_upsert("OLD", "-1"), _reason_upsert("NEW", "1"))
    )
    db.execute(
        "CREATE TRIGGER bad_reasons_delete AFTER DELETE ON ratings WHEN OLD.level <= 2 BEGIN %s END"
        % _reason_upsert("OLD", "-1")
    )
    fill_bad(db)  # ratings stored before this migration


def fill_bad(db):
    """Add every stored rating to bad_reasons_daily and bad_daily (the
    migration's backfill; bench/common.py fills a bulk-loaded database so)."""
    db.execute(
        _REASON_UPSERT.format(r="r", sign="1").replace("FROM json_each(", "FROM ratings r, json_each(", 1)
    )
    db.execute(_BAD_UPSERT.format(r="r", sign="1").replace(", 1 WHERE", ", 1 FROM ratings r WHERE", 1))


def _bad_monthly_upsert(row, sign):
    reasons = _REASONS.format(r=row)
    return """
    INSERT INTO bad_monthly (month, hall, dim, key, n)
    SELECT {month}, {r}.hall, d.dim, d.key, {sign} FROM (
        SELECT 'staff' AS dim, COALESCE({r}.staff_id, '') AS key
        UNION ALL SELECT 'unit', COALESCE({r}.unit_id, '')
        UNION ALL SELECT 'item', COALESCE({r}.item_code, '')
        UNION ALL SELECT 'reason', CAST(CAST(j.value AS INTEGER) AS TEXT) FROM json_each({reasons}) j
    ) d WHERE {counted}
    ON CONFLICT (month, hall, dim, key) DO UPDATE SET n = n + excluded.n;""".format(
        month=month_of("%s.received_at" % row),
        r=row,
        sign=sign,
        reasons=reasons,
        counted=_BAD_COUNTED.format(r=row),
    )


@MIGRATIONS()
def s005_bad_monthly_and_open_orders(db):
    # 差评 per local month and one dimension (reason, staff member, unit or
    # item): a quarter's breakdown reads three months of a few hundred keys,
    # not a row per 差评 of bad_daily (the 差评分析 page on two million
    # ratings, bench/stats.py). bad_daily stays for days and the
    # concentration alert.
    db.execute("""
        CREATE TABLE bad_monthly (
            month INTEGER NOT NULL, hall TEXT NOT NULL,
            dim TEXT NOT NULL CHECK (dim IN ('reason', 'staff', 'unit', 'item')),
            key TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (month, hall, dim, key)
        ) WITHOUT ROWID""")
    db.execute(
        "CREATE TRIGGER bad_monthly_insert AFTER INSERT ON ratings WHEN NEW.level <= 2 BEGIN %s END"
        % _bad_monthly_upsert("NEW", "1")
    )
    db.execute(
        "CREATE TRIGGER bad_monthly_update AFTER UPDATE OF level, binding, excluded, reasons, staff_id,"
        " unit_id, item_code, received_at, hall ON ratings WHEN OLD.level <= 2 OR NEW.level <= 2"
        " BEGIN %s %s END" % (_bad_monthly_upsert("OLD", "-1"), _bad_monthly_upsert("NEW", "1"))
    )
    db.execute(
        "CREATE TRIGGER bad_monthly_delete AFTER DELETE ON ratings WHEN OLD.level <= 2 BEGIN %s END"
        % _bad_monthly_upsert("OLD", "-1")
    )
    fill_bad_monthly(db)
    # The display's 整改中 of a quarter: its open orders by opening time, with
    # what the count and the deadlines need (hostd/reporting/publication.py).
    db.execute(
        "CREATE INDEX work_orders_open_opened ON work_orders (hall, opened_at, done_at, done_due,"
        " contacted_at, contact_due) WHERE state IN ('new', 'contacted', 'rectifying', 'replied')"
    )


def fill_bad_monthly(db):
    """bad_monthly from the daily rollups (the migration's backfill; bench/common.py's too)."""
    month = month_of("day * 86400 - 28800")
    for dim, column, table in (
        ("staff", "staff_id", "bad_daily"),
        ("unit", "unit_id", "bad_daily"),
        ("item", "item_code", "bad_daily"),
        ("reason", "CAST(reason AS TEXT)", "bad_reasons_daily"),
    ):
        db.execute(
            "INSERT INTO bad_monthly (month, hall, dim, key, n) SELECT %s, hall, '%s', %s, SUM(n)"
            " FROM %s GROUP BY 1, 2, 4 HAVING SUM(n) != 0" % (month, dim, column, table)
        )
