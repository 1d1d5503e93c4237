"""Tables of supervision (issue 25): 会商 of work orders, the review of fraud
flags, 办不成事 reports and third-party evaluations.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

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
