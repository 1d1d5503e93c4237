"""HTTP side of the reference SMS platform.

POST /            SendSms, form-encoded (hostd/sms/gateway.py SendSms)
GET  /inbox       the messages taken, as JSON
POST /control     {"mode": "ok" | "down" | "error500" | "hang", "count": n}:
                  down = hang up without an answer before reading the
                  request; error500 = answer 500, take nothing; hang = take
                  the message, then hang up (the answer is lost); count = how
                  many requests (0 = until changed)
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from peers.sms_ref.gateway import SmsPlatform

MODES = ("ok", "down", "error500", "hang")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hcp-sms-ref/1"

    def log_message(self, format, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self):
        self.close_connection = True
        self.connection.close()

    def do_GET(self):
        ref = self.server.ref  # type: ignore[attr-defined]
        if self.path == "/inbox":
            return self._answer(200, ref.platform.inbox)
        return self._answer(404, {"error": "no such path"})

    def do_POST(self):
        ref = self.server.ref  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if self.path == "/control":
            body = json.loads(self.rfile.read(length) or b"{}")
            ref.set_mode(body.get("mode", "ok"), body.get("count", 0))
            return self._answer(200, {"mode": ref.mode})
        if self.path != "/":
            return self._answer(404, {"error": "no such path"})
        mode = ref.take_mode()
        if mode == "down":
            return self._hang_up()
        raw = self.rfile.read(length).decode()
        if mode == "error500":
            return self._answer(
                500, {"Code": "InternalError", "Message": "The request processing has failed"}
            )
        fields = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        status, answer = ref.platform.send(fields)
        if mode == "hang":
            return self._hang_up()
        return self._answer(status, answer)


class RefSms:
    """The reference SMS platform on a loopback port."""

    def __init__(self, platform: SmsPlatform, port=0, host="127.0.0.1"):
        self.platform = platform
        self.host, self.port = host, port
        self.mode, self.count = "ok", 0
        self._lock = threading.Lock()
        self._server = None

    @property
    def url(self):
        return "http://%s:%d/" % (self.host, self.port)

    def set_mode(self, mode, count=0):
        if mode not in MODES:
            raise ValueError("mode must be one of " + ", ".join(MODES))
        with self._lock:
            self.mode, self.count = mode, int(count)

    def take_mode(self):
        with self._lock:
            mode = self.mode
            if mode != "ok" and self.count:
                self.count -= 1
                if self.count == 0:
                    self.mode = "ok"
            return mode

    def start(self):
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._server.ref = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="sms-ref", daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
