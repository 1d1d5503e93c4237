"""A CPython fast path for protocol.messages.decode of the common rating.

messages.decode is written for both runtimes: it scans the bytes, runs
json.loads, checks every field's type and encodes the fields again to prove
the bytes canonical (~40 us a rating on the host; the collector's network
thread spends a fifth of its time there). Almost every rating a device sends
has one simple form: strings of printable ASCII without quote or backslash,
non-negative integers of up to 16 digits. For that form one regular
expression proves all of it at once -- printable ASCII, nesting depth,
field types, and canonical form (each piece is its own canonical encoding,
so re-encoding the fields gives the same bytes) -- and yields the fields.

`decode` returns (fields, key) only when messages.decode would return the
same fields for the same arguments; in every other case (another kind, a
string with escapes, a negative number, any check failing) it returns None
and the caller runs messages.decode, which accepts or refuses exactly as
before and says why. tests/test_rating_decode.py holds the two side by side.
"""

import binascii
import hmac
import re

from protocol import messages

_STR = rb'"([ !#-\[\]-~]*)"'  # printable ASCII less " and \: its own canonical form
_NSTR = rb"(?:null|" + _STR + rb")"
_UINT = rb"(?:0|[1-9][0-9]{0,15})"  # no sign, no leading zero: canonical
_INT = rb"(" + _UINT + rb")"
_RATING = re.compile(
    rb'\[1,"R",'
    + _STR
    + rb","
    + _INT
    + rb","
    + _NSTR
    + rb","
    + _INT
    + rb",\[("
    + _UINT
    + rb"(?:,"
    + _UINT
    + rb")*)?\],"
    + _INT
    + rb","
    + _NSTR
    + rb","
    + _INT
    + rb',(true|false),"([0-9a-f]{64})"\]'
)
_BODY_END = 68  # len(',"') + 64 hex digits + len('"]'): the signature's tail
_REASONS = frozenset(messages.REASON_CODES)
assert messages.VERSION == 1 and messages.RATING == "R"  # spelled out in _RATING


def decode(payload, keys, device, max_size, mac):
    """(fields, the key that signed them) for a rating in the simple form
    that messages.decode(payload, [key], device, max_size, mac=mac) accepts;
    None for anything else. `keys` are tried in order, as in the collector."""
    if type(payload) is not bytes or len(payload) > max_size:
        return None
    m = _RATING.fullmatch(payload)
    if m is None:
        return None
    dev, seq, session, level, reasons, cases, staff, time, synced, hex_mac = m.groups()
    if dev.decode() != device:
        return None
    level = int(level)
    seq = int(seq)
    cases = int(cases)
    codes = [int(code) for code in reasons.split(b",")] if reasons is not None else []
    if not 1 <= level <= messages.LEVEL_MAX or seq < 1 or cases < 1 or not _REASONS.issuperset(codes):
        return None
    body = payload[: len(payload) - _BODY_END]
    signature = binascii.unhexlify(hex_mac)
    for key in keys:
        if hmac.compare_digest(mac(key, body, b"]"), signature):
            break
    else:
        return None
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        session.decode() if session is not None else None,
        level,
        codes,
        cases,
        staff.decode() if staff is not None else None,
        int(time),
        synced == b"true",
    ], key
