"""The reference platform's rules and its own SQLite (tests count what arrived).

Rules, as provincial platforms apply the national interface:
  - every record carries its idempotency `key`; a key seen before with the
    same content is answered ok (code DUPLICATE) and stored nowhere again;
    the same key with other content is BAD_FIELD;
  - a rating without its service record: NO_SERVICE "没有对应的服务数据";
  - a repeated assessNumber for a (projectNo, serviceNumber): REPEAT_ASSESS;
  - a 差评 (satisfaction <= 2) with neither evalDetail nor writingEvaluation:
    NO_DETAIL;
  - bad codes (pf, satisfaction, evalDetail, deptCode, areaCode, times):
    BAD_CODE / BAD_FIELD;
  - a reply, appeal decision or comment for a rating it does not hold:
    NO_RATING "没有对应的评价数据"; one appeal decision per appeal and case.
The indicator code list is the platform's own, on purpose not imported from
hostd, so a mapping mistake in hostd shows up as a rejection.
"""

import hashlib
import json
import re
import sqlite3
import threading
import time

INDICATORS = frozenset(("1001", "1002", "1003", "1004", "1005", "1099"))
_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
_DEPT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_AREA = re.compile(r"^\d{12}$")


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def _need(cond, code, message):
    if not cond:
        raise Refused(code, message)


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Platform:
    def __init__(self, path):
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS services (projectNo TEXT, serviceNumber INTEGER,
                key TEXT, body TEXT, at REAL, PRIMARY KEY (projectNo, serviceNumber));
            CREATE TABLE IF NOT EXISTS ratings (id INTEGER PRIMARY KEY, projectNo TEXT,
                serviceNumber INTEGER, assessNumber INTEGER, key TEXT, pf INTEGER,
                satisfaction INTEGER, body TEXT, at REAL);
            CREATE INDEX IF NOT EXISTS ratings_case ON ratings (projectNo, serviceNumber, assessNumber);
            CREATE TABLE IF NOT EXISTS followups (key TEXT PRIMARY KEY, type TEXT, projectNo TEXT,
                serviceNumber INTEGER, body TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, projectNo TEXT,
                serviceNumber INTEGER, body TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY, key TEXT, code TEXT,
                message TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, count INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS tickets (ticket TEXT PRIMARY KEY, external_id TEXT UNIQUE,
                key TEXT, body TEXT, at REAL);
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
    def accept_batch(self, records):
        """Apply a batch in one transaction; return the results list."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                results = [self._one(record) for record in records]
                self.count("requests")
                self.count("records", len(records))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return results

    def _one(self, record):
        key = record.get("key") if isinstance(record, dict) else None
        try:
            _need(isinstance(key, str) and key, "BAD_FIELD", "缺少幂等键 key")
            text = json.dumps(record, sort_keys=True, ensure_ascii=False)
            digest = hashlib.sha256(text.encode()).hexdigest()
            seen = self.db.execute("SELECT digest FROM keys WHERE key = ?", (key,)).fetchone()
            if seen is not None:
                _need(seen[0] == digest, "BAD_FIELD", "同一幂等键的内容不同")
                self.count("duplicates")
                return {"key": key, "ok": True, "code": "DUPLICATE", "message": "已接收"}
            kind = record.get("type")
            if kind == "service":
                self._service(key, record, text)
            elif kind == "rating":
                self._rating(key, record, text)
            elif kind == "reply":
                self._reply(key, record, text)
            elif kind in ("appeal", "comment"):
                self._followup(kind, key, record, text)
            else:
                raise Refused("BAD_FIELD", "未知数据类型 %r" % kind)
            self.db.execute("INSERT INTO keys (key, digest) VALUES (?, ?)", (key, digest))
            return {"key": key, "ok": True, "code": "OK", "message": "接收成功"}
        except Refused as refusal:
            self.db.execute(
                "INSERT INTO refusals (key, code, message, at) VALUES (?, ?, ?, ?)",
                (key, refusal.code, refusal.message, time.time()),
            )
            self.count("refused_" + refusal.code)
            return {"key": key, "ok": False, "code": refusal.code, "message": refusal.message}

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

    def _service(self, key, r, text):
        self._common(r)
        self._codes(r)
        _need(_TIME.match(str(r.get("serviceTime", ""))), "BAD_FIELD", "serviceTime 格式错误")
        taken = self.db.execute(
            "SELECT key FROM services WHERE projectNo = ? AND serviceNumber = ?",
            (r["projectNo"], r["serviceNumber"]),
        ).fetchone()
        _need(taken is None, "REPEAT_SERVICE", "服务数据重复")
        self.db.execute(
            "INSERT INTO services VALUES (?, ?, ?, ?, ?)",
            (r["projectNo"], r["serviceNumber"], key, text, time.time()),
        )

    def _rating(self, key, r, text):
        self._common(r)
        self._codes(r)
        _need(r.get("assessNumber") in (1, 2), "BAD_CODE", "assessNumber 须为1或2")
        _need(r.get("pf") in (1, 2, 3, 4, 5, 6, 7), "BAD_CODE", "pf 评价渠道代码错误")
        _need(r.get("satisfaction") in (1, 2, 3, 4, 5), "BAD_CODE", "satisfaction 须为1-5")
        _need(_TIME.match(str(r.get("assessTime", ""))), "BAD_FIELD", "assessTime 格式错误")
        detail = r.get("evalDetail") or ""
        codes = [c for c in detail.split(",") if c]
        _need(all(c in INDICATORS for c in codes), "BAD_CODE", "evalDetail 含未知评价指标")
        _need(
            r["satisfaction"] > 2 or codes or (r.get("writingEvaluation") or "").strip(),
            "NO_DETAIL",
            "差评须填写评价指标或文字评价",
        )
        service = self.db.execute(
            "SELECT 1 FROM services WHERE projectNo = ? AND serviceNumber = ?",
            (r["projectNo"], r["serviceNumber"]),
        ).fetchone()
        _need(service is not None, "NO_SERVICE", "没有对应的服务数据")
        repeat = self.db.execute(
            "SELECT 1 FROM ratings WHERE projectNo = ? AND serviceNumber = ? AND assessNumber = ?",
            (r["projectNo"], r["serviceNumber"], r["assessNumber"]),
        ).fetchone()
        _need(repeat is None, "REPEAT_ASSESS", "评价次数重复")
        self.db.execute(
            "INSERT INTO ratings (projectNo, serviceNumber, assessNumber, key, pf,"
            " satisfaction, body, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r["projectNo"],
                r["serviceNumber"],
                r["assessNumber"],
                key,
                r["pf"],
                r["satisfaction"],
                text,
                time.time(),
            ),
        )

    def _reply(self, key, r, text):
        self._common(r)
        rated = self.db.execute(
            "SELECT 1 FROM ratings WHERE projectNo = ? AND serviceNumber = ?",
            (r["projectNo"], r["serviceNumber"]),
        ).fetchone()
        _need(rated is not None, "NO_RATING", "没有对应的评价数据")
        self.db.execute(
            "INSERT INTO replies VALUES (?, ?, ?, ?, ?)",
            (key, r["projectNo"], r["serviceNumber"], text, time.time()),
        )

    def _followup(self, kind, key, r, text):
        self._common(r)
        if kind == "appeal":
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
            _need(_TIME.match(str(r.get("reviewTime", ""))), "BAD_FIELD", "reviewTime 格式错误")
        else:
            codes = [c for c in (r.get("evalDetail") or "").split(",") if c]
            _need(all(c in INDICATORS for c in codes), "BAD_CODE", "evalDetail 含未知评价指标")
            answers = r.get("questions") or {}
            _need(isinstance(answers, dict), "BAD_FIELD", "questions 须为对象")
            _need(codes or (r.get("writingEvaluation") or "").strip() or answers, "BAD_FIELD", "追加内容为空")
        rated = self.db.execute(
            "SELECT 1 FROM ratings WHERE projectNo = ? AND serviceNumber = ? AND assessNumber = ?",
            (r["projectNo"], r["serviceNumber"], r.get("assessNumber")),
        ).fetchone()
        _need(rated is not None, "NO_RATING", "没有对应的评价数据")
        self.db.execute(
            "INSERT INTO followups VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind, r["projectNo"], r["serviceNumber"], text, time.time()),
        )

    # -- fake 12345 ---------------------------------------------------------
    def open_tickets(self, records):
        results = []
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for r in records:
                key, external = r.get("key"), str(r.get("externalId", ""))
                row = self.db.execute(
                    "SELECT ticket FROM tickets WHERE external_id = ?", (external,)
                ).fetchone()
                if row is None:
                    ticket = "12345-%06d" % (
                        1 + self.db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
                    )
                    self.db.execute(
                        "INSERT INTO tickets VALUES (?, ?, ?, ?, ?)",
                        (ticket, external, key, json.dumps(r, ensure_ascii=False), time.time()),
                    )
                else:
                    ticket = row[0]
                results.append({"key": key, "ok": True, "code": "OK", "message": ticket})
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
            out["ratings"] = q("SELECT COUNT(*) FROM ratings").fetchone()[0]
            out["distinct_ratings"] = q(
                "SELECT COUNT(*) FROM (SELECT DISTINCT projectNo, serviceNumber, assessNumber FROM ratings)"
            ).fetchone()[0]
            out["replies"] = q("SELECT COUNT(*) FROM replies").fetchone()[0]
            out["appeals"] = q("SELECT COUNT(*) FROM followups WHERE type = 'appeal'").fetchone()[0]
            out["comments"] = q("SELECT COUNT(*) FROM followups WHERE type = 'comment'").fetchone()[0]
            out["tickets"] = q("SELECT COUNT(*) FROM tickets").fetchone()[0]
        return out
