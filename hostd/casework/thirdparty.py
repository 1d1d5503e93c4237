"""Third-party evaluations: 明察暗访, callback surveys (回访), 体验官 visits and
other third parties (000 二(八)(九); 001 二(七)), imported from a table.

Each row: 日期, 来源 (明察暗访 / 回访 / 体验官 / 第三方), 窗口 or 工作人员工号
(or both), the 四个满意度 (办事效率, 服务态度, 工作纪律, 廉洁自律) each on the
five levels (非常满意 … 非常不满意, or 5 … 1), and 意见. template() is the
table to fill in.

An import is all or nothing: check() reads every row and returns every bad
row with its reason (a row equal to one imported before, or to another row
of the file, is bad too); import_table() refuses the whole file if there is
one, and a file already imported (by its SHA-256). The evaluations are kept
apart from ratings: summary() puts them beside the device ratings, never in
them.
"""

import csv
import datetime
import hashlib
import io

from hostd.base import clock, hall_time, text
from hostd.base.errors import UserError

SOURCES = ("明察暗访", "回访", "体验官", "第三方")
DIMENSIONS = (
    ("efficiency", "办事效率"),
    ("attitude", "服务态度"),
    ("discipline", "工作纪律"),
    ("integrity", "廉洁自律"),
)
LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
HEADERS = ["日期", "来源", "窗口", "工作人员工号"] + [name for _k, name in DIMENSIONS] + ["意见"]
MAX_COMMENT = 500
MAX_ERRORS = 200  # listed; a file with more says how many more


class ImportRefused(UserError):
    """The file is refused: `errors` lists each bad row ("第 N 行：reason")."""

    exit_code = 2

    def __init__(self, message, errors=()):
        super().__init__(message)
        self.errors = list(errors)


def template():
    """The header row and two example rows, for the page's download."""
    return [
        HEADERS,
        [
            "2026-11-20",
            "明察暗访",
            "W01",
            "",
            "满意",
            "非常满意",
            "满意",
            "非常满意",
            "暗访人员办理营业执照变更，全程约20分钟",
        ],
        ["2026-11-21", "体验官", "", "0011", "5", "4", "5", "5", "体验官：引导清楚，材料一次说明"],
    ]


def template_file(fmt):
    """The template as the bytes of an .xlsx or a .csv (UTF-8 with a BOM, so
    Excel reads it); ValueError for another format."""
    rows = template()
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return out.getvalue().encode("utf-8-sig")
    if fmt != "xlsx":
        raise ValueError("模板只有 xlsx 和 csv 两种 / the template is xlsx or csv")
    from openpyxl import Workbook  # lazy: only the template download writes Excel here

    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = "第三方评价"
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _level(value):
    value = value.strip()
    if value in LEVELS:
        return LEVELS[value]
    if value in ("1", "2", "3", "4", "5"):
        return int(value)
    return None


def _day(value, now):
    try:
        date = datetime.date.fromisoformat(value.strip().replace("/", "-")[:10])
    except ValueError:
        return None, "日期 %r 应写作 2026-11-20" % value
    day = int(datetime.datetime(date.year, date.month, date.day, tzinfo=hall_time.ZONE).timestamp())
    if day > now:
        return None, "日期 %s 在今天之后" % value
    return day, None


def check(db, hall, rows, now=None):
    """(evaluations, errors) of a table's rows, header first. Every bad row
    is in errors as "第 N 行：reason" (N as the spreadsheet numbers it)."""
    now = int(clock.now()) if now is None else int(now)
    if not rows:
        return [], ["表格是空的，请用模板填写"]
    header = [h.strip() for h in rows[0]]
    if header[: len(HEADERS)] != HEADERS:
        return [], ["第 1 行：表头须为 %s（请下载模板填写）" % "、".join(HEADERS)]
    windows = {w for (w,) in db.execute("SELECT window FROM windows WHERE hall = ?", [hall])}
    staff, shared = {}, set()
    for staff_no, staff_id in db.execute("SELECT staff_no, staff_id FROM staff WHERE left_at IS NULL"):
        if staff_no in staff:
            shared.add(staff_no)
        staff[staff_no] = staff_id
    good, errors, seen = [], [], {}
    for number, row in enumerate(rows[1:], start=2):
        row = (list(row) + [""] * len(HEADERS))[: len(HEADERS)]
        reasons = []
        day, why = _day(row[0], now)
        if why:
            reasons.append(why)
        source = row[1].strip()
        if source not in SOURCES:
            reasons.append("来源 %r 须为 %s 之一" % (source, "、".join(SOURCES)))
        window, staff_no = row[2].strip() or None, row[3].strip() or None
        if window is None and staff_no is None:
            reasons.append("须填写窗口或工作人员工号")
        if window is not None and window not in windows:
            reasons.append("没有窗口 %s" % window)
        if staff_no is not None and staff_no not in staff:
            reasons.append("没有工号为 %s 的在岗工作人员" % staff_no)
        elif staff_no in shared:
            reasons.append("工号 %s 有多名在岗工作人员，无法确定是谁" % staff_no)
        levels = {}
        for i, (key, name) in enumerate(DIMENSIONS):
            level = _level(row[4 + i])
            if level is None:
                reasons.append(
                    "%s %r 须为 非常满意/满意/基本满意/不满意/非常不满意 或 5-1" % (name, row[4 + i])
                )
            levels[key] = level
        comment = row[8]
        try:
            comment = text.free(comment, "意见", MAX_COMMENT) or None
        except ValueError as exc:
            reasons.append(str(exc).split(" / ")[0])
        one = dict(
            levels,
            day=day,
            source=source,
            window=window,
            staff_id=staff.get(staff_no) if staff_no else None,
            comment=comment,
        )
        if not reasons:
            batch = _stored(db, hall, one)
            if batch:
                reasons.append("与已导入的评价完全相同（批次 %d）" % batch)
            elif _same(one) in seen:
                reasons.append("与第 %d 行完全相同" % seen[_same(one)])
        if reasons:
            errors.append("第 %d 行：%s" % (number, "；".join(reasons)))
            continue
        seen[_same(one)] = number
        good.append(one)
    if not good and not errors:
        errors.append("表格只有表头，没有评价")
    return good, errors


_FIELDS = (
    "day",
    "source",
    "window",
    "staff_id",
    "efficiency",
    "attitude",
    "discipline",
    "integrity",
    "comment",
)


def _same(one):
    return tuple(one[k] for k in _FIELDS)


def _stored(db, hall, one):
    """The batch that holds an evaluation equal to `one`, or None: the same
    visit imported again from another file (a re-saved workbook has another
    SHA-256)."""
    row = db.execute(
        "SELECT batch_id FROM third_party_evaluations WHERE hall = ? AND %s LIMIT 1"
        % " AND ".join("%s IS ?" % k for k in _FIELDS),
        [hall] + list(_same(one)),
    ).fetchone()
    return row[0] if row else None


def import_table(db, hall, kind, data, rows, file_name, actor, now=None):
    """Keep every row of a checked table in one batch (inside the caller's
    transaction); ImportRefused listing the bad rows, or for a file imported
    before. Returns the batch dict."""
    now = int(clock.now()) if now is None else int(now)
    sha = hashlib.sha256(data).hexdigest()
    earlier = db.conn.execute(
        "SELECT batch_id, imported_at, imported_by FROM third_party_imports WHERE sha256 = ?", (sha,)
    ).fetchone()
    if earlier:
        raise ImportRefused(
            "这份文件已于 %s 由 %s 导入（批次 %d），未重复导入 / this file was imported before (batch %d)"
            % (hall_time.when(earlier[1]), earlier[2], earlier[0], earlier[0])
        )
    good, errors = check(db, hall, rows, now)
    if errors:
        more = len(errors) - MAX_ERRORS
        shown = errors[:MAX_ERRORS] + (["……另有 %d 行有误" % more] if more > 0 else [])
        raise ImportRefused(
            "有 %d 行不符合要求，整份文件未导入 / %d bad row(s): nothing was imported"
            % (len(errors), len(errors)),
            shown,
        )
    batch_id = db.conn.execute(
        "INSERT INTO third_party_imports (hall, file_name, sha256, kind, rows, imported_at, imported_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (hall, (file_name or "")[:200] or "未命名", sha, kind, len(good), now, actor),
    ).lastrowid
    db.conn.executemany(
        "INSERT INTO third_party_evaluations (batch_id, hall, day, source, window, staff_id, efficiency,"
        " attitude, discipline, integrity, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                batch_id,
                hall,
                e["day"],
                e["source"],
                e["window"],
                e["staff_id"],
                e["efficiency"],
                e["attitude"],
                e["discipline"],
                e["integrity"],
                e["comment"],
            )
            for e in good
        ],
    )
    return {"batch_id": batch_id, "rows": len(good), "sha256": sha}


def batches(db, limit=50):
    return list(db.query("SELECT * FROM third_party_imports ORDER BY batch_id DESC LIMIT ?", [int(limit)]))


def summary(db, hall, start, end, by="window"):
    """[{key, n, sources, and per dimension: <key>_avg, <key>_rate (满意 or
    better)}] of the period's evaluations by window or staff, plus one row
    with key None for all of them (first)."""
    column = {"window": "window", "staff": "staff_id"}[by]
    parts = ", ".join("AVG(%s), AVG(%s >= 4)" % (key, key) for key, _name in DIMENSIONS)
    sql = (
        "SELECT %%s, COUNT(*), group_concat(DISTINCT source), %s FROM third_party_evaluations"
        " WHERE hall = ? AND day >= ? AND day < ?%%s" % parts
    )
    rows = db.execute(sql % ("NULL", ""), [hall, start, end]).fetchall()
    rows += db.execute(
        sql % (column, " AND %s IS NOT NULL GROUP BY %s ORDER BY %s" % (column, column, column)),
        [hall, start, end],
    ).fetchall()
    out = []
    for row in rows:
        if not row[1]:
            continue
        one = {"key": row[0], "n": row[1], "sources": row[2]}
        for i, (key, _name) in enumerate(DIMENSIONS):
            one[key + "_avg"] = round(row[3 + 2 * i], 2)
            one[key + "_rate"] = round(row[4 + 2 * i], 4)
        out.append(one)
    return out
