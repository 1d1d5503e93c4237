"""/export: what a supervisor exports (ratings, sessions, work orders,
appeals, the fleet ...) under Chinese names and column headers
(hostd/web/pages/export_names.py), and for admins every other table of
hostd.db under 技术数据; as CSV or Excel (openpyxl).

Every cell goes through hostd/base/cells.py: a text that a spreadsheet would
run as a formula is quoted, and characters Excel cannot hold are dropped.

Secrets never leave: device keys, signed wire bytes and password hashes are
dropped, and the users table is not offered; nor are the consented mobile
numbers of sessions (session_contacts), and uploaded files stay on their
pages (the uploads table's bytes are dropped). Evaluator name / phone are
included only for auth.EVALUATOR_ROLES who tick the box, and each exported
rating with evaluator data is logged in evaluator_access.
"""

import csv
import io
import os
import tempfile

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from hostd.base.cells import safe_row
from hostd.web import auth
from hostd.web.pages import export_names
from hostd.web.pages.common import MANAGERS, Flag, now, render, when

router = APIRouter()
HIDDEN_TABLES = {"users", "session_contacts", "_hostd_migrations", "_sqlite_migrations"}
# code: an SMS short link; body, before, after: upstream records, which may
# carry a 实名 evaluator's name and phone (sent with consent); mobile: a
# consented number an SMS went to
SECRET_COLUMNS = {
    "key_hex",
    "previous_key_hex",
    "wire",
    "password_hash",
    "data",
    "code",
    "body",
    "remote_body",
    "before",
    "after",
    "mobile",
    "contact_name",  # 办不成事: a contact given for a callback, never exported
    "contact_mobile",
}
EVALUATOR_COLUMNS = ("evaluator_name", "evaluator_mobile")
EXCEL_MAX_ROWS = 1048575


def exportable(db, user=None):
    """Tables `user` may export (all of them for user None: an admin's view)."""
    names = db.table_names() + db.view_names()
    names = sorted(n for n in names if n not in HIDDEN_TABLES and not n.startswith(("sqlite_", "_")))
    if user is not None and user["role"] != "admin":
        names = [n for n in names if n in export_names.TABLE_NAMES]
    return names


def _columns(db, name, with_evaluator):
    cols = [r[1] for r in db.execute("PRAGMA table_info([%s])" % name.replace("]", ""))]
    keep = [c for c in cols if c not in SECRET_COLUMNS]
    if not with_evaluator:
        keep = [c for c in keep if c not in EVALUATOR_COLUMNS]
    return keep


@router.get("/export")
def export_page(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        names = exportable(db, user)
        tables = [(n, label, db[n].count) for n, label in export_names.SUPERVISOR_TABLES if n in names]
        technical = [(n, db[n].count) for n in names if n not in export_names.TABLE_NAMES]
    return render(
        request,
        "pages/export.html",
        user,
        "导出",
        "/export",
        tables=tables,
        technical=technical,
        may_evaluator=auth.may_see_evaluator(user),
    )


@router.get("/export/{name}.{fmt}")
def export(
    request: Request, name: str, fmt: str, evaluator: Flag = 0, user=Depends(auth.require_role(*MANAGERS))
):
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "格式只能是 csv 或 xlsx")
    store = request.app.state.ctx.store
    with store.read() as db:
        if name not in exportable(db, user):
            raise HTTPException(404, "没有可导出的表 %s" % name)
        with_evaluator = bool(evaluator) and auth.may_see_evaluator(user) and name == "ratings"
        columns = _columns(db, name, with_evaluator)
    if with_evaluator:
        store.run(lambda db: _log_export(db, user))
    select = "SELECT %s FROM [%s]" % (", ".join("[%s]" % c for c in columns), name)
    stamp = when(now(), "%Y%m%d-%H%M")
    filename = "%s-%s.%s" % (name, stamp, fmt)
    header = export_names.headers(name, columns)
    if fmt == "csv":
        return StreamingResponse(
            _csv_rows(store, select, header),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="%s"' % filename},
        )
    path = _xlsx(store, select, header, export_names.TABLE_NAMES.get(name, name))
    return FileResponse(
        path,
        filename=filename,
        background=BackgroundTask(_unlink, path),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _log_export(db, user):
    ids = [
        r[0]
        for r in db.execute(
            "SELECT id FROM ratings INDEXED BY ratings_named"
            " WHERE named = 1 AND (evaluator_name IS NOT NULL OR evaluator_mobile IS NOT NULL)"
        )
    ]
    auth.log_evaluator_access(db, user, ids, EVALUATOR_COLUMNS, "export ratings", now=now())


def _csv_rows(store, select, columns):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese correctly
    writer.writerow(columns)
    with store.read() as db:
        cursor = db.execute(select)
        while True:
            chunk = cursor.fetchmany(2000)
            if not chunk:
                break
            writer.writerows(safe_row(row) for row in chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx(store, select, columns, name):
    # lazy: openpyxl loads only for an Excel export
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31])
    sheet.append(columns)
    with store.read() as db:
        for i, row in enumerate(db.execute(select)):
            if i >= EXCEL_MAX_ROWS:
                raise HTTPException(413, "超过 Excel 的行数上限：请改用 CSV 导出")
            sheet.append(_cells(sheet, safe_row(row)))
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="hostd-export-")
    os.close(fd)
    book.save(path)
    return path


def _cells(sheet, values):
    """Write-only cells; every text a string cell, never a formula."""
    # lazy: openpyxl loads only for an Excel export
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        cells.append(cell)
    return cells


def _unlink(path):
    os.unlink(path)
