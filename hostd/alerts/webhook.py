"""Alerts to the hall's group chat: WeCom (企业微信) and DingTalk (钉钉) group
robots, or plain JSON to a URL of your own.

The robots' rules, which a message must meet or be refused:
  - a JSON text message: {"msgtype": "text", "text": {"content": ...}},
    answered {"errcode": 0, "errmsg": "ok"} when taken (anything else: refused);
  - WeCom: content at most 2048 bytes of UTF-8; DingTalk: we keep to 4000;
  - at most 20 messages a minute per robot (DingTalk then blocks it for 10 minutes);
  - DingTalk 加签: the URL carries timestamp (ms, within an hour of the
    robot's clock) and sign = base64(HMAC-SHA256(secret, timestamp + "\\n" +
    secret)); DingTalk 自定义关键词: the content must hold one of the robot's
    keywords. Every message starts with 【好差评告警】 (set that as the keyword),
    plus alerts.webhook keyword when given.

The webhook (its URL holds the robot's key) is kept in <home>/keys/alert-webhook.json
(0600), set with `hostd alerts webhook`. deliver() sends what it can within
the rate limit and returns the news that went out; the rest waits for the
next check, so a robot that is down or throttled loses nothing.
"""

import base64
import collections
import hashlib
import hmac
import json
import time
import urllib.parse

import httpx

from hostd.base import hall_time
from hostd.base.errors import UserError
from hostd.base.home import write_atomic

KINDS = ("wecom", "dingtalk", "json")
FILE = "alert-webhook.json"
LIMIT_BYTES = {"wecom": 2048, "dingtalk": 4000}
PER_MINUTE = 18  # the robots allow 20; two spare for `hostd alerts test` by hand
HEADER = "【好差评告警】"
TIMEOUT_S = 10


class WebhookError(UserError):
    pass


def path(home):
    return home.keys / FILE


def load(home):
    """The webhook settings {"url", "kind", "secret", "keyword"}, or None when unset."""
    try:
        settings = json.loads(path(home).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise WebhookError(
            "%s is not valid JSON (%s): set it again with hostd alerts webhook" % (path(home), exc)
        )
    if not isinstance(settings, dict) or settings.get("kind") not in KINDS or not settings.get("url"):
        raise WebhookError("%s lacks a url or a kind: set it again with hostd alerts webhook" % path(home))
    return dict({"secret": "", "keyword": ""}, **settings)


def save(home, url, kind, secret="", keyword=""):
    if kind not in KINDS:
        raise WebhookError("unknown webhook kind %r: use one of %s" % (kind, ", ".join(KINDS)))
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise WebhookError("the webhook must be an http(s):// URL, e.g. the robot's address")
    if secret and kind != "dingtalk":
        raise WebhookError("--secret is DingTalk's 加签 secret (SEC...): only for --kind dingtalk")
    settings = {"url": url, "kind": kind, "secret": secret, "keyword": keyword}
    write_atomic(path(home), json.dumps(settings, ensure_ascii=False) + "\n", 0o600)
    return settings


def remove(home):
    path(home).unlink(missing_ok=True)


def signed_url(url, secret, now):
    """DingTalk 加签: the URL with timestamp and sign added."""
    timestamp = str(int(now * 1000))
    digest = hmac.new(secret.encode(), ("%s\n%s" % (timestamp, secret)).encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return "%s%stimestamp=%s&sign=%s" % (url, "&" if "?" in url else "?", timestamp, sign)


def line(row, what):
    if what == "raised":
        return "⚠ %s 告警：%s" % (hall_time.when(row["raised_at"], "%m-%d %H:%M"), row["message"])
    lasted = max(0, (row["cleared_at"] or 0) - row["raised_at"])
    return "✓ %s 已恢复（持续 %s）：%s" % (
        hall_time.when(row["cleared_at"], "%m-%d %H:%M"),
        _span(lasted),
        row["message"],
    )


def _span(seconds):
    if seconds < 3600:
        return "%d 分钟" % max(1, seconds // 60)
    if seconds < 86400:
        return "%.1f 小时" % (seconds / 3600)
    return "%.1f 天" % (seconds / 86400)


def chunks(hall, news, settings):
    """[(text, the news in it)]: each text within the robot's byte limit."""
    head = "%s%s 大厅 %s" % (HEADER, (settings.get("keyword") or "") and " " + settings["keyword"], hall)
    limit = LIMIT_BYTES[settings["kind"]]
    out, text, part = [], head, []
    for row, what in news:
        entry = line(row, what)
        if len((head + "\n" + entry).encode()) > limit:  # one line alone too long: cut it
            entry = entry.encode()[: limit - len(head.encode()) - 8].decode("utf-8", "ignore") + "…"
        if part and len((text + "\n" + entry).encode()) > limit:
            out.append((text, part))
            text, part = head, []
        text += "\n" + entry
        part.append((row, what))
    if part:
        out.append((text, part))
    return out


class Sender:
    """Sends within the robots' rate limit (PER_MINUTE in any 60 s)."""

    def __init__(self, client=None, clock=time.time):
        self.client = client or httpx.Client(timeout=TIMEOUT_S)
        self.clock = clock
        self.sent = collections.deque()  # when each of the last messages went out

    def close(self):
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _room(self):
        now = self.clock()
        while self.sent and now - self.sent[0] >= 60:
            self.sent.popleft()
        return PER_MINUTE - len(self.sent)

    def post_text(self, settings, text):
        """One text message to a robot; raises WebhookError when it is refused."""
        url = settings["url"]
        if settings["kind"] == "dingtalk" and settings.get("secret"):
            url = signed_url(url, settings["secret"], self.clock())
        body = {"msgtype": "text", "text": {"content": text}}
        self._post(url, body, robot=True)

    def _post(self, url, body, robot):
        try:
            response = self.client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise WebhookError("the webhook did not answer (%s)" % type(exc).__name__)
        self.sent.append(self.clock())
        if response.status_code // 100 != 2:
            raise WebhookError("the webhook answered HTTP %d" % response.status_code)
        if robot:
            try:
                answer = response.json()
            except ValueError:
                raise WebhookError("the robot's answer is not JSON")
            if answer.get("errcode") != 0:
                raise WebhookError(
                    "the robot refused it: errcode %s %s" % (answer.get("errcode"), answer.get("errmsg"))
                )

    def deliver(self, settings, hall, news):
        """Send `news` ([(row, "raised" | "cleared")]); return the part that went
        out. Stops at the first refusal (raised as WebhookError after what went
        out is returned through `delivered` on the exception)."""
        delivered = []
        if settings["kind"] == "json":
            if self._room() <= 0:
                return delivered
            body = {
                "hall": hall,
                "alerts": [
                    {
                        "state": what,
                        "kind": row["kind"],
                        "subject": row["subject"],
                        "message": row["message"],
                        "raised_at": row["raised_at"],
                        "cleared_at": row["cleared_at"],
                        "text": line(row, what),
                    }
                    for row, what in news
                ],
            }
            self._post(settings["url"], body, robot=False)
            return list(news)
        for text, part in chunks(hall, news, settings):
            if self._room() <= 0:
                break
            try:
                self.post_text(settings, text)
            except WebhookError as exc:
                exc.delivered = delivered  # type: ignore[attr-defined]
                raise
            delivered += part
        return delivered
