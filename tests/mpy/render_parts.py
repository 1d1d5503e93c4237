# Decode a signed session message made by hostd (argv[1]: wire file, argv[2]:
# key hex) with the device's protocol code, and print each part's size and
# ink count (set bits of its base64-decoded MONO_HLSB bytes).
import binascii
import json
import sys

from protocol import messages

with open(sys.argv[1], "rb") as f:
    wire = f.read()
fields = messages.decode(wire, (binascii.unhexlify(sys.argv[2]),), None, messages.MAX_HOST_MESSAGE, False)
for part in fields[13]:
    name, w, h = part[0], part[1], part[2]
    data = binascii.a2b_base64(part[3])
    assert len(data) == ((w + 7) >> 3) * h, "rows padded to whole bytes"
    ink = 0
    for b in data:
        while b:
            ink += b & 1
            b >>= 1
    print(json.dumps({"name": name, "w": w, "h": h, "ink": ink}))
