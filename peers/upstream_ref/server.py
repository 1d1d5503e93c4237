"""HTTP side of the reference platform, with failure modes tests switch on.

Endpoints, hostd's own wire (hostd/sync/own.py), HMAC-SHA256 signed:
  POST /api/v1/records      {"records": [{"type", "record"}]} -> {"results": [...]} in order
  POST /api/v1/query        {"type", "record": identity} -> {"record": {...} | null}
  POST /api/v1/sm/records, /api/v1/sm/query   the same in the SM2/SM3/SM4 envelope
Epoint's wire (hostd/sync/epoint.py), one record per POST as {"params": {...}}:
  POST /service  /evaluate  /query
  -> {"status": {"code": 200, "text"}, "custom": {"code": "1" | "0", "text", "data"}}
Fake 12345:
  POST /api/v1/tickets      open tickets for 差评 work orders (by externalId)
  GET  /api/v1/replies?since=N   operator replies after id N
Control (tests):
  POST /control             {"mode": ok|down|slow|error500|drop|garbage, "count": n, "delay": s}
                            count = how many record POSTs the mode applies to (0 = until changed)
  POST /control/service     {record}: the business system pushes a service record
  POST /control/reply       {"ticket", "kind", "text", "feedback"}: a 12345 operator replies
  GET  /stats               counts of what arrived (platform.Platform.stats)
Modes (record POSTs only, never queries): down = hang up without reading
the body; slow = wait `delay` s, then answer; error500 = answer 500, commit
nothing; drop = commit, then hang up (the reply is lost after the commit);
garbage = commit, then answer 200 with a body no adapter can read.
"""

import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hostd.sync import sealing
from peers.upstream_ref.platform import Platform

MODES = ("ok", "down", "slow", "error500", "drop", "garbage")
# Epoint's spelling -> the platform's (the rest is spelled the same).
EPOINT_NAMES = {"projectno": "projectNo", "areacode": "areaCode"}
EPOINT_BACK = {v: k for k, v in EPOINT_NAMES.items()}


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.mode, self.count, self.delay = "ok", 0, 0.0
        self.applied = {}

    def set(self, mode, count=0, delay=0.0):
        if mode not in MODES:
            raise ValueError("mode must be one of " + ", ".join(MODES))
        with self.lock:
            self.mode, self.count, self.delay = mode, int(count), float(delay)

    def take(self):
        """The mode for this request (counting it down)."""
        with self.lock:
            mode = self.mode
            if mode != "ok":
                self.applied[mode] = self.applied.get(mode, 0) + 1
                if self.count:
                    self.count -= 1
                    if self.count == 0:
                        self.mode = "ok"
            return mode, self.delay


def epoint_answer(ok, code, message, data=None):
    custom = {"code": "1" if ok else "0", "text": message}
    if data is not None:
        custom["data"] = data
    return {"status": {"code": 200, "text": "成功"}, "custom": custom}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server_version = "hcp-upstream-ref/2"

    def log_message(self, format, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, obj):
        data = json.dumps(obj, ensure_ascii=False).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _signed(self, body):
        ref = self.server.ref
        expect = sealing.signature(
            ref.secret, self.headers.get("X-HCP-Timestamp", ""), self.headers.get("X-HCP-Nonce", ""), body
        )
        return hmac.compare_digest(expect, self.headers.get("X-HCP-Signature", ""))

    def do_GET(self):
        ref = self.server.ref
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            return self._send(200, dict(ref.platform.stats(), faults=ref.faults.applied))
        if url.path == "/api/v1/replies":
            if not self._signed(b""):
                return self._send(401, {"error": "签名错误"})
            since = int(urllib.parse.parse_qs(url.query).get("since", ["0"])[0])
            return self._send(200, {"replies": ref.platform.replies_since(since)})
        return self._send(404, {"error": "no such path"})

    def _faulted(self, commit, answer):
        """Apply the failure mode around `commit()`, then answer(result)."""
        mode, delay = self.server.ref.faults.take()
        if mode == "down":
            self.close_connection = True
            return
        if mode == "error500":
            self._send(500, {"error": "internal error (injected)"})
            return
        if mode == "slow":
            time.sleep(delay)
        result = commit()
        if mode == "drop":
            self.close_connection = True
            return
        if mode == "garbage":
            self._send(200, b"<html>gateway says hello</html>")
            return
        answer(result)

    def do_POST(self):
        ref = self.server.ref
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if path.startswith("/control"):
            return self._control(path, body)
        if path in ("/service", "/evaluate", "/query"):
            return self._epoint(path, body)
        if path.startswith("/api/v1/sm/"):
            try:
                body = sealing.sm_open(body, ref.secret, ref.sm2_private, ref.sm2_public)
            except (ValueError, KeyError, TypeError) as exc:
                return self._send(401, {"error": "国密信封无效: %s" % exc})
            path = path.replace("/sm/", "/")
        elif not self._signed(body):
            return self._send(401, {"error": "签名错误"})
        try:
            req = json.loads(body)
        except ValueError:
            return self._send(400, {"error": "请求不是 JSON"})
        if path == "/api/v1/records":
            items = [(r.get("type"), r.get("record")) for r in req["records"]]
            return self._faulted(
                lambda: ref.platform.accept(items),
                lambda results: self._send(
                    200, {"results": [{"ok": ok, "code": c, "message": m} for ok, c, m in results]}
                ),
            )
        if path == "/api/v1/query":
            return self._send(200, {"record": ref.platform.query(req.get("type"), req.get("record") or {})})
        if path == "/api/v1/tickets":
            return self._faulted(
                lambda: ref.platform.open_tickets(req["records"]),
                lambda results: self._send(
                    200, {"results": [{"ok": ok, "code": c, "message": m} for ok, c, m in results]}
                ),
            )
        return self._send(404, {"error": "no such path"})

    def _epoint(self, path, body):
        ref = self.server.ref
        try:
            params = json.loads(body)["params"]
            record = {EPOINT_NAMES.get(k, k): v for k, v in params.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._send(200, {"status": {"code": 400, "text": "参数格式错误"}, "custom": {}})
        if path == "/query":
            kind = "rating" if "assessNumber" in record else "service"
            stored = ref.platform.query(kind, record)
            if stored is None:
                return self._send(200, epoint_answer(False, "NONE", "未找到数据"))
            data = {EPOINT_BACK.get(k, k): v for k, v in stored.items()}
            return self._send(200, epoint_answer(True, "OK", "成功", data))
        kind = "service" if path == "/service" else "rating"
        return self._faulted(
            lambda: ref.platform.accept([(kind, record)])[0],
            lambda result: self._send(200, epoint_answer(*result)),
        )

    def _control(self, path, body):
        ref = self.server.ref
        req = json.loads(body or b"{}")
        if path == "/control":
            try:
                ref.faults.set(req.get("mode", "ok"), req.get("count", 0), req.get("delay", 0))
            except ValueError as exc:
                return self._send(400, {"error": str(exc)})
            return self._send(200, {"mode": ref.faults.mode})
        if path == "/control/service":
            return self._send(200, {"taken": ref.platform.push_service(req)})
        if path == "/control/reply":
            rid = ref.platform.add_reply(req["ticket"], req["kind"], req.get("text", ""), req.get("feedback"))
            return self._send(200, {"id": rid})
        return self._send(404, {"error": "no such path"})


class RefPlatform:
    """The reference platform on a loopback port; stop() and start() again
    on the same port to make it go down and come back."""

    def __init__(self, db_path, secret, port=0, host="127.0.0.1", sm2_keys=None):
        self.platform = Platform(db_path)
        self.secret = secret
        self.faults = Faults()
        self.sm2_private, self.sm2_public = sm2_keys or (None, None)
        self.host, self.port = host, port
        self._server = self._thread = None

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.ref = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="upstream-ref", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stats(self):
        return self.platform.stats()
