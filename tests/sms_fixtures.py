"""The reference SMS platform's parts the SMS tests share (peers/sms_ref): its
account, approved signature and templates, a movable clock, signed requests."""

import json

from hostd.sms import rpc_sign
from peers.sms_ref.gateway import SmsPlatform

KEY_ID, SECRET = "LTAI-hall-01", "s3cret-for-tests"
SIGN = "某市政务服务"
TEMPLATE = "SMS_90001"
TEXT = "您办理的“${item}”已办结，请点击 https://hcp.example.gov.cn/s/${code} 对本次服务评价，谢谢！"
T0 = 1_790_000_000  # a fixed moment, Unix seconds


class Clock:
    def __init__(self, t=T0):
        self.t = t

    def now(self):
        return self.t

    def __call__(self):
        return self.t


VERDICT = "SMS_90002"
VERDICT_TEXT = "您对“${item}”的评价已整改答复，请点击 https://hcp.example.gov.cn/s/${code} 评价整改结果"


def platform(clock):
    templates = {TEMPLATE: TEXT, VERDICT: VERDICT_TEXT, "SMS_LONG": "${a}" * 20}
    return SmsPlatform({KEY_ID: SECRET}, {SIGN}, templates, clock=clock)


def fields(clock, **change):
    base = {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "Format": "JSON",
        "PhoneNumbers": "13800138000",
        "SignName": SIGN,
        "TemplateCode": TEMPLATE,
        "TemplateParam": json.dumps({"item": "户口迁移", "code": "Ab3dEf6hIj9k"}, ensure_ascii=False),
    }
    base.update(change)
    return rpc_sign.signed(base, KEY_ID, SECRET, now=clock())
