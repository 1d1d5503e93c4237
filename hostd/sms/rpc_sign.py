"""The request signature of the RPC-style Chinese cloud APIs (SMS among them).

Every parameter, the signature's own settings included (AccessKeyId,
SignatureMethod HMAC-SHA1, SignatureVersion 1.0, SignatureNonce, Timestamp),
is percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are),
sorted by name and joined as name=value&...; the string to sign is
METHOD & encode("/") & encode(that query); the signature is base64 of its
HMAC-SHA1 under the secret plus "&". The gateway computes the same and
refuses a mismatch, a nonce seen before, or a timestamp out of its window.
"""

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import quote


def encode(value):
    return quote(str(value), safe="-_.~")


def string_to_sign(method, params):
    query = "&".join("%s=%s" % (encode(k), encode(params[k])) for k in sorted(params))
    return "%s&%s&%s" % (method, encode("/"), encode(query))


def signature(secret, method, params):
    digest = hmac.new((secret + "&").encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed(params, access_key_id, secret, now=None, nonce=None, method="POST"):
    """`params` with the signature settings and the Signature added."""
    out = dict(params)
    out.update(
        AccessKeyId=access_key_id,
        SignatureMethod="HMAC-SHA1",
        SignatureVersion="1.0",
        SignatureNonce=nonce or uuid.uuid4().hex,
        Timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now if now is not None else time.time())),
    )
    out["Signature"] = signature(secret, method, out)
    return out
