"""Mosquitto password-file hashes, written by hostd itself.

Mosquitto 2.x (`mosquitto_passwd -H sha512-pbkdf2`, the default) stores

    <user>:$7$<iterations>$<base64 salt>$<base64 hash>

where hash = PBKDF2-HMAC-SHA512(password, salt bytes, iterations), 64 bytes,
salt is 12 random bytes and iterations is 101 (mosquitto's default). Both
base64 strings are standard alphabet with padding.
"""

import base64
import binascii
import hashlib
import hmac
import os

ITERATIONS = 101  # what mosquitto_passwd writes
SALT_BYTES = 12
_HASH = "sha512"


def hash_password(password, salt=None, iterations=ITERATIONS):
    """The `$7$...` string for one password."""
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac(_HASH, password.encode(), salt, iterations)
    return "$7$%d$%s$%s" % (iterations, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def verify(password, hashed):
    """True when `password` matches a `$7$` string (used by the amqtt fallback)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except (ValueError, binascii.Error):
        return False
    if not 0 < iterations <= 1_000_000:
        return False
    digest = hashlib.pbkdf2_hmac(_HASH, password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def render(users):
    """A whole password file from {user: plain password}, users sorted."""
    lines = []
    for user in sorted(users):
        if ":" in user or "\n" in user or not user:
            raise ValueError("bad broker user name %r" % user)
        lines.append("%s:%s\n" % (user, hash_password(users[user])))
    return "".join(lines)


def parse(text):
    """{user: hash} from a password file's text."""
    users = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            user, hashed = line.split(":", 1)
            users[user] = hashed
    return users
