"""Text from outside (the API, forms, the CLI) made safe to keep, show and send on.

  - NFC-normalised, so one name is stored one way;
  - control characters refused (a NUL in a case id would go on to the
    province; a vertical tab breaks Excel); a free text keeps its line breaks;
  - bidi controls refused everywhere (an RTL override reverses what the
    citizen page shows); zero-width characters refused in names (a name of
    only those is blank on the device);
  - lone surrogates refused (they cannot be stored or sent as UTF-8);
  - a name that is blank once every kind of space is taken out (ideographic
    spaces included) is refused.
Each check raises ValueError with one line in Chinese and English; the
caller turns it into its own 4xx.
"""

import re
import unicodedata

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
LINE_BREAKS = frozenset("\n")


def _check(value, field, allowed_controls):
    if not isinstance(value, str):
        raise ValueError("%s 须为文字 / %s must be text" % (field, field))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("%s 含无效字符 / %s has an invalid character (a lone surrogate)" % (field, field))
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    for ch in value:
        if ch in BIDI:
            raise ValueError(
                "%s 含双向控制字符 / %s has a bidi control character U+%04X" % (field, field, ord(ch))
            )
        if unicodedata.category(ch) == "Cc" and ch not in allowed_controls:
            raise ValueError("%s 含控制字符 / %s has a control character U+%04X" % (field, field, ord(ch)))
    return value


def name(value, field, max_len=200):
    """A name shown on a screen or sent upstream (item, staff, window, case id)."""
    value = _check(value, field, ())
    for ch in value:
        if ch in ZERO_WIDTH:
            raise ValueError("%s 含零宽字符 / %s has a zero-width character U+%04X" % (field, field, ord(ch)))
    value = " ".join(value.split())
    if not value:
        raise ValueError("%s 不能为空 / %s is empty" % (field, field))
    if len(value) > max_len:
        raise ValueError("%s 过长 / %s is longer than %d characters" % (field, field, max_len))
    return value


def free(value, field, max_len=500):
    """A citizen's or a supervisor's words: line breaks kept, the rest checked."""
    value = _check(value, field, LINE_BREAKS).strip()
    if len(value) > max_len:
        raise ValueError("%s 过长 / %s is longer than %d characters" % (field, field, max_len))
    return value


MOBILE = re.compile(r"1[3-9][0-9]{9}")  # a mainland mobile number: 11 digits from 13x to 19x


def mobile(value):
    """A mainland mobile number (spaces, dashes and +86 allowed), as 11 digits."""
    digits = re.sub(r"[\s-]", "", str(value or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE.fullmatch(digits):
        raise ValueError(
            "手机号码 %s 不是有效的大陆手机号（11 位，以 13-19 开头） / %s is not a mainland mobile number"
            % (value, value)
        )
    return digits
