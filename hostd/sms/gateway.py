"""The SMS gateway: pluggable, with one adapter in the shape the common
Chinese SMS APIs share (Action=SendSms: PhoneNumbers, SignName, TemplateCode,
TemplateParam as JSON; an RPC signature, hostd/sms/rpc_sign.py).

The platform renders the message itself: 【SignName】 and the approved
template, its ${variables} filled from TemplateParam. So hostd never sends
text, only the template's parameters, and a link cannot ride in a parameter
(the platforms refuse URLs there): the template carries the hall's address,
and hostd sends the short link's code (hostd/sms/reminders.py).

send() answers the platform's message id, or raises:
  Refused       the platform answered no (a limit, a bad number, a template
                or signature problem): sending again would be refused again
  Unavailable   nothing was sent (no connection, a 5xx, throttled): try later
  Unknown       the request went out and no answer came back: it may have
                been sent, so it is never sent again (one reminder at most)
"""

import json

import httpx

from hostd.sms import rpc_sign

API_VERSION = "2017-05-25"
RETRY_CODES = ("ServiceUnavailable", "Throttling", "Throttling.User", "InternalError")


class SmsError(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message = code, message


class Refused(SmsError):
    pass


class Unavailable(SmsError):
    pass


class Unknown(SmsError):
    pass


class SendSms:
    """The adapter: `send(mobile, params, out_id)` -> the platform's BizId."""

    def __init__(self, url, access_key_id, secret, sign_name, template_code, timeout=10, transport=None):
        self.url = url
        self.access_key_id, self.secret = access_key_id, secret
        self.sign_name, self.template_code = sign_name, template_code
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def close(self):
        self.client.close()

    def request(self, mobile, params, out_id, now=None):
        """The signed form fields of one SendSms call."""
        fields = {
            "Action": "SendSms",
            "Version": API_VERSION,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "PhoneNumbers": mobile,
            "SignName": self.sign_name,
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "OutId": out_id,
        }
        return rpc_sign.signed(fields, self.access_key_id, self.secret, now=now)

    def send(self, mobile, params, out_id, now=None):
        try:
            answer = self.client.post(self.url, data=self.request(mobile, params, out_id, now))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unavailable("connect", str(exc) or type(exc).__name__)
        except httpx.HTTPError as exc:  # sent, and no answer: it may have gone out
            raise Unknown("no_answer", str(exc) or type(exc).__name__)
        if answer.status_code >= 500:
            raise Unavailable("http_%d" % answer.status_code, answer.text[:200])
        try:
            body = answer.json()
            code, message = str(body.get("Code")), str(body.get("Message", ""))
        except (ValueError, AttributeError):
            raise Unknown("unreadable", "HTTP %d: %s" % (answer.status_code, answer.text[:200]))
        if code == "OK":
            return str(body.get("BizId") or "")
        if code in RETRY_CODES:
            raise Unavailable(code, message)
        raise Refused(code, message)


def from_config(config, secret):
    """The configured gateway, or None when sms.url is empty."""
    sms = config["sms"]
    if not sms["url"]:
        return None
    return SendSms(
        sms["url"], sms["access_key_id"], secret, sms["sign_name"], sms["template_code"], sms["timeout_s"]
    )
