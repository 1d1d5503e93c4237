"""hostd's own wire, for aggregators of our own: the json and sm adapters.

  POST <url>/api/v1/records  {"records": [{"type": T, "record": {...}}, ...]}
    -> 200 {"results": [{"ok", "code", "message"}, ...]}, one per record, in order
  POST <url>/api/v1/query    {"type": T, "record": {identity fields}}
    -> 200 {"record": {...} | null}: what the platform holds under that identity
T is service, rating (a rating or 追评), reply or appeal. The record carries
the interface's fields only; there is no key of ours. The sm adapter posts
the same JSON sealed (hostd/sync/sealing.py) to /api/v1/sm/records and
/api/v1/sm/query. Answer codes: OK; REPEAT_SERVICE / REPEAT_ASSESS /
REPEAT; NO_SERVICE; NO_RATING; BAD_FIELD / BAD_CODE / NO_DETAIL.
"""

import json
import logging

from hostd.sync import sealing, wire
from hostd.sync.http_link import LinkPool, TransportError

log = logging.getLogger("hostd.upstream")

RECORDS_PATH, QUERY_PATH = "/api/v1/records", "/api/v1/query"
SM_RECORDS_PATH, SM_QUERY_PATH = "/api/v1/sm/records", "/api/v1/sm/query"
TYPE_OF = {"service": "service", "rating": "rating", "default": "rating", "comment": "rating"}
TYPE_OF.update(reply="reply", appeal="appeal")
OUTCOME = {
    "OK": wire.OK,
    "REPEAT_SERVICE": wire.REPEAT,
    "REPEAT_ASSESS": wire.REPEAT,
    "REPEAT": wire.REPEAT,
    "NO_SERVICE": wire.NO_SERVICE,
    "NO_RATING": wire.NO_RATING,
    "BAD_FIELD": wire.INVALID,
    "BAD_CODE": wire.INVALID,
    "NO_DETAIL": wire.INVALID,
}
IDENTITY = ("projectNo", "serviceNumber", "assessNumber", "appealTime")


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def records_body(items):
    """The POST body of a batch of (row_id, kind, wire record)."""
    return dump({"records": [{"type": TYPE_OF[kind], "record": record} for _id, kind, record in items]})


def parse_results(status, data, count):
    if status != 200:
        raise TransportError(
            "platform answered HTTP %d: %s" % (status, data[:200].decode("utf-8", "replace"))
        )
    try:
        results = json.loads(data)["results"]
        if not isinstance(results, list) or len(results) != count:
            raise ValueError("%d results for %d records" % (len(results), count))
        return [
            wire.Answer(
                OUTCOME.get(r.get("code"), wire.OK if r.get("ok") else wire.REFUSED),
                str(r.get("code", "")),
                str(r.get("message", "")),
            )
            for r in results
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TransportError("platform answer is not a results list: %s" % exc)


class JsonHmacAdapter:
    """Batches over one keep-alive connection, HMAC-SHA256 signed."""

    name = "json"
    batched = True

    def __init__(self, url, secret, timeout=10.0):
        self.pool = LinkPool(url, timeout)
        self.secret = secret

    def supports(self, kind):
        return kind in TYPE_OF

    def outgoing(self, kind, record):
        """The fields it posts: all of them."""
        return record

    def post(self, path, body):
        return self.pool.request("POST", path, body, sealing.signed_headers(self.secret, body))

    def send(self, items):
        """{row_id: Answer} for a batch of (row_id, kind, wire record)."""
        status, data = self.post(RECORDS_PATH, records_body(items))
        answers = parse_results(status, data, len(items))
        return {item[0]: answer for item, answer in zip(items, answers)}

    def query(self, kind, record):
        """What the platform holds under the record's identity, or None."""
        key = {name: record[name] for name in IDENTITY if name in record}
        status, data = self.post(QUERY_PATH, dump({"type": TYPE_OF[kind], "record": key}))
        return parse_query(status, data)

    def close(self):
        self.pool.close()


def parse_query(status, data):
    if status != 200:
        raise TransportError("platform answered the query HTTP %d" % status)
    try:
        stored = json.loads(data)["record"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError("platform's query answer is unreadable: %s" % exc)
    return stored if isinstance(stored, dict) else None


class SmAdapter(JsonHmacAdapter):
    """The same batches in the 国密 envelope."""

    name = "sm"

    def __init__(self, url, secret, platform_public_key, timeout=30.0):
        if len(platform_public_key or "") != 128:
            raise ValueError("the sm adapter needs upstream.sm2_public_key: 128 hex digits")
        super().__init__(url, secret, timeout)
        self.public_key = platform_public_key

    def post(self, path, body):
        path = {RECORDS_PATH: SM_RECORDS_PATH, QUERY_PATH: SM_QUERY_PATH}[path]
        envelope = sealing.sm_seal(body, self.secret, self.public_key)
        return self.pool.request("POST", path, envelope, {"Content-Type": "application/json"})
