"""Stand-ins for the WeCom (企业微信) and DingTalk (钉钉) group robots, on a real
HTTP port, that refuse what the real robots refuse:

  both       POST a JSON {"msgtype": "text", "text": {"content": ...}}; the
             answer is HTTP 200 with {"errcode": 0, "errmsg": "ok"} when taken,
             another errcode when not; at most 20 messages in any 60 s
  WeCom      /cgi-bin/webhook/send?key=KEY; content at most 2048 bytes of UTF-8;
             93000 wrong key, 40008 not text, 44004 empty, 40058 too long,
             45009 too fast
  DingTalk   /robot/send?access_token=TOKEN; 加签: timestamp (ms) within an
             hour of the robot's clock and sign = base64(HMAC-SHA256(secret,
             timestamp + "\\n" + secret)); 自定义关键词: the content holds one;
             300001 wrong token, 310000 sign or keyword, 130101 too fast (and
             then refused for 10 minutes)

kind "json" is a plain endpoint of the hall's own that takes any JSON.
`clock` is shared with the sender under test, so minutes can pass at once.
"""

import base64
import collections
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Robot:
    def __init__(self, kind, token="robot-key-1", secret="", keywords=(), clock=time.time):
        self.kind, self.token, self.secret, self.keywords, self.clock = kind, token, secret, keywords, clock
        self.messages = []  # contents taken
        self.refusals = []  # (errcode, errmsg)
        self.recent = collections.deque()
        self.blocked_until = 0.0
        self.lock = threading.Lock()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = robot.handle(self.path, self.headers.get("Content-Type", ""), body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        port = self.server.server_address[1]
        if self.kind == "wecom":
            return "http://127.0.0.1:%d/cgi-bin/webhook/send?key=%s" % (port, self.token)
        return "http://127.0.0.1:%d/robot/send?access_token=%s" % (port, self.token)

    def key_seen_in_log(self, text):
        """Whether the robot's key (its URL's secret part) appears in `text`."""
        return self.token in text

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _refuse(self, code, message):
        self.refusals.append((code, message))
        return {"errcode": code, "errmsg": message}

    def handle(self, path, content_type, body):
        with self.lock:
            return self._handle(path, content_type, body)

    def _handle(self, path, content_type, body):
        if self.kind == "json":  # a hall's own endpoint: takes any JSON
            self.messages.append(json.loads(body))
            return {}
        parts = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        now = self.clock()
        wecom = self.kind == "wecom"
        if wecom and (parts.path != "/cgi-bin/webhook/send" or query.get("key") != self.token):
            return self._refuse(93000, "invalid webhook url")
        if not wecom:
            if parts.path != "/robot/send" or query.get("access_token") != self.token:
                return self._refuse(300001, "token is not exist")
            if now < self.blocked_until:
                return self._refuse(130101, "send too fast, exceed 20 times per minute")
            if self.secret and not self._signed(query, now):
                return self._refuse(310000, "sign not match")
        if not content_type.startswith("application/json"):
            return self._refuse(40035 if not wecom else 40001, "content type must be application/json")
        try:
            message = json.loads(body)
        except ValueError:
            return self._refuse(40035, "invalid json")
        if message.get("msgtype") != "text":
            return self._refuse(40008, "invalid message type")
        content = (message.get("text") or {}).get("content")
        if not isinstance(content, str) or not content.strip():
            return self._refuse(44004 if wecom else 40035, "empty content")
        if wecom and len(content.encode()) > 2048:
            return self._refuse(40058, "content exceed max length 2048")
        if not wecom and self.keywords and not any(k in content for k in self.keywords):
            return self._refuse(310000, "keywords not in content")
        while self.recent and now - self.recent[0] >= 60:
            self.recent.popleft()
        if len(self.recent) >= 20:
            if not wecom:
                self.blocked_until = now + 600
                return self._refuse(130101, "send too fast, exceed 20 times per minute")
            return self._refuse(45009, "api freq out of limit")
        self.recent.append(now)
        self.messages.append(content)
        return {"errcode": 0, "errmsg": "ok"}

    def _signed(self, query, now):
        try:
            timestamp = int(query["timestamp"])
        except (KeyError, ValueError):
            return False
        if abs(now * 1000 - timestamp) > 3600 * 1000:
            return False
        text = "%d\n%s" % (timestamp, self.secret)
        expected = base64.b64encode(hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).digest())
        return hmac.compare_digest(expected.decode(), query.get("sign", ""))
