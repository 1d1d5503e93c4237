"""HTTP side of the reference platform, with failure modes tests switch on.

Endpoints (JSON):
  POST /api/v1/records      provincial records, HMAC-SHA256 signed (adapters.py)
  POST /api/v1/sm/records   the same, in the SM2/SM3/SM4 envelope
  POST /api/v1/tickets      fake 12345: open tickets for 差评 work orders
  GET  /api/v1/replies?since=N   fake 12345: operator replies after id N
  POST /control             {"mode": ok|down|slow|error500|drop, "count": n, "delay": s}
                            count = how many requests the mode applies to (0 = until changed)
  POST /control/reply       {"ticket", "kind", "text", "feedback"}: a 12345 operator replies
  GET  /stats               counts of what arrived (platform.Platform.stats)
Modes: down = hang up without reading the batch; slow = wait `delay` s,
then answer; error500 = answer 500, commit nothing; drop = commit, then hang
up without answering (the reply is lost after the commit).
"""

import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hostd.sync import adapters
from peers.upstream_ref.platform import Platform


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.mode, self.count, self.delay = "ok", 0, 0.0
        self.applied = {}

    def set(self, mode, count=0, delay=0.0):
        if mode not in ("ok", "down", "slow", "error500", "drop"):
            raise ValueError("mode must be ok, down, slow, error500 or drop")
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server_version = "hcp-upstream-ref/1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, obj):
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self):
        self.close_connection = True

    def _signed(self, body):
        ref = self.server.ref
        expect = adapters.signature(
            ref.secret, self.headers.get("X-HCP-Timestamp", ""), self.headers.get("X-HCP-Nonce", ""), body
        )
        return hmac.compare_digest(expect, self.headers.get("X-HCP-Signature", ""))

    def do_GET(self):
        ref = self.server.ref
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            return self._send(200, dict(ref.platform.stats(), faults=ref.faults.applied))
        if url.path == "/api/v1/replies":
            if not self._faulted(lambda: None):
                return None
            if not self._signed(b""):
                return self._send(401, {"error": "签名错误"})
            since = int(urllib.parse.parse_qs(url.query).get("since", ["0"])[0])
            return self._send(200, {"replies": ref.platform.replies_since(since)})
        return self._send(404, {"error": "no such path"})

    def _faulted(self, commit):
        """Apply the failure mode around `commit()`; return its result, or
        None when the request was hung up / failed (already answered)."""
        mode, delay = self.server.ref.faults.take()
        if mode == "down":
            self._hang_up()
            return None
        if mode == "error500":
            self._send(500, {"error": "internal error (injected)"})
            return None
        if mode == "slow":
            time.sleep(delay)
        result = commit()
        if mode == "drop":
            self._hang_up()
            return None
        return True if result is None else result

    def do_POST(self):
        ref = self.server.ref
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if path == "/control":
            req = json.loads(body or b"{}")
            try:
                ref.faults.set(req.get("mode", "ok"), req.get("count", 0), req.get("delay", 0))
            except ValueError as exc:
                return self._send(400, {"error": str(exc)})
            return self._send(200, {"mode": ref.faults.mode})
        if path == "/control/reply":
            req = json.loads(body)
            rid = ref.platform.add_reply(req["ticket"], req["kind"], req.get("text", ""), req.get("feedback"))
            return self._send(200, {"id": rid})
        if path in (adapters.RECORDS_PATH, adapters.TICKETS_PATH):
            if not self._signed(body):
                return self._send(401, {"error": "签名错误"})
            records = json.loads(body)["records"]
        elif path == adapters.SM_RECORDS_PATH:
            try:
                plain = adapters.sm_open(body, ref.secret, ref.sm2_private, ref.sm2_public)
                records = json.loads(plain)["records"]
            except (ValueError, KeyError) as exc:
                return self._send(401, {"error": "国密信封无效: %s" % exc})
        else:
            return self._send(404, {"error": "no such path"})
        accept = ref.platform.open_tickets if path == adapters.TICKETS_PATH else ref.platform.accept_batch
        results = self._faulted(lambda: accept(records))
        if results is not None:
            self._send(200, {"results": results})


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
        self._server.ref = self
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
