"""Tables of the channels a hall rates through besides its devices: uploads
and what refers to them (paper forms, evidence), contacts and SMS reminders,
window QR codes, themes, agents and 办结.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.channels")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def m001_uploads_and_paper_forms(db):
    # uploads: every file a person handed hostd (hostd/files/uploads.py),
    # stored once by its SHA-256, here, so backups and the replica carry it.
    db.execute("""
        CREATE TABLE uploads (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            kind TEXT NOT NULL CHECK (kind IN ('jpeg', 'png', 'pdf')),
            bytes INTEGER NOT NULL CHECK (bytes > 0),
            data BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL
        )""")
    # paper_forms: a 书面 rating (ratings.channel = 'paper') as entered by a
    # staff member (hostd/recording/paper.py): the form's serial number, once
    # per hall; the scan, if one was uploaded; who entered it, and when.
    db.execute("""
        CREATE TABLE paper_forms (
            rating_id INTEGER PRIMARY KEY REFERENCES ratings (id),
            hall TEXT NOT NULL,
            serial TEXT NOT NULL,
            scan TEXT REFERENCES uploads (sha256),
            entered_by TEXT NOT NULL,
            entered_at INTEGER NOT NULL,
            UNIQUE (hall, serial)
        )""")
    db.execute("CREATE INDEX paper_forms_entered ON paper_forms (entered_at)")


@MIGRATIONS()
def m002_named_ratings(db):
    # named = 1: the evaluator left a name or phone for a callback (实名,
    # hostd/recording/evaluator.py). It stays when retention purges the
    # details themselves, so 实名差评回访率 of a past quarter does not change.
    db.execute("ALTER TABLE ratings ADD COLUMN named INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE ratings SET named = 1 WHERE evaluator_name IS NOT NULL OR evaluator_mobile IS NOT NULL"
    )
    db.execute("CREATE INDEX ratings_named ON ratings (received_at) WHERE named = 1")


@MIGRATIONS()
def m003_contacts_and_sms(db):
    # session_contacts: a mobile number the business system gave with the
    # citizen's consent (POST /api/v1/sessions), for the SMS reminder and a
    # work order's callback. mobile is NULL once purged
    # (hostd/recording/retention.py); never exported.
    db.execute("""
        CREATE TABLE session_contacts (
            session_id TEXT PRIMARY KEY REFERENCES sessions (session_id),
            mobile TEXT,
            consented_at INTEGER NOT NULL,
            purged_at INTEGER
        )""")
    db.execute("CREATE INDEX session_contacts_mobile ON session_contacts (mobile) WHERE mobile IS NOT NULL")
    # sms_reminders: one per session at most (hostd/sms/reminders.py has the
    # states); code is the short link /s/<code> the message carries.
    db.execute("""
        CREATE TABLE sms_reminders (
            session_id TEXT PRIMARY KEY REFERENCES sessions (session_id),
            code TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'waiting'
                CHECK (state IN ('waiting', 'sending', 'sent', 'refused', 'unknown', 'skipped')),
            due_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at INTEGER,
            gateway_id TEXT,
            error TEXT
        )""")
    db.execute("CREATE INDEX sms_reminders_due ON sms_reminders (due_at) WHERE state = 'waiting'")
    db.execute("CREATE INDEX sms_reminders_sent ON sms_reminders (sent_at) WHERE sent_at IS NOT NULL")


@MIGRATIONS()
def m004_window_qr_generation(db):
    # The generation of a window's standing QR code (its counter sticker,
    # hostd/rules/links.py window_url): a new one invalidates older stickers.
    db.execute("ALTER TABLE windows ADD COLUMN qr_generation INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS()
def m005_themes_agents_and_finished(db):
    # 一件事 / 主题式: a session of several items under a theme (the session's
    # own item_code / item_name); each case names its item here, so it goes
    # upstream under its own item. NULL: the session's item.
    db.execute("ALTER TABLE session_cases ADD COLUMN item_code TEXT")
    db.execute("ALTER TABLE session_cases ADD COLUMN item_name TEXT")
    # theme_items: how many items a themed session links (NULL: one item).
    db.execute("ALTER TABLE sessions ADD COLUMN theme_items INTEGER")
    # 帮办代办: the agent's id; whoever rates first (the agent at the
    # device, the applicant through the link or SMS) closes the session.
    db.execute("ALTER TABLE sessions ADD COLUMN agent_id TEXT")
    # purpose: 'service' (a visit), or 'finished' (办结: the final rating of a
    # matter served over several visits, its case at the next visit number).
    db.execute(
        "ALTER TABLE sessions ADD COLUMN purpose TEXT NOT NULL DEFAULT 'service'"
        " CHECK (purpose IN ('service', 'finished'))"
    )


@MIGRATIONS()
def m006_attachments(db):
    # attachments: evidence (佐证材料) on a work order, or an appeal's own
    # (举证), as hostd/casework/evidence.py adds it: one uploaded file each
    # (uploads), the name it came with (shown only), who added it and when.
    db.execute("""
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL REFERENCES uploads (sha256),
            order_id INTEGER REFERENCES work_orders (order_id),
            appeal_id INTEGER REFERENCES appeals (appeal_id),
            name TEXT NOT NULL,
            note TEXT,
            added_by TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            CHECK ((order_id IS NULL) != (appeal_id IS NULL))
        )""")
    db.execute("CREATE INDEX attachments_order ON attachments (order_id) WHERE order_id IS NOT NULL")
    db.execute("CREATE INDEX attachments_appeal ON attachments (appeal_id) WHERE appeal_id IS NOT NULL")
    db.execute("CREATE INDEX attachments_added ON attachments (added_at)")


@MIGRATIONS()
def m007_spot_checks(db):
    # spot_checks: a supervisor's random draw of finished work orders for a
    # callback check of their callback and rectification (003 第十六条),
    # hostd/casework/spot_checks.py; each order drawn once.
    #   outcome  confirmed (属实) | disputed (与记录不符) | unreachable (无法联系)
    db.execute("""
        CREATE TABLE spot_checks (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL UNIQUE REFERENCES work_orders (order_id),
            period TEXT NOT NULL,
            drawn_at INTEGER NOT NULL,
            drawn_by TEXT NOT NULL,
            outcome TEXT CHECK (outcome IS NULL OR outcome IN ('confirmed', 'disputed', 'unreachable')),
            note TEXT,
            checked_at INTEGER,
            checked_by TEXT
        )""")
    db.execute("CREATE INDEX spot_checks_period ON spot_checks (period, id)")


@MIGRATIONS()
def m008_sms_verdicts(db):
    # sms_verdicts: the complainant's link to rate a rectification, sent by
    # SMS once per reply of a work order (hostd/sms/verdicts.py), to the
    # number they gave with consent; code is the short link /s/<code>.
    # The states are sms_reminders'.
    db.execute("""
        CREATE TABLE sms_verdicts (
            order_id INTEGER NOT NULL REFERENCES work_orders (order_id),
            replied_at INTEGER NOT NULL,
            mobile TEXT,
            code TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'waiting'
                CHECK (state IN ('waiting', 'sending', 'sent', 'refused', 'unknown', 'skipped')),
            due_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at INTEGER,
            gateway_id TEXT,
            error TEXT,
            PRIMARY KEY (order_id, replied_at)
        )""")
    db.execute("CREATE INDEX sms_verdicts_due ON sms_verdicts (due_at) WHERE state = 'waiting'")
