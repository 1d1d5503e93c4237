# Canonical encoding of an ordered field tuple as ASCII-only JSON.
#
# Both runtimes must produce the same bytes for the same values, and neither
# json.dumps does that (CPython escapes non-ASCII, MicroPython does not, and
# their separators differ), so the encoder is our own. Allowed values: None,
# bool, int, str, and lists or tuples of those. Anything else is a bug in the
# caller and raises ValueError.

from protocol.compat import const

_HEX = const(b"0123456789abcdef")


def _escape_char(out, code):
    out.extend(b"\\u")
    out.append(_HEX[(code >> 12) & 15])
    out.append(_HEX[(code >> 8) & 15])
    out.append(_HEX[(code >> 4) & 15])
    out.append(_HEX[code & 15])


def _encode_str(out, text):
    out.append(34)  # "
    data = text.encode()
    # ASCII: the bytes are the code points. Otherwise one character at a
    # time, as a slice: on MicroPython `for ch in text` and text[i] intern
    # each character as a qstr, heap that never comes back (and a qstr pool
    # that must grow by ~7 KB at once on a fragmented heap).
    ascii_only = len(data) == len(text)
    if ascii_only and data and min(data) >= 32 and max(data) < 127 and b'"' not in data and b"\\" not in data:
        out.extend(data)  # printable ASCII, nothing to escape (a screen's bitmaps): as it is
        out.append(34)
        return
    for i in range(len(text)):
        code = data[i] if ascii_only else ord(text[i : i + 1])
        if code == 34 or code == 92:  # " and \
            out.append(92)
            out.append(code)
        elif 32 <= code < 127:
            out.append(code)
        elif code < 0x10000:
            _escape_char(out, code)
        else:  # outside the BMP: a UTF-16 surrogate pair, as JSON requires
            code -= 0x10000
            _escape_char(out, 0xD800 | (code >> 10))
            _escape_char(out, 0xDC00 | (code & 0x3FF))
    out.append(34)


def _encode(out, value):
    if value is None:
        out.extend(b"null")
    elif value is True:
        out.extend(b"true")
    elif value is False:
        out.extend(b"false")
    elif isinstance(value, int):
        out.extend(str(value).encode())
    elif isinstance(value, str):
        _encode_str(out, value)
    elif isinstance(value, (list, tuple)):
        out.append(91)  # [
        first = True
        for item in value:
            if not first:
                out.append(44)  # ,
            first = False
            _encode(out, item)
        out.append(93)  # ]
    else:
        raise ValueError("cannot encode %s" % type(value))


def encode(values, out=None):
    """Encode a tuple or list of values as compact ASCII JSON bytes.

    With `out` (a bytearray), append the encoding to it and return it
    instead: protocol.wire.sign builds the whole signed message in one
    buffer, without the copies a bytes result would cost the device."""
    if out is not None:
        _encode(out, values)
        return out
    out = bytearray()
    _encode(out, values)
    return bytes(out)
