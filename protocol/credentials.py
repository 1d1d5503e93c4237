# Broker credentials derived from the device key, so provisioning carries one secret.
import binascii

from protocol import hmac_sha256
from protocol.compat import const

_LABEL = const(b"hcp/v1 mqtt password")


def mqtt_password(key):
    """The device's MQTT password: hex of HMAC-SHA256(key, label), 32 chars."""
    return binascii.hexlify(hmac_sha256.digest(key, _LABEL))[:32].decode()
