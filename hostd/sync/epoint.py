"""The epoint adapter: one record per POST, as Epoint's integration posts them.

  POST <url><service_path>   {"params": {...}}   a service record (办件服务数据)
  POST <url><evaluate_path>  {"params": {...}}   a rating or 追评 (assessNumber 2)
  POST <url><query_path>     {"params": {"projectno", "serviceNumber"[, "assessNumber"]}}
      -> custom.data: the record the platform holds under that identity
Answer: HTTP 200 with {"status": {"code": 200}, "custom": {"code": "1"}} is
success; custom.code "0" is a refusal, custom.text says why, and the
refusal texts table says what that means to hostd. Field spellings, paths
and refusal texts come from the code table's [epoint] section; DEFAULTS are
what Epoint's integration has (design.md "Upstream record"). The paths are
our defaults: the integration names the calls, not a URL layout.

Records go out `concurrency` at a time, each sending thread on its own
keep-alive connection. Replies and appeal decisions have no Epoint call
known to us: the sender keeps them in the hall as not reportable.

Not built: gtmap. Known of it: parameters Base64-encoded twice,
evaluateChannel=PJQ, version=2 when data goes on to the national platform,
fields projNo, serviceCode, regionCode. Its answers and its lookup are not
known, so an adapter could not confirm a repeat.
"""

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from hostd.sync import wire
from hostd.sync.http_link import LinkPool, TransportError

log = logging.getLogger("hostd.upstream")

DEFAULTS = {
    "service_path": "/service",
    "evaluate_path": "/evaluate",
    "query_path": "/query",
    "fields": {
        "projectNo": "projectno",
        "serviceNumber": "serviceNumber",
        "assessNumber": "assessNumber",
        "assessTime": "assessTime",
        "evalDetail": "evalDetail",
        "writingEvaluation": "writingEvaluation",
        "satisfaction": "satisfaction",
        "pf": "pf",
        "taskCode": "taskCode",
        "taskName": "taskName",
        "deptCode": "deptCode",
        "areaCode": "areacode",
        "proManager": "proManager",
        "serviceName": "serviceName",
        "serviceTime": "serviceTime",
        "promiseTime": "promiseTime",
    },
    "refusals": {
        "no_service": ["没有对应的服务数据"],
        "repeat_assess": ["重复评价"],
        "repeat_service": ["服务数据重复"],
        "no_detail": ["差评需填写评价指标或文字"],
        "no_rating": ["没有对应的评价数据"],
    },
}
OUTCOME = {
    "no_service": wire.NO_SERVICE,
    "repeat_assess": wire.REPEAT,
    "repeat_service": wire.REPEAT,
    "no_detail": wire.INVALID,
    "no_rating": wire.NO_RATING,
}
KINDS = ("service", "rating", "default", "comment")


class EpointAdapter:
    name = "epoint"
    batched = False

    def __init__(self, url, settings=None, timeout=10.0, concurrency=4):
        settings = settings or {}
        self.paths = {
            k: settings.get(k, DEFAULTS[k]) for k in ("service_path", "evaluate_path", "query_path")
        }
        self.fields = dict(settings.get("fields") or DEFAULTS["fields"])
        self.back = {v: k for k, v in self.fields.items()}
        refusals = dict(DEFAULTS["refusals"], **(settings.get("refusals") or {}))
        self.refusals = [(text, OUTCOME[name]) for name, texts in refusals.items() for text in texts]
        self.pool = LinkPool(url, timeout)
        self.workers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="hostd-epoint")
        self._warned = set()
        self._lock = threading.Lock()

    def supports(self, kind):
        return kind in KINDS

    def outgoing(self, kind, record):
        """The fields of `record` this adapter posts (hostd's names)."""
        return {name: value for name, value in record.items() if name in self.fields}

    def params(self, record):
        return {self.fields[name]: value for name, value in record.items() if name in self.fields}

    def _post(self, path, params):
        body = json.dumps({"params": params}, ensure_ascii=False, separators=(",", ":")).encode()
        return self.pool.request("POST", path, body, {"Content-Type": "application/json; charset=utf-8"})

    def _warn_once(self, kind, text):
        with self._lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        log.warning("epoint: %s (logged once; such answers are retried with backoff)", text)

    def answer(self, status, data):
        """An Answer for one POST's reply."""
        if status != 200:
            self._warn_once("http-%d" % status, "platform answered HTTP %d" % status)
            return wire.Answer(wire.RETRY, "HTTP_%d" % status, data[:200].decode("utf-8", "replace"))
        try:
            reply = json.loads(data)
            code = reply["status"]["code"]
            custom = reply["custom"]
            result, text = str(custom["code"]), str(custom.get("text") or "")
        except (ValueError, KeyError, TypeError) as exc:
            self._warn_once("unparsed", "an answer could not be read (%s): %r" % (exc, data[:200]))
            return wire.Answer(wire.RETRY, "UNPARSED", str(exc))
        if str(code) != "200":
            self._warn_once(
                "status-%s" % code, "status.code %s: %s" % (code, reply["status"].get("text", ""))
            )
            return wire.Answer(wire.RETRY, "STATUS_%s" % code, str(reply["status"].get("text", "")))
        if result == "1":
            return wire.Answer(wire.OK, "1", text)
        if result != "0":
            self._warn_once("custom-%s" % result, "custom.code %r is neither 1 nor 0" % result)
            return wire.Answer(wire.RETRY, "CUSTOM_%s" % result, text)
        for known, outcome in self.refusals:
            if known in text:
                return wire.Answer(outcome, known, text)
        return wire.Answer(wire.REFUSED, "0", text)

    def _one(self, kind, record):
        path = self.paths["service_path" if kind == "service" else "evaluate_path"]
        return self.answer(*self._post(path, self.params(record)))

    def send(self, items):
        """{row_id: Answer} for (row_id, kind, record) items, `concurrency`
        POSTs at a time; a record whose POST got no answer is left out.
        TransportError when none got one."""
        futures = [(row_id, self.workers.submit(self._one, kind, record)) for row_id, kind, record in items]
        answers, errors = {}, []
        for row_id, future in futures:
            try:
                answers[row_id] = future.result()
            except TransportError as exc:
                errors.append(str(exc))
        if errors and not answers:
            raise TransportError(errors[0])
        return answers

    def query(self, kind, record):
        """The record the platform holds under `record`'s identity (hostd's
        field names), or None."""
        names = ("projectNo", "serviceNumber") + (() if kind == "service" else ("assessNumber",))
        status, data = self._post(self.paths["query_path"], self.params({n: record[n] for n in names}))
        if status != 200:
            raise TransportError("query answered HTTP %d" % status)
        try:
            reply = json.loads(data)
            custom = reply["custom"]
            if str(custom["code"]) != "1":
                return None
            stored = custom.get("data")
        except (ValueError, KeyError, TypeError) as exc:
            raise TransportError("query answer unreadable: %s" % exc)
        if not isinstance(stored, dict):
            return None
        return {self.back.get(name, name): value for name, value in stored.items()}

    def close(self):
        self.workers.shutdown(wait=False)
        self.pool.close()
