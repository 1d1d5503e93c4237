"""The rules of a Chinese SMS platform's SendSms, as hostd's adapter meets them.

A request is refused unless all of these hold (the answer's Code in brackets):
  - the RPC signature (hostd/sms/rpc_sign.py's scheme, computed here on our
    own): a known AccessKeyId [InvalidAccessKeyId.NotFound, HTTP 404], the
    signature [SignatureDoesNotMatch, HTTP 400], SignatureMethod HMAC-SHA1
    and SignatureVersion 1.0 [IncompleteSignature], a nonce never seen
    before [SignatureNonceUsed], a Timestamp within 15 minutes of the
    platform's clock [InvalidTimeStamp.Expired]; Action SendSms, Version
    2017-05-25 [InvalidAction / InvalidVersion];
  - PhoneNumbers: mainland mobile numbers [isv.MOBILE_NUMBER_ILLEGAL];
  - SignName: an approved signature, given without 【】
    [isv.SMS_SIGNATURE_ILLEGAL];
  - TemplateCode: an approved template [isv.SMS_TEMPLATE_ILLEGAL];
  - TemplateParam: a JSON object [isv.INVALID_JSON_PARAM] with exactly the
    template's variables [isv.TEMPLATE_MISSING_PARAMETERS /
    isv.TEMPLATE_PARAMS_ILLEGAL], each at most 35 characters
    [isv.PARAM_LENGTH_LIMIT], none holding a link [isv.PARAM_NOT_SUPPORT_URL];
  - the message, 【SignName】 and the filled template, at most 500 characters
    [isv.CONTENT_LENGTH_LIMIT]; it is billed in segments: one up to 70
    characters, else one per 67;
  - to one number: 1 message a minute, 5 an hour, 10 a local (UTC+8) day
    [isv.BUSINESS_LIMIT_CONTROL]. Only messages taken count.
Refusals other than the signature's answer HTTP 200 with the Code, as the
platforms do. Every message taken is kept in `inbox`.
"""

import calendar
import json
import re
import threading
import time
import uuid

from hostd.sms import rpc_sign

MOBILE = re.compile(r"1[3-9][0-9]{9}")
VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
LINK = re.compile(r"(https?://|www\.|\.(com|cn|net|org)(/|$))", re.I)
PARAM_MAX = 35
CONTENT_MAX = 500
PER_NUMBER = ((60, 1), (3600, 5))
DAY_LIMIT = 10
LOCAL = 8 * 3600
SKEW = 15 * 60


class Refusal(Exception):
    def __init__(self, code, message, status=200):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def segments(text):
    return 1 if len(text) <= 70 else -(-len(text) // 67)


class SmsPlatform:
    def __init__(self, keys, signs, templates, clock=time.time):
        self.keys = dict(keys)  # AccessKeyId -> secret
        self.signs = set(signs)
        self.templates = dict(templates)  # code -> text with ${variables}
        self.clock = clock
        self.lock = threading.Lock()
        self.nonces = set()
        self.inbox = []  # {"mobile", "text", "segments", "at", "biz_id", "out_id"}
        self.refusals = {}  # Code -> count

    def send(self, fields):
        """One SendSms request's form fields -> (HTTP status, answer)."""
        request_id = uuid.uuid4().hex
        try:
            with self.lock:
                taken = self._send(fields)
        except Refusal as refusal:
            self.refusals[refusal.code] = self.refusals.get(refusal.code, 0) + 1
            return refusal.status, {"Code": refusal.code, "Message": refusal.message, "RequestId": request_id}
        return 200, {"Code": "OK", "Message": "OK", "BizId": taken, "RequestId": request_id}

    def _send(self, fields):
        self._authenticate(fields)
        numbers = str(fields.get("PhoneNumbers", "")).split(",")
        if not numbers or not all(MOBILE.fullmatch(n) for n in numbers):
            raise Refusal("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        sign = str(fields.get("SignName", ""))
        if sign not in self.signs:
            raise Refusal("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(str(fields.get("TemplateCode", "")))
        if template is None:
            raise Refusal("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        text = "【%s】%s" % (sign, self._fill(template, fields.get("TemplateParam")))
        if len(text) > CONTENT_MAX:
            raise Refusal("isv.CONTENT_LENGTH_LIMIT", "短信内容超过 %d 字" % CONTENT_MAX)
        now = int(self.clock())
        for number in numbers:
            self._within_limits(number, now)
        biz_id = "%d^%s" % (now, uuid.uuid4().hex[:12])
        for number in numbers:
            self.inbox.append(
                {
                    "mobile": number,
                    "text": text,
                    "segments": segments(text),
                    "at": now,
                    "biz_id": biz_id,
                    "out_id": fields.get("OutId"),
                }
            )
        return biz_id

    def _authenticate(self, fields):
        given = dict(fields)
        signature = given.pop("Signature", None)
        secret = self.keys.get(given.get("AccessKeyId"))
        if secret is None:
            raise Refusal("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if given.get("SignatureMethod") != "HMAC-SHA1" or given.get("SignatureVersion") != "1.0":
            raise Refusal("IncompleteSignature", "The request signature does not conform to standards.", 400)
        if not signature or signature != rpc_sign.signature(secret, "POST", given):
            raise Refusal(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400
            )
        try:
            stamp = calendar.timegm(time.strptime(str(given.get("Timestamp")), "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            raise Refusal("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400)
        if abs(stamp - self.clock()) > SKEW:
            raise Refusal("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)
        nonce = given.get("SignatureNonce")
        if not nonce or nonce in self.nonces:
            raise Refusal("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
        self.nonces.add(nonce)
        if given.get("Action") != "SendSms":
            raise Refusal("InvalidAction.NotFound", "Specified api is not found.", 404)
        if given.get("Version") != "2017-05-25":
            raise Refusal("InvalidVersion", "Specified parameter Version is not valid.", 400)

    def _fill(self, template, raw):
        try:
            params = json.loads(raw or "")
        except ValueError:
            raise Refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise Refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        wanted = set(VARIABLE.findall(template))
        if wanted - set(params):
            raise Refusal(
                "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量 %s" % ",".join(sorted(wanted - set(params)))
            )
        if set(params) - wanted:
            raise Refusal("isv.TEMPLATE_PARAMS_ILLEGAL", "模板变量里包含非法关键字或多余变量")
        for value in params.values():
            if len(value) > PARAM_MAX:
                raise Refusal("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
            if LINK.search(value):
                raise Refusal("isv.PARAM_NOT_SUPPORT_URL", "不支持URL参数")
        return VARIABLE.sub(lambda m: params[m.group(1)], template)

    def _within_limits(self, number, now):
        times = [m["at"] for m in self.inbox if m["mobile"] == number]
        for seconds, most in PER_NUMBER:
            if sum(1 for t in times if t > now - seconds) >= most:
                raise Refusal(
                    "isv.BUSINESS_LIMIT_CONTROL", "触发号码%s级流控" % ("分钟" if seconds == 60 else "小时")
                )
        midnight = (now + LOCAL) // 86400 * 86400 - LOCAL
        if sum(1 for t in times if t >= midnight) >= DAY_LIMIT:
            raise Refusal("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控")
