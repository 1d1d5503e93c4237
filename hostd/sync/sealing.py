"""Signatures and envelopes of hostd's own wire (the json and sm adapters).

json  header X-HCP-Signature = hex HMAC-SHA256(secret, timestamp "\n" nonce "\n" body)
sm    国密: the body is SM4-CBC encrypted under a fresh key, that key
      SM2-encrypted to the platform's public key, and the envelope signed
      with HMAC-SM3 of the shared secret.
"""

import hashlib
import hmac
import json
import secrets
import time


def signature(secret, timestamp, nonce, body):
    msg = b"%s\n%s\n" % (timestamp.encode(), nonce.encode()) + body
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def signed_headers(secret, body):
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {
        "Content-Type": "application/json",
        "X-HCP-Timestamp": timestamp,
        "X-HCP-Nonce": nonce,
        "X-HCP-Signature": signature(secret, timestamp, nonce, body),
    }


def hmac_sm3(secret, data):
    """HMAC (RFC 2104) over SM3, block size 64."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import func, sm3

    key = secret if len(secret) <= 64 else bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(secret)))
    key = key.ljust(64, b"\0")
    inner = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(bytes(k ^ 0x36 for k in key) + data)))
    return sm3.sm3_hash(func.bytes_to_list(bytes(k ^ 0x5C for k in key) + inner))


def sm_seal(plain, secret, platform_public_key):
    """The SM envelope of a JSON body (bytes) -> envelope bytes."""
    # lazy: gmssl loads only for the SM adapter
    from gmssl import sm2, sm4

    sm4_key, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    cipher = sm4.CryptSM4()
    cipher.set_key(sm4_key, sm4.SM4_ENCRYPT)
    data = cipher.crypt_cbc(iv, plain).hex()
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
