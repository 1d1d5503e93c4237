"""protocol/host/fast_decode.py against protocol.messages.decode: the fast path
returns a rating only where messages.decode returns the same fields, and
hands everything else back (None) for messages.decode to refuse."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import messages
from protocol.errors import ProtocolError
from protocol.host.fast_decode import decode as fast_decode
from protocol.host.signing import HostMac

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
MAC = HostMac()
# HYPOTHESIS_PROFILE=long (make fuzz, if the lead adds this file there): 5000 each
EXAMPLES = 5000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 300
PROFILE = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
odd_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
text = st.one_of(printable, odd_text)
number = st.one_of(st.integers(min_value=-3, max_value=12), st.integers(min_value=-(2**70), max_value=2**70))
device = st.sampled_from(["w01-a", "b000", "x"])


def rating(dev, seq, session, level, reasons, cases, staff, when, synced):
    return [messages.VERSION, messages.RATING, dev, seq, session, level, reasons, cases, staff, when, synced]


# Ratings a device sends (mostly the fast path's form), and anything the types allow.
simple = st.builds(
    rating,
    device,
    st.integers(min_value=1, max_value=2**40),
    st.one_of(st.none(), printable),
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=1, max_value=5), max_size=3),
    st.integers(min_value=1, max_value=20),
    st.one_of(st.none(), printable),
    st.integers(min_value=0, max_value=2**33),
    st.booleans(),
)
ratings = st.one_of(
    simple,
    st.builds(
        rating,
        device,
        number,
        st.one_of(st.none(), text),
        number,
        st.lists(number, max_size=4),
        number,
        st.one_of(st.none(), text),
        number,
        st.booleans(),
    ),
)


def slow(payload, keys, dev, max_size=messages.MAX_DEVICE_MESSAGE):
    """messages.decode as the collector runs it: (fields, key) or the refusal."""
    for key in keys:
        try:
            return messages.decode(payload, [key], dev, max_size, mac=MAC), key
        except ProtocolError as exc:
            refusal = type(exc)
    return refusal


def agree(payload, keys, dev, max_size=messages.MAX_DEVICE_MESSAGE):
    fast = fast_decode(payload, keys, dev, max_size, MAC)
    if fast is not None:
        assert fast == slow(payload, keys, dev, max_size)
    return fast


def sign(fields, key=KEY):
    try:
        return messages.sign(key, fields, MAC)
    except (ProtocolError, ValueError):
        return None


@PROFILE
@given(ratings, device, st.sampled_from([[KEY], [OTHER], [OTHER, KEY], [KEY, OTHER]]))
def test_signed_ratings_agree(fields, topic_device, keys):
    wire = sign(fields)
    if wire is not None:
        agree(wire, keys, topic_device)


@PROFILE
@given(ratings, st.data())
def test_every_mutation_agrees(fields, data):
    wire = sign(fields)
    if wire is None:
        return
    i = data.draw(st.integers(min_value=0, max_value=len(wire) - 1))
    byte = data.draw(st.integers(min_value=0, max_value=255))
    mutated = wire[:i] + bytes([byte]) + wire[i + 1 :]
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(min_value=0, max_value=len(mutated)))]
    agree(mutated, [KEY], fields[2])
    agree(resigned(mutated), [KEY], fields[2])


def resigned(wire, key=KEY):
    """`wire` with a valid signature of whatever body it has: a device with
    the key could send these bytes, canonical or not."""
    body = wire[:-68] if len(wire) > 68 else wire
    return body + b',"' + MAC(key, body, b"]").hex().encode() + b'"]'


@PROFILE
@given(ratings, st.data())
def test_signed_non_canonical_forms_agree(fields, data):
    wire = sign(fields)
    if wire is None:
        return
    edits = [
        (b",", b", "),
        (b",1", b",01"),
        (b",0", b",-0"),
        (b"[]", b"[ ]"),
        (b"true", b"1"),
        (b"null", b'""'),
        (b'"', b'"\\u0041'),
        (b"-", b""),
        (b",", b",[1],"),
    ]
    old, new = data.draw(st.sampled_from(edits))
    count = wire.count(old)
    if count:
        n = data.draw(st.integers(min_value=0, max_value=count - 1))
        at = -1
        for _ in range(n + 1):
            at = wire.index(old, at + 1)
        wire = wire[:at] + new + wire[at + len(old) :]
    agree(resigned(wire), [KEY], fields[2])


@PROFILE
@given(st.binary(max_size=200))
def test_any_bytes_agree(payload):
    agree(payload, [KEY], "w01-a")


def test_the_common_rating_takes_the_fast_path():
    simple = sign(rating("w01-a", 7, "s-123", 5, [], 1, "0042", 1795248000, True))
    assert agree(simple, [KEY], "w01-a") == (messages.decode(simple, [KEY], "w01-a", mac=MAC), KEY)
    bad = sign(rating("w01-a", 8, None, 1, [1, 3], 2, None, 0, False))
    fields, key = agree(bad, [OTHER, KEY], "w01-a")
    assert (fields[4], fields[6], fields[8], fields[10], key) == (None, [1, 3], None, False, KEY)


def test_what_it_hands_back():
    good = sign(rating("w01-a", 7, "s-1", 5, [], 1, "0042", 1795248000, True))
    cases = [
        good.replace(b"s-1", b"s-2"),  # bad signature
        good,
        good,  # wrong device, too big: below
        sign(rating("w01-a", 7, "s-\\1", 5, [], 1, None, 0, True)),  # an escape
        sign(rating("w01-a", 7, "处", 5, [], 1, None, 0, True)),  # non-ASCII, escaped
        sign(rating("w01-a", 7, None, 5, [], 1, None, -5, True)),  # negative
        sign(rating("w01-a", 7, None, 6, [], 1, None, 0, True)),  # level out of range
        sign(rating("w01-a", 0, None, 5, [], 1, None, 0, True)),  # seq 0
        sign(rating("w01-a", 7, None, 2, [9], 1, None, 0, True)),  # reason code
        bytearray(good),  # not bytes: messages.decode handles it
    ]
    devices = ["w01-a", "w02-b", "w01-a"] + ["w01-a"] * 7
    sizes = [1024, 1024, 100] + [1024] * 7
    for payload, dev, size in zip(cases, devices, sizes):
        assert fast_decode(payload, [KEY], dev, size, MAC) is None, payload
    assert isinstance(slow(cases[0], [KEY], "w01-a"), type)  # refused by messages.decode
