"""The reference platform's rules and its own SQLite (tests count what arrived).

Rules, as provincial platforms apply the national interface (design.md
"Upstream record"). There is no idempotency key: a record is known by its
identity, and a repeat is refused.
  - service record (办件服务数据), identity (projectNo, serviceNumber): a
    repeat is REPEAT_SERVICE "服务数据重复";
  - rating, identity (projectNo, serviceNumber, assessNumber): a repeat is
    REPEAT_ASSESS "重复评价"; without its service record NO_SERVICE
    "没有对应的服务数据"; a 追评 (assessNumber 2) before the first rating
    NO_RATING "没有对应的评价数据"; a 差评 (satisfaction <= 2) with neither
    evalDetail nor writingEvaluation NO_DETAIL "差评需填写评价指标或文字";
  - fields: areaCode 12 digits, deptCode an 18-character 统一社会信用代码,
    times yyyy-MM-dd HH:mm:ss, pf and evalDetail from the platform's own code
    lists; a field the interface does not have (a key of ours, say) is BAD_FIELD;
  - reply and appeal decision (hostd's own wire only): for a rating it holds,
    once per identity.
The code lists are the platform's own, on purpose not read from hostd's
tables, so a mapping mistake in hostd shows up as a refusal.
query() reads back what is held under an identity, as a platform's lookup
does; push_service() is a window's business system sending a service record.
"""

import json
import re
import sqlite3
import threading
import time

# The codes this platform takes: hostd's own codes (hostd/sync/tables/own.toml)
# and the example codes of the epoint format (epoint-example.toml), typed here.
INDICATORS = frozenset(("1001", "1002", "1003", "1004", "1005", "1090", "1099"))
INDICATORS |= frozenset(("510", "511", "512", "513", "514", "517", "519"))
CHANNELS = frozenset(("3", "4", "5", "6", "7"))

_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
_DEPT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_AREA = re.compile(r"^\d{12}$")

FIELDS = {
    "service": frozenset(
        "projectNo serviceNumber serviceName serviceTime promiseTime taskType taskCode taskName"
        " deptCode areaCode proManager".split()
    ),
    "rating": frozenset(
        "projectNo serviceNumber assessNumber pf satisfaction evalDetail writingEvaluation assessTime"
        " taskCode taskName deptCode areaCode proManager questions userName mobile userProp".split()
    ),
    "reply": frozenset("projectNo serviceNumber assessNumber replyContent replyTime feedback".split()),
    "appeal": frozenset(
        "projectNo serviceNumber assessNumber appealResult appealType appealReason reviewOpinion"
        " appealTime reviewTime".split()
    ),
}
TEXTS = {
    "REPEAT_SERVICE": "服务数据重复",
    "REPEAT_ASSESS": "重复评价",
    "NO_SERVICE": "没有对应的服务数据",
    "NO_RATING": "没有对应的评价数据",
    "NO_DETAIL": "差评需填写评价指标或文字",
    "REPEAT": "数据重复",
}


class Refused(Exception):
    def __init__(self, code, message=None):
        super().__init__(message or TEXTS[code])
        self.code, self.message = code, message or TEXTS[code]


def _need(cond, code, message=None):
    if not cond:
        raise Refused(code, message)


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Platform:
    def __init__(self, path, indicators=INDICATORS, channels=CHANNELS):
        self.indicators, self.channels = indicators, channels
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS services (projectNo TEXT, serviceNumber INTEGER,
                source TEXT, body TEXT, at REAL, PRIMARY KEY (projectNo, serviceNumber));
            CREATE TABLE IF NOT EXISTS ratings (id INTEGER PRIMARY KEY, projectNo TEXT,
                serviceNumber INTEGER, assessNumber INTEGER, pf TEXT, satisfaction INTEGER,
                body TEXT, at REAL, UNIQUE (projectNo, serviceNumber, assessNumber));
            CREATE TABLE IF NOT EXISTS followups (id INTEGER PRIMARY KEY, type TEXT, identity TEXT,
                projectNo TEXT, serviceNumber INTEGER, body TEXT, at REAL, UNIQUE (type, identity));
            CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY, type TEXT, projectNo TEXT,
                code TEXT, message TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, count INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS tickets (ticket TEXT PRIMARY KEY, external_id TEXT UNIQUE,
                body TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS ticket_replies (id INTEGER PRIMARY KEY, ticket TEXT,
                kind TEXT, text TEXT, feedback TEXT, at REAL);
        """)

    def count(self, name, n=1):
        self.db.execute(
            "INSERT INTO counters (name, count) VALUES (?, ?) ON CONFLICT (name)"
            " DO UPDATE SET count = count + excluded.count",
            (name, n),
        )

    # -- provincial records -----------------------------------------------
    def accept(self, items):
        """Apply [(type, record)] in one transaction; return [(ok, code, message)]."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                results = [self._one(kind, record) for kind, record in items]
                self.count("requests")
                self.count("records", len(items))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return results

    def _one(self, kind, record):
        try:
            _need(isinstance(record, dict), "BAD_FIELD", "记录须为对象")
            _need(kind in FIELDS, "BAD_FIELD", "未知数据类型 %r" % (kind,))
            unknown = sorted(set(record) - FIELDS[kind])
            _need(not unknown, "BAD_FIELD", "未知字段 %s" % ", ".join(unknown))
            self._common(record)
            getattr(self, "_" + kind)(record)
            return True, "OK", "接收成功"
        except Refused as refusal:
            self.db.execute(
                "INSERT INTO refusals (type, projectNo, code, message, at) VALUES (?, ?, ?, ?, ?)",
                (kind, str((record or {}).get("projectNo", "")), refusal.code, refusal.message, time.time()),
            )
            self.count("refused_" + refusal.code)
            return False, refusal.code, refusal.message

    def _common(self, r):
        _need(
            isinstance(r.get("projectNo"), str) and 0 < len(r["projectNo"]) <= 50,
            "BAD_FIELD",
            "projectNo 办件编号须为1-50个字符",
        )
        _need(
            _int(r.get("serviceNumber")) and r["serviceNumber"] >= 1, "BAD_FIELD", "serviceNumber 须为正整数"
        )

    def _codes(self, r):
        _need(isinstance(r.get("taskCode"), str) and r["taskCode"], "BAD_CODE", "taskCode 事项编码为空")
        _need(
            isinstance(r.get("deptCode"), str) and _DEPT.match(r["deptCode"]),
            "BAD_CODE",
            "deptCode 须为18位统一社会信用代码",
        )
        _need(
            isinstance(r.get("areaCode"), str) and _AREA.match(r["areaCode"]),
            "BAD_CODE",
            "areaCode 须为12位行政区划代码",
        )

    def _time(self, r, name, required=True):
        if name in r or required:
            _need(
                _TIME.match(str(r.get(name, ""))), "BAD_FIELD", "%s 时间格式须为 yyyy-MM-dd HH:mm:ss" % name
            )

    def _service(self, r, source="hall"):
        self._codes(r)
        self._time(r, "serviceTime")
        self._time(r, "promiseTime", required=False)
        taken = self.db.execute(
            "SELECT 1 FROM services WHERE projectNo = ? AND serviceNumber = ?",
            (r["projectNo"], r["serviceNumber"]),
        ).fetchone()
        _need(taken is None, "REPEAT_SERVICE")
        self.db.execute(
            "INSERT INTO services VALUES (?, ?, ?, ?, ?)",
            (r["projectNo"], r["serviceNumber"], source, json.dumps(r, ensure_ascii=False), time.time()),
        )

    def _rating(self, r):
        self._codes(r)
        _need(r.get("assessNumber") in (1, 2), "BAD_CODE", "assessNumber 须为1（评价）或2（追评）")
        _need(str(r.get("pf")) in self.channels, "BAD_CODE", "pf 评价渠道代码错误")
        _need(r.get("satisfaction") in (1, 2, 3, 4, 5), "BAD_CODE", "satisfaction 须为1-5")
        self._time(r, "assessTime")
        codes = [c for c in str(r.get("evalDetail") or "").split(",") if c]
        _need(all(c in self.indicators for c in codes), "BAD_CODE", "evalDetail 含未知评价指标")
        _need(r["satisfaction"] > 2 or codes or str(r.get("writingEvaluation") or "").strip(), "NO_DETAIL")
        service = self.db.execute(
            "SELECT 1 FROM services WHERE projectNo = ? AND serviceNumber = ?",
            (r["projectNo"], r["serviceNumber"]),
        ).fetchone()
        _need(service is not None, "NO_SERVICE")
        if r["assessNumber"] == 2:
            _need(self._rated(r), "NO_RATING")
        repeat = self.db.execute(
            "SELECT 1 FROM ratings WHERE projectNo = ? AND serviceNumber = ? AND assessNumber = ?",
            (r["projectNo"], r["serviceNumber"], r["assessNumber"]),
        ).fetchone()
        _need(repeat is None, "REPEAT_ASSESS")
        self.db.execute(
            "INSERT INTO ratings (projectNo, serviceNumber, assessNumber, pf, satisfaction, body, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                r["projectNo"],
                r["serviceNumber"],
                r["assessNumber"],
                str(r["pf"]),
                r["satisfaction"],
                json.dumps(r, ensure_ascii=False),
                time.time(),
            ),
        )

    def _rated(self, r):
        return (
            self.db.execute(
                "SELECT 1 FROM ratings WHERE projectNo = ? AND serviceNumber = ? AND assessNumber = 1",
                (r["projectNo"], r["serviceNumber"]),
            ).fetchone()
            is not None
        )

    def _followup(self, kind, r, identity):
        _need(self._rated(r), "NO_RATING")
        taken = self.db.execute(
            "SELECT 1 FROM followups WHERE type = ? AND identity = ?", (kind, identity)
        ).fetchone()
        _need(taken is None, "REPEAT")
        self.db.execute(
            "INSERT INTO followups (type, identity, projectNo, serviceNumber, body, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                kind,
                identity,
                r["projectNo"],
                r["serviceNumber"],
                json.dumps(r, ensure_ascii=False),
                time.time(),
            ),
        )

    def _reply(self, r):
        _need(isinstance(r.get("replyContent"), str), "BAD_FIELD", "replyContent 整改内容须为文字")
        self._time(r, "replyTime")
        self._followup("reply", r, "%s|%s" % (r["projectNo"], r["serviceNumber"]))

    def _appeal(self, r):
        _need(r.get("appealResult") in (1, 2), "BAD_CODE", "appealResult 须为1（成立）或2（驳回）")
        _need(
            r.get("appealType") in ((1, 2) if r["appealResult"] == 1 else (0,)),
            "BAD_CODE",
            "appealType 申诉成立须为1（误评）或2（恶意差评），驳回为0",
        )
        _need(
            isinstance(r.get("appealReason"), str) and r["appealReason"].strip(),
            "BAD_FIELD",
            "appealReason 申诉理由为空",
        )
        self._time(r, "appealTime")
        self._time(r, "reviewTime")
        self._followup("appeal", r, "%s|%s|%s" % (r["projectNo"], r["serviceNumber"], r["appealTime"]))

    def query(self, kind, key):
        """The record held under an identity ({projectNo, serviceNumber[,
        assessNumber | appealTime]}), or None."""
        p, s = key.get("projectNo"), key.get("serviceNumber")
        with self.lock:
            self.count("queries")
            if kind == "service":
                row = self.db.execute(
                    "SELECT body FROM services WHERE projectNo = ? AND serviceNumber = ?", (p, s)
                ).fetchone()
            elif kind == "rating":
                row = self.db.execute(
                    "SELECT body FROM ratings WHERE projectNo = ? AND serviceNumber = ? AND assessNumber = ?",
                    (p, s, key.get("assessNumber", 1)),
                ).fetchone()
            else:
                identity = "%s|%s" % (p, s) + ("|%s" % key.get("appealTime") if kind == "appeal" else "")
                row = self.db.execute(
                    "SELECT body FROM followups WHERE type = ? AND identity = ?", (kind, identity)
                ).fetchone()
        return json.loads(row[0]) if row else None

    def push_service(self, record):
        """A window's business system sends a service record itself; True if taken."""
        with self.lock:
            try:
                self._common(record)
                self._service(record, source="business")
                return True
            except Refused:
                return False

    # -- fake 12345 ---------------------------------------------------------
    def open_tickets(self, records):
        """A ticket per order, known by its externalId: a repeat gets the same ticket."""
        results = []
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for r in records:
                external = str(r.get("externalId", ""))
                if not external:
                    results.append((False, "BAD_FIELD", "externalId 为空"))
                    continue
                row = self.db.execute(
                    "SELECT ticket FROM tickets WHERE external_id = ?", (external,)
                ).fetchone()
                if row is None:
                    ticket = "12345-%06d" % (
                        1 + self.db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
                    )
                    self.db.execute(
                        "INSERT INTO tickets VALUES (?, ?, ?, ?)",
                        (ticket, external, json.dumps(r, ensure_ascii=False), time.time()),
                    )
                else:
                    ticket = row[0]
                results.append((True, "OK", ticket))
            self.db.execute("COMMIT")
        return results

    def add_reply(self, ticket, kind, text, feedback=None):
        """A 12345 operator's reply (verification / rectification / closure)."""
        if kind not in ("verification", "rectification", "closure"):
            raise ValueError("kind must be verification, rectification or closure")
        with self.lock:
            return self.db.execute(
                "INSERT INTO ticket_replies (ticket, kind, text, feedback, at) VALUES (?, ?, ?, ?, ?)",
                (ticket, kind, text, feedback, time.time()),
            ).lastrowid

    def replies_since(self, cursor, limit=500):
        with self.lock:
            rows = self.db.execute(
                "SELECT r.id, r.ticket, t.external_id, r.kind, r.text, r.feedback FROM ticket_replies r"
                " JOIN tickets t ON t.ticket = r.ticket WHERE r.id > ? ORDER BY r.id LIMIT ?",
                (cursor, limit),
            ).fetchall()
        return [
            {"id": r[0], "ticket": r[1], "externalId": r[2], "kind": r[3], "text": r[4], "feedback": r[5]}
            for r in rows
        ]

    # -- what tests count ---------------------------------------------------
    def stats(self):
        with self.lock:
            q = self.db.execute
            out = dict(q("SELECT name, count FROM counters").fetchall())
            out["services"] = q("SELECT COUNT(*) FROM services").fetchone()[0]
            out["ratings"] = q("SELECT COUNT(*) FROM ratings WHERE assessNumber = 1").fetchone()[0]
            out["additions"] = q("SELECT COUNT(*) FROM ratings WHERE assessNumber = 2").fetchone()[0]
            out["replies"] = q("SELECT COUNT(*) FROM followups WHERE type = 'reply'").fetchone()[0]
            out["appeals"] = q("SELECT COUNT(*) FROM followups WHERE type = 'appeal'").fetchone()[0]
            out["tickets"] = q("SELECT COUNT(*) FROM tickets").fetchone()[0]
        return out
