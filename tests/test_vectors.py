"""The shared wire vectors, checked on CPython and on MicroPython (100K heap)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_micropython
from protocol import messages
from protocol.errors import REASONS, ProtocolError

VECTORS = ROOT / "tests" / "vectors" / "messages.json"
CHECKER = ROOT / "tests" / "mpy" / "check_vectors.py"
ALL = json.loads(VECTORS.read_text(encoding="ascii"))


def wire(vector):
    return vector["wire"].encode("latin-1")


def keys(vector):
    return [bytes.fromhex(k) for k in vector["keys"]]


def by_name(vectors):
    return pytest.mark.parametrize("vector", vectors, ids=[v["name"] for v in vectors])


@by_name([v for v in ALL if v["valid"]])
def test_valid_vector(vector):
    assert messages.sign(bytes.fromhex(vector["key"]), vector["fields"]) == wire(vector)
    fields = messages.decode(wire(vector), keys(vector), vector["device"], vector["max_size"])
    assert fields == vector["fields"]


@by_name([v for v in ALL if not v["valid"]])
def test_invalid_vector(vector):
    with pytest.raises(ProtocolError) as info:
        messages.decode(wire(vector), keys(vector), vector["device"], vector["max_size"])
    assert info.value.reason == vector["reason"]


def test_vectors_cover_every_kind_and_decode_reason():
    kinds = {v["fields"][1] for v in ALL if v["valid"]}
    assert kinds == set(messages.KINDS)
    reasons = {v["reason"] for v in ALL if not v["valid"]}
    # "replayed" is decided by hostd's (device_id, seq) check, not by decode.
    assert reasons == set(REASONS) - {"replayed"}


def test_vectors_file_is_what_the_generator_writes():
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'tools'); import make_vectors; "
            "sys.stdout.write(make_vectors.build())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == VECTORS.read_text(encoding="ascii"), (
        "tests/vectors/messages.json is stale: run .venv/bin/python tools/make_vectors.py"
    )


def test_vectors_file_fits_a_small_heap():
    assert VECTORS.stat().st_size < 30_000
    longest = max(len(line) for line in VECTORS.read_text().splitlines())
    assert longest < 4_000


def test_vectors_on_micropython():
    proc = run_micropython(CHECKER, str(VECTORS))
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    summary = lines[-1]
    failures = lines[:-1]
    assert failures == []
    assert summary["summary"] is True
    assert summary["checked"] == len(ALL)
    assert summary["valid"] == sum(1 for v in ALL if v["valid"])
    assert summary["invalid"] == sum(1 for v in ALL if not v["valid"])
    assert summary["failed"] == 0


def test_hmac_and_password_agree_on_micropython():
    import hashlib
    import hmac

    from protocol import credentials

    cases = [
        (bytes((i * 7 + n) & 0xFF for i in range(n)), bytes(range(n % 256)) * 3)
        for n in (0, 1, 32, 63, 64, 65, 200)
    ]
    script = (
        "import binascii\n"
        "from protocol import credentials, hmac_sha256\n"
        "for k, m in %r:\n"
        "    print(binascii.hexlify(hmac_sha256.digest(k, m)).decode(),"
        " credentials.mqtt_password(k))\n" % (cases,)
    )
    lines = run_micropython(script).stdout.split("\n")[:-1]
    assert lines == [
        "%s %s" % (hmac.new(k, m, hashlib.sha256).hexdigest(), credentials.mqtt_password(k)) for k, m in cases
    ]
