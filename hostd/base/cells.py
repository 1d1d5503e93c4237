"""Values made safe for a spreadsheet cell (the CSV and Excel exports, the reports).

A text that starts with = + - @, a tab or a carriage return is a formula to
Excel, LibreOffice and WPS: `=HYPERLINK(...)` in a citizen's comment would
run in a supervisor's Excel. OWASP's advice ("CSV Injection"): put a single
quote before it, so it shows as the text it is. Control characters that the
XLSX format cannot hold (C0 other than tab, LF, CR) are dropped, so no stored
value can make an export fail. Numbers stay numbers; bytes are decoded.
"""

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_cell(value):
    """`value` as a spreadsheet may hold it and never run."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return value
    value = _ILLEGAL.sub("", value)
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(row):
    return [safe_cell(v) for v in row]
