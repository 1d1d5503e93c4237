"""How records travel to the provincial platform: one adapter per province style.

An adapter's `send(records)` posts one batch (records: JSON texts, as the
outbox stores them, or dicts) and returns {key: (ok, code, message)} for
every record the platform answered; it raises TransportError when there is
no usable answer (down, timeout, HTTP 5xx, bad signature): the whole batch
is then retried later. Provinces differ in signing and
encryption, so that is all that lives here:
  JsonHmacAdapter  JSON over HTTP(S); header X-HCP-Signature = hex
                   HMAC-SHA256(secret, timestamp "\n" nonce "\n" body)
  SmAdapter        国密: the body is SM4-CBC encrypted under a fresh key,
                   that key SM2-encrypted to the platform's public key, and
                   the envelope signed with HMAC-SM3 of the shared secret.
Wire (both): POST <url>/api/v1/records {"records": [...]} ->
  200 {"results": [{"key", "ok", "code", "message"}]}
"""

import hashlib
import hmac
import http.client
import json
import secrets
import time
import urllib.parse

RECORDS_PATH = "/api/v1/records"
SM_RECORDS_PATH = "/api/v1/sm/records"
TICKETS_PATH = "/api/v1/tickets"  # 12345
REPLIES_PATH = "/api/v1/replies"  # 12345


class TransportError(Exception):
    """No usable answer from the platform; retry the batch later."""


def signature(secret, timestamp, nonce, body):
    msg = b"%s\n%s\n" % (timestamp.encode(), nonce.encode()) + body
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


class HttpLink:
    """One keep-alive HTTP(S) connection to a base URL, reopened after errors."""

    def __init__(self, url, timeout=10.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream url must be http(s)://host[:port][/path], not %r" % url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn = None

    def request(self, method, path, body=None, headers=None):
        """Return (status, body bytes); raise TransportError on any failure."""
        reused = self._conn is not None
        try:
            return self._request(method, path, body, headers)
        except TransportError:
            if not reused:
                raise
            return self._request(method, path, body, headers)  # the kept-alive socket was stale

    def _request(self, method, path, body, headers):
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, self.prefix + path, body=body, headers=headers or {})
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError("%s %s: %s" % (method, path, exc.__class__.__name__ + ": " + str(exc)))
        if response.status >= 500 or response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def batch_body(records):
    """{"records": [...]} as UTF-8 bytes, joining stored JSON texts as they are."""
    parts = [
        r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records
    ]
    return ('{"records":[' + ",".join(parts) + "]}").encode()


def parse_results(status, data):
    if status != 200:
        raise TransportError(
            "platform answered HTTP %d: %s" % (status, data[:200].decode("utf-8", "replace"))
        )
    try:
        results = json.loads(data)["results"]
        return {r["key"]: (bool(r["ok"]), r.get("code", ""), r.get("message", "")) for r in results}
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError("platform answer is not a results list: %s" % exc)


class JsonHmacAdapter:
    name = "json"

    def __init__(self, url, secret, timeout=10.0, path=RECORDS_PATH):
        self.link = HttpLink(url, timeout)
        self.secret, self.path = secret, path

    def signed_headers(self, body):
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        return {
            "Content-Type": "application/json",
            "X-HCP-Timestamp": timestamp,
            "X-HCP-Nonce": nonce,
            "X-HCP-Signature": signature(self.secret, timestamp, nonce, body),
        }

    def send(self, records):
        body = batch_body(records)
        return parse_results(*self.link.request("POST", self.path, body, self.signed_headers(body)))

    def close(self):
        self.link.close()


def hmac_sm3(secret, data):
    """HMAC (RFC 2104) over SM3, block size 64."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import func, sm3

    key = secret if len(secret) <= 64 else bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(secret)))
    key = key.ljust(64, b"\0")
    inner = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(bytes(k ^ 0x36 for k in key) + data)))
    return sm3.sm3_hash(func.bytes_to_list(bytes(k ^ 0x5C for k in key) + inner))


def sm_seal(records_json, secret, platform_public_key):
    """The SM envelope of a JSON body (bytes) -> envelope bytes."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import sm2, sm4

    sm4_key, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    cipher = sm4.CryptSM4()
    cipher.set_key(sm4_key, sm4.SM4_ENCRYPT)
    data = cipher.crypt_cbc(iv, records_json).hex()
    sealed = sm2.CryptSM2(private_key="", public_key=platform_public_key).encrypt(sm4_key)
    if sealed is None:
        raise ValueError("the platform's SM2 public key cannot encrypt: check upstream.sm2_public_key")
    wrapped = sealed.hex()
    timestamp = str(int(time.time()))
    sign = hmac_sm3(secret, ("%s\n%s\n%s\n%s" % (timestamp, wrapped, iv.hex(), data)).encode())
    return json.dumps(
        {"timestamp": timestamp, "key": wrapped, "iv": iv.hex(), "data": data, "sign": sign}
    ).encode()


def sm_open(envelope, secret, private_key, public_key):
    """Check and decrypt an SM envelope (the platform's side); raise ValueError."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import sm2, sm4

    env = json.loads(envelope)
    expect = hmac_sm3(
        secret, ("%s\n%s\n%s\n%s" % (env["timestamp"], env["key"], env["iv"], env["data"])).encode()
    )
    if not hmac.compare_digest(expect, env["sign"]):
        raise ValueError("bad SM3 signature")
    sm4_key = sm2.CryptSM2(private_key=private_key, public_key=public_key).decrypt(bytes.fromhex(env["key"]))
    if not sm4_key or len(sm4_key) != 16:
        raise ValueError("SM2 key unwrap failed")
    cipher = sm4.CryptSM4()
    cipher.set_key(sm4_key, sm4.SM4_DECRYPT)
    return cipher.crypt_cbc(bytes.fromhex(env["iv"]), bytes.fromhex(env["data"]))


def sm2_keypair():
    """(private hex, public hex) for the reference platform and tests."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import sm2

    private = secrets.token_hex(32)
    public = sm2.CryptSM2(private_key=private, public_key="")._kg(
        int(private, 16), sm2.default_ecc_table["g"]
    )
    return private, public


class SmAdapter:
    name = "sm"

    def __init__(self, url, secret, platform_public_key, timeout=30.0):
        if len(platform_public_key or "") != 128:
            raise ValueError("the sm adapter needs upstream.sm2_public_key: 128 hex digits")
        self.link = HttpLink(url, timeout)
        self.secret, self.public_key = secret, platform_public_key

    def send(self, records):
        body = batch_body(records)
        envelope = sm_seal(body, self.secret, self.public_key)
        return parse_results(
            *self.link.request("POST", SM_RECORDS_PATH, envelope, {"Content-Type": "application/json"})
        )

    def close(self):
        self.link.close()


def make_adapter(upstream_config, secret):
    """The adapter named by upstream.adapter ("json" or "sm")."""
    url = upstream_config["url"]
    timeout = upstream_config.get("timeout_s", 10)
    if upstream_config.get("adapter", "json") == "sm":
        return SmAdapter(url, secret, upstream_config.get("sm2_public_key", ""), timeout)
    return JsonHmacAdapter(url, secret, timeout)
