# Check tests/vectors/messages.json on MicroPython (run by tests/test_vectors.py).
#
# Reads the file one line (one vector) at a time to stay small on a 100K heap.
# Prints one JSON line per failure, then a summary line:
#   {"summary": true, "checked": N, "valid": V, "invalid": I, "failed": F}
import binascii
import gc
import json
import sys

from protocol import messages
from protocol.errors import ProtocolError


def wire_bytes(text):
    # `wire` holds one byte per code point (latin-1).
    out = bytearray(len(text))
    i = 0
    for ch in text:
        out[i] = ord(ch)
        i += 1
    return bytes(out)


def keys_of(vector):
    return [binascii.unhexlify(k) for k in vector["keys"]]


def check_valid(vector):
    wire = wire_bytes(vector["wire"])
    key = binascii.unhexlify(vector["key"])
    signed = messages.sign(key, vector["fields"])
    if signed != wire:
        return "sign gave %r" % signed
    try:
        fields = messages.decode(wire, keys_of(vector), vector["device"], vector["max_size"])
    except ProtocolError as e:
        return "decode refused: %s %s" % (e.reason, e)
    if fields != vector["fields"]:
        return "decode gave %r" % (fields,)
    return None


def check_invalid(vector):
    wire = wire_bytes(vector["wire"])
    try:
        fields = messages.decode(wire, keys_of(vector), vector["device"], vector["max_size"])
    except ProtocolError as e:
        if e.reason != vector["reason"]:
            return "reason %s (%s), want %s" % (e.reason, e, vector["reason"])
        return None
    except Exception as e:  # noqa: BLE001 - any other exception is the failure
        return "raised %s: %s" % (type(e).__name__, e)
    return "accepted: %r" % (fields,)


def main(path):
    checked = valid = invalid = failed = 0
    with open(path) as f:
        while True:
            line = f.readline()
            if not line:
                break
            line = line.strip()
            if line in ("[", "]", ""):
                continue
            if line.endswith(","):
                line = line[:-1]
            vector = json.loads(line)
            try:
                if vector["valid"]:
                    valid += 1
                    problem = check_valid(vector)
                else:
                    invalid += 1
                    problem = check_invalid(vector)
            except Exception as e:  # noqa: BLE001 - report, keep checking
                problem = "crashed %s: %s" % (type(e).__name__, e)
            checked += 1
            if problem is not None:
                failed += 1
                print(json.dumps({"name": vector["name"], "problem": problem}))
            vector = None
            gc.collect()
    print(
        json.dumps(
            {
                "summary": True,
                "checked": checked,
                "valid": valid,
                "invalid": invalid,
                "failed": failed,
                "free": gc.mem_free(),
            }
        )
    )


main(sys.argv[1])
