"""Property and fuzz tests of sign/decode (hypothesis).

Profiles: "ci" (default, a few seconds) and "long" (`HYPOTHESIS_PROFILE=long`,
for `make fuzz`). They are applied per test here, not loaded globally, so other
test files keep their own settings.
"""

import binascii
import json
import os
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import hmac_sha256, messages, topics
from protocol.errors import ProtocolError

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

KEY = bytes(range(32))
BIG = 1 << 20  # size limit for round trips: fields are generated, not sized

# Any text without surrogate code points (a str holding them cannot exist on
# MicroPython, and a surrogate pair written as two chars would decode as one).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
ident = st.text(st.sampled_from(topics._ID_CHARS.decode()), min_size=1, max_size=topics.MAX_ID)
any_int = st.integers(min_value=-(2**63), max_value=2**63)
scalar = st.one_of(st.none(), st.booleans(), any_int, text)
part = st.lists(scalar, max_size=5)  # e.g. ["item", 240, 32, "<base64>"]

BY_CODE = {
    "s": text,
    "n": st.one_of(st.none(), text),
    "i": any_int,
    "b": st.booleans(),
    "l": st.lists(st.one_of(part, scalar), max_size=4),
    "I": st.lists(any_int, max_size=5),
}
# Value rules that decode enforces after the signature (messages._check_values).
RULES = {
    (messages.RATING, "seq"): st.integers(min_value=1, max_value=2**40),
    (messages.RATING, "level"): st.integers(min_value=1, max_value=5),
    (messages.RATING, "reasons"): st.lists(st.sampled_from(messages.REASON_CODES), max_size=5),
    (messages.RATING, "cases"): st.integers(min_value=1, max_value=10**6),
    (messages.ACK, "seq"): st.integers(min_value=1, max_value=2**40),
}


def fields_of(kind):
    parts = [st.just(messages.VERSION), st.just(kind), ident]
    for name, code in messages.spec(kind)[3:]:
        parts.append(RULES.get((kind, name), BY_CODE[code]))
    return st.tuples(*parts).map(list)


any_fields = st.sampled_from(sorted(messages.KINDS)).flatmap(fields_of)


def decode_or_refuse(payload):
    try:
        return messages.decode(payload, [KEY], None, messages.MAX_HOST_MESSAGE)
    except ProtocolError:
        return None


@PROFILE
@given(any_fields)
def test_decode_of_sign_gives_the_fields(fields):
    wire = messages.sign(KEY, fields)
    assert messages.decode(wire, [KEY], fields[2], BIG) == fields
    assert messages.decode(bytearray(wire), [b"old" * 11, KEY], None, BIG) == fields


@PROFILE
@given(st.binary(max_size=2000))
def test_random_bytes_give_fields_or_a_protocol_error(payload):
    decode_or_refuse(payload)  # any other exception fails the test


@PROFILE
@given(st.binary(max_size=300))
def test_random_body_with_a_valid_signature(body):
    # Random bytes shaped like a message and correctly signed: the parser is
    # reached for every input, not just the size and signature checks.
    signed_body = b"[" + body + b"]"
    mac = binascii.hexlify(hmac_sha256.digest(KEY, signed_body))
    wire = signed_body[:-1] + b',"' + mac + b'"]'
    decode_or_refuse(wire)


json_value = st.recursive(
    st.one_of(scalar, st.floats(allow_nan=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=2)),
    max_leaves=12,
)


@PROFILE
@given(any_fields, st.one_of(st.just(-1), st.integers(0, 20)), json_value)
def test_signed_json_of_any_shape_gives_fields_or_a_protocol_error(fields, at, value):
    # A well-signed message whose one field is replaced by any JSON value
    # (floats, objects, deep lists): decode must refuse it with a typed error.
    fields = list(fields)
    fields[at % len(fields)] = value  # -1: the last field, "parts" for S and I
    body = json.dumps(fields, separators=(",", ":")).encode()
    mac = binascii.hexlify(hmac_sha256.digest(KEY, body))
    wire = body[:-1] + b',"' + mac + b'"]'
    try:
        assert messages.decode(wire, [KEY], None, BIG) == fields
    except ProtocolError:
        pass


@PROFILE
@given(any_fields, st.randoms(use_true_random=False), st.integers(1, 8))
def test_mutated_messages_are_refused_or_unchanged(fields, rng, edits):
    wire = messages.sign(KEY, fields)
    mutated = bytearray(wire)
    for _ in range(edits):
        op = rng.randrange(3)
        pos = rng.randrange(len(mutated) + 1)
        if op == 0 and pos < len(mutated):
            del mutated[pos]
        elif op == 1:
            mutated.insert(pos, rng.randrange(256))
        elif pos < len(mutated):
            mutated[pos] = rng.randrange(256)
    result = decode_or_refuse(bytes(mutated))
    if result is not None:
        assert bytes(mutated) == wire and result == fields


@PROFILE
@given(any_fields, st.integers(1, 255))
def test_every_single_byte_flip_is_refused(fields, flip):
    wire = messages.sign(KEY, fields)
    for i in range(len(wire)):
        changed = bytearray(wire)
        changed[i] ^= flip
        try:
            messages.decode(bytes(changed), [KEY], None, BIG)
        except ProtocolError:
            continue
        raise AssertionError("byte %d ^ %d accepted: %r" % (i, flip, bytes(changed)))


def test_a_deterministic_sweep_of_flips_on_a_rating():
    # Independent of hypothesis: every position, several flip values.
    wire = messages.sign(KEY, [1, "R", "w01-a", 7, "s-1", 5, [], 1, "0042", 0, True])
    rng = random.Random(11)
    for i in range(len(wire)):
        for flip in (1, 0x20, 0x80, rng.randrange(1, 256)):
            changed = bytearray(wire)
            changed[i] ^= flip
            assert decode_or_refuse(bytes(changed)) is None, (i, flip)
