"""Unit tests of the protocol building blocks on CPython."""

import hashlib
import hmac
import json
import random

import pytest

from protocol import canonical, credentials, hmac_sha256, messages, topics
from protocol.errors import REASONS, Malformed, ProtocolError

# --- canonical encoding ---------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ([], b"[]"),
        ([None, True, False], b"[null,true,false]"),
        ([0, -1, 2**40], b"[0,-1,1099511627776]"),
        (("a", ["b", []]), b'["a",["b",[]]]'),
        (['say "hi" \\ bye'], b'["say \\"hi\\" \\\\ bye"]'),
        (["/"], b'["/"]'),
        ([""], b'[""]'),
        (["AAAA+/09zz=="], b'["AAAA+/09zz=="]'),  # a bitmap part's base64: taken as it is
        (["a\x7fb"], b'["a\\u007fb"]'),  # DEL is not printable: escaped, not taken as it is
        (["\n\t\x00\x7f"], b'["\\u000a\\u0009\\u0000\\u007f"]'),
        (["张三"], b'["\\u5f20\\u4e09"]'),
        (["\u00e9\uffff"], b'["\\u00e9\\uffff"]'),
        (["😀"], b'["\\ud83d\\ude00"]'),
        (["𠮷"], b'["\\ud842\\udfb7"]'),
        (["\U0010ffff"], b'["\\udbff\\udfff"]'),
    ],
)
def test_canonical_encoding(value, expected):
    assert canonical.encode(value) == expected


@pytest.mark.parametrize("value", [[1.5], [{}], [b"x"], [object()], [{"a": 1}]])
def test_canonical_refuses_other_types(value):
    with pytest.raises(ValueError):
        canonical.encode(value)


def test_canonical_is_ascii_json_that_round_trips():
    rng = random.Random(7)
    alphabet = 'aZ09 "\\/\n\t\x01\x7f\u00e9\u5f20\uffff\U0001f600\U00020bb7'
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        value = [text, rng.randrange(-(10**12), 10**12), [rng.random() < 0.5, None]]
        out = canonical.encode(value)
        assert max(out, default=32) < 127 and min(out, default=32) >= 32
        if " " not in text:
            assert b" " not in out  # no separator spaces
        assert json.loads(out) == value
        if "\n" not in text and "\t" not in text and "\x01" not in text and "\x7f" not in text:
            # Without control characters it is exactly CPython's compact,
            # ensure_ascii JSON.
            assert out == json.dumps(value, separators=(",", ":")).encode()


# --- HMAC-SHA256 ----------------------------------------------------------


def test_hmac_matches_stdlib_for_random_keys_and_lengths():
    rng = random.Random(2104)
    key_lengths = [0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 200]
    msg_lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]
    for key_len in key_lengths:
        for msg_len in msg_lengths:
            key = rng.randbytes(key_len)
            msg = rng.randbytes(msg_len)
            want = hmac.new(key, msg, hashlib.sha256).digest()
            assert hmac_sha256.digest(key, msg) == want, (key_len, msg_len)
    for _ in range(200):
        key = rng.randbytes(rng.randrange(0, 300))
        msg = rng.randbytes(rng.randrange(0, 2000))
        assert hmac_sha256.digest(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


def test_hmac_rfc4231_case_2():
    mac = hmac_sha256.digest(b"Jefe", b"what do ya want for nothing?")
    assert mac.hex() == ("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_equal():
    assert hmac_sha256.equal(b"", b"")
    assert hmac_sha256.equal(b"abc", b"abc")
    assert hmac_sha256.equal(b"abc", bytearray(b"abc"))
    assert not hmac_sha256.equal(b"abc", b"abd")
    assert not hmac_sha256.equal(b"abc", b"ab")
    assert not hmac_sha256.equal(b"\x00", b"\x80")
    rng = random.Random(3)
    for _ in range(200):
        a = rng.randbytes(32)
        b = bytearray(a)
        b[rng.randrange(32)] ^= 1 << rng.randrange(8)
        assert not hmac_sha256.equal(a, bytes(b))


# --- topics ---------------------------------------------------------------


@pytest.mark.parametrize("ident", ["a", "w01-a", "HALL_7", "x" * 32, "0-_Z"])
def test_valid_ids(ident):
    assert topics.valid_id(ident)
    name = topics.topic("hall-1", ident, topics.RATING)
    assert name == "hcp/v1/hall-1/" + ident + "/rating"
    assert topics.parse(name) == ("hall-1", ident, "rating")


@pytest.mark.parametrize("ident", ["", "x" * 33, "+", "#", "a/b", "a b", "张", "a+", "$SYS", None, 7])
def test_invalid_ids_never_make_topics(ident):
    assert not topics.valid_id(ident)
    with pytest.raises(ValueError):
        topics.topic("hall-1", ident, topics.RATING)
    with pytest.raises(ValueError):
        topics.topic(ident, "dev-1", topics.ACK)


def test_every_leaf_round_trips():
    for leaf in ("rating", "ack", "session", "status"):
        assert topics.parse(topics.topic("h", "d", leaf)) == ("h", "d", leaf)


@pytest.mark.parametrize(
    "name",
    [
        "hcp/v1/h/d",
        "hcp/v1/h/d/rating/x",
        "hcp/v2/h/d/rating",
        "hcp/v1/+/d/rating",
        "hcp/v1/h/#",
        "hcp/v1/h/d/other",
        "hcp/v1//d/rating",
        "x/hcp/v1/h/d/ack",
        b"hcp",
    ],
)
def test_parse_refuses(name):
    with pytest.raises(Malformed):
        topics.parse(name)


def test_subscriptions():
    assert topics.subscription(topics.RATING) == "hcp/v1/+/+/rating"
    assert topics.subscription(topics.STATUS, "hall-1") == "hcp/v1/hall-1/+/status"


# --- credentials ----------------------------------------------------------


def test_mqtt_password_derivation():
    key = bytes(range(32))
    want = hmac.new(key, b"hcp/v1 mqtt password", hashlib.sha256).hexdigest()[:32]
    assert credentials.mqtt_password(key) == want
    assert len(want) == 32 and want == want.lower()
    assert credentials.mqtt_password(bytes(32)) != want


# --- messages -------------------------------------------------------------


def test_sign_refuses_wrong_shapes():
    with pytest.raises(ProtocolError):
        messages.sign(b"k", [1, "A", "d", 1, "stored"])
    with pytest.raises(ProtocolError):
        messages.sign(b"k", [1, "A", "d", True, "stored", 0])


def test_signature_recipe():
    key = b"\x01" * 32
    fields = [1, "A", "w01-a", 7, "stored", 1795248001]
    body = b'[1,"A","w01-a",7,"stored",1795248001]'
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    assert messages.sign(key, fields) == body[:-1] + b',"' + mac + b'"]'
    assert messages.sign(key, tuple(fields)) == messages.sign(key, fields)


def test_decode_accepts_bytearray_and_refuses_str():
    key = b"\x02" * 32
    wire = messages.sign(key, [1, "A", "d", 1, "duplicate", 0])
    assert messages.decode(bytearray(wire), [key]) == [1, "A", "d", 1, "duplicate", 0]
    with pytest.raises(Malformed):
        messages.decode(wire.decode(), [key])


def test_as_dict_names_fields():
    fields = [1, "H", "d", "offline", "0.1.0", 3, 0, False, 0, 10]
    d = messages.as_dict(fields)
    assert d["state"] == messages.OFFLINE and d["next_seq"] == 10


def test_reasons_are_distinct_names():
    assert len(set(REASONS)) == len(REASONS)
    assert "replayed" in REASONS and "bad_signature" in REASONS
