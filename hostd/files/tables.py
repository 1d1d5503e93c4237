"""A table a person uploads (a third-party evaluation import): Excel or CSV,
told apart by content, never by name, within web.upload_max_kb.

  xlsx   a zip that openpyxl opens as a workbook (its first sheet is read)
  csv    text in UTF-8 (with or without a BOM) or GB18030 (what Excel on a
         Chinese Windows saves); a file with NUL bytes or neither encoding
         is not a table

read() returns (kind, rows): every row a list of stripped strings, empty
rows dropped, so the caller sees the same thing from either format.
"""

import csv
import datetime
import io
import zipfile

from hostd.files.uploads import UploadError, check_size

MAX_ROWS = 10_000
MAX_COLUMNS = 50


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime.date, datetime.datetime)):  # an Excel date cell
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def _xlsx(data):
    from openpyxl import load_workbook  # lazy: only an import reads Excel here

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            cells = [_cell(v) for v in row]
            if any(cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break  # too many: refused below, not read to the end
        book.close()
    except Exception:  # openpyxl raises many kinds on a broken workbook
        raise UploadError(
            "Excel 文件已损坏或无法读取 / the Excel file is damaged or cannot be read"
        ) from None
    return rows


def _csv(data):
    if b"\x00" in data:
        raise UploadError("文件不是 Excel 或 CSV 表格 / the file is not an Excel or CSV table")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UploadError("CSV 文件编码无法识别（请存为 UTF-8） / the CSV is neither UTF-8 nor GB18030")
    try:
        return [[c.strip() for c in row[:MAX_COLUMNS]] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise UploadError("CSV 格式有误（%s） / the CSV cannot be parsed" % exc) from None


def read(data, max_kb):
    """(kind, rows) of an uploaded table; UploadError saying why not."""
    check_size(data, max_kb)
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            names = set()
        if "xl/workbook.xml" not in names:
            raise UploadError("文件不是 Excel 或 CSV 表格 / the file is not an Excel (.xlsx) or CSV table")
        kind, rows = "xlsx", _xlsx(data)
    else:
        kind, rows = "csv", _csv(data)
    rows = [row for row in rows if any(row)]
    if len(rows) > MAX_ROWS + 1:
        raise UploadError(
            "表格超过 %d 行，请分批导入 / more than %d rows: import in parts" % (MAX_ROWS, MAX_ROWS)
        )
    return kind, rows
