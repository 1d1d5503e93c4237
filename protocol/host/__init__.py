"""The host's side of the wire protocol: CPython-only fast paths.

fast_decode.py  the common rating proven canonical by one regular
                expression; equal to protocol.messages.decode or None
signing.py      HostMac (HMAC-SHA256 with cached keyed states) and the
                ack encoded directly, byte for byte as messages.sign

The device build leaves this folder out: the firmware image compiles
protocol/*.py only (hostd/devices/firmware_image.py), and `make lint`
checks it as host code, not against the ESP32 stubs. The fuzz and property
tests hold each fast path equal to the reference path in protocol/.
"""
