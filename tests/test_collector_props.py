"""Property tests of the collector's message path (hypothesis).

Whatever arrives on whatever topic, `Collector._on_message` (what paho calls)
either hands a verified message to the store or counts one rejection by a
known reason; it never raises, never counts an internal error, and a
rating is stored at most once, however often or however mangled it comes.
The collector runs with a real Store (SQLite) and a paho client that is
never connected: acks and PUBACKs go nowhere, the path is the same.

Profiles as tests/test_protocol_props.py: "ci" by default, "long" for `make fuzz`.
"""

import os
import random

import paho.mqtt.client as mqtt
import pytest
from hostd_helpers import rating_fields, status_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest import counters
from hostd.ingest.collector import Collector
from hostd.ingest.ratelimit import RATE_LIMITED
from hostd.recording.device_ratings import REPLAYED
from protocol import messages, topics

HALL, DEVICE, OTHER = "hall-p", "w01-p", "w02-p"
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
PROFILE = settings(
    max_examples=3000 if LONG else 80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# every reason a rejection may carry: the protocol's and the collector's own
KNOWN = {
    "malformed",
    "oversized",
    "unsupported_version",
    "bad_signature",
    "wrong_device",
    "replayed",
    "level_out_of_range",
    counters.UNKNOWN_DEVICE,
    RATE_LIMITED,
    REPLAYED,
}


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("props") / "hostd.db")
    keys = {d: registry.add_device(store, d, "P0%d" % i, HALL) for i, d in enumerate((DEVICE, OTHER), 1)}
    collector = Collector(store, "127.0.0.1", 9, device_rate=None)  # never connected
    yield collector, keys
    store.close()


def _message(topic, payload, mid=1):
    msg = mqtt.MQTTMessage(mid, topic.encode("utf-8", "surrogatepass"))
    msg.payload, msg.qos = payload, 1
    return msg


def _deliver(collector, topic, payload):
    """One delivery; (stats before, after, rejections before, after)."""
    before, rej_before = collector.stats, collector.counters
    collector._on_message(collector.client, None, _message(topic, payload))
    with collector._lock:  # wait for the store's commit callbacks
        collector._idle.wait_for(lambda: collector._inflight == 0, timeout=30)
    return before, collector.stats, rej_before, collector.counters


def _new_reasons(rej_before, rej_after):
    return {r for r in rej_after if rej_after[r] != rej_before.get(r, 0)}


def _check_one_outcome(before, after, rej_before, rej_after):
    delta = {k: after[k] - before[k] for k in after}
    assert delta["received"] == 1
    handled = delta["rejected"] + delta["stored"] + delta["duplicate"] + delta["status"]
    assert handled == 1, delta  # exactly one outcome
    reasons = _new_reasons(rej_before, rej_after)
    assert counters.INTERNAL_ERROR not in reasons, rej_after
    assert reasons <= KNOWN, reasons
    return delta


topics_st = st.one_of(
    st.sampled_from(
        [topics.topic(HALL, DEVICE, leaf) for leaf in topics.LEAVES]
        + [
            topics.topic(HALL, "nobody", topics.RATING),
            "hcp/v1/x",
            "",
            "hcp/v1/%s/%s/rating/extra" % (HALL, DEVICE),
        ]
    ),
    st.text(max_size=80),
)


@PROFILE
@given(topic=topics_st, payload=st.binary(max_size=3000))
def test_any_bytes_on_any_topic_give_one_outcome(hall, topic, payload):
    collector, _keys = hall
    before, after, rej_before, rej_after = _deliver(collector, topic, payload)
    delta = _check_one_outcome(before, after, rej_before, rej_after)
    assert delta["stored"] == 0  # random bytes never verify


# a fresh seq for every example (a reused one is a replay), always 9 digits:
# the message's length, which the edits draw against, must not depend on
# how many examples ran before
seqs = iter(range(10**8, 10**9))


@PROFILE
@given(
    rng=st.randoms(use_true_random=False),
    edits=st.integers(0, 6),
    level=st.integers(-2, 7),
    kind=st.sampled_from(["rating", "status"]),
    signer=st.sampled_from([DEVICE, OTHER]),
    leaf=st.sampled_from([topics.RATING, topics.STATUS]),
)
def test_signed_and_mangled_messages_give_one_outcome_and_store_once(
    hall, rng, edits, level, kind, signer, leaf
):
    collector, keys = hall
    seq = next(seqs)
    fields = rating_fields(DEVICE, seq, level=level) if kind == "rating" else status_fields(DEVICE)
    wire = bytearray(messages.sign(keys[signer], fields))
    for _ in range(edits):  # flip, drop or insert bytes
        at = rng.randrange(len(wire) + 1)
        op = rng.choice("fdi")
        if op == "f" and at < len(wire):
            wire[at] ^= 1 << rng.randrange(8)
        elif op == "d" and at < len(wire):
            del wire[at]
        else:
            wire[at:at] = bytes([rng.randrange(256)])
    topic = topics.topic(HALL, DEVICE, leaf)
    first = _check_one_outcome(*_deliver(collector, topic, bytes(wire)))
    genuine = edits == 0 and signer == DEVICE and leaf == kind and 1 <= level <= 5
    if genuine and kind == "rating":
        assert first["stored"] == 1, first
    elif genuine:
        assert first["status"] == 1, first
    else:
        assert first["stored"] == 0 or bytes(wire) == messages.sign(keys[DEVICE], fields)
    again = _check_one_outcome(*_deliver(collector, topic, bytes(wire)))
    assert again["stored"] == 0  # the same bytes twice: never a second row


def test_the_properties_can_fail(hall):
    """A message that must be stored is stored, and a forged one is not:
    the check the properties rely on sees both outcomes."""
    collector, keys = hall
    seq = 10**9 + random.randrange(1000)
    good = messages.sign(keys[DEVICE], rating_fields(DEVICE, seq))
    ok = _check_one_outcome(*_deliver(collector, topics.topic(HALL, DEVICE, topics.RATING), good))
    forged = messages.sign(keys[OTHER], rating_fields(DEVICE, seq + 1))
    bad = _check_one_outcome(*_deliver(collector, topics.topic(HALL, DEVICE, topics.RATING), forged))
    assert ok["stored"] == 1 and bad["rejected"] == 1
