"""The reference SMS platform's rules (peers/sms_ref, issue 18 item 2): what the
common Chinese SMS APIs enforce, each refusal by its own code; the signature
against the platform documentation's worked example."""

import json

import pytest
from sms_fixtures import KEY_ID, SECRET, T0, Clock, fields, platform

from hostd.sms import rpc_sign
from peers.sms_ref.gateway import segments

# -- the signature ------------------------------------------------------------


def test_the_signature_matches_the_platforms_documented_example():
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert rpc_sign.signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


# -- the reference platform's rules -------------------------------------------


def test_a_good_request_is_taken_and_rendered_with_the_signature():
    clock = Clock()
    sms = platform(clock)
    status, answer = sms.send(fields(clock))
    assert (status, answer["Code"]) == (200, "OK") and answer["BizId"]
    (message,) = sms.inbox
    assert message["text"].startswith("【某市政务服务】您办理的“户口迁移”已办结")
    assert "/s/Ab3dEf6hIj9k" in message["text"] and message["segments"] == 2


@pytest.mark.parametrize(
    "change, code, status",
    [
        ({"PhoneNumbers": "1380013800"}, "isv.MOBILE_NUMBER_ILLEGAL", 200),
        ({"PhoneNumbers": "02088886666"}, "isv.MOBILE_NUMBER_ILLEGAL", 200),
        ({"SignName": "【某市政务服务】"}, "isv.SMS_SIGNATURE_ILLEGAL", 200),
        ({"SignName": "别的签名"}, "isv.SMS_SIGNATURE_ILLEGAL", 200),
        ({"TemplateCode": "SMS_0"}, "isv.SMS_TEMPLATE_ILLEGAL", 200),
        ({"TemplateParam": "{item: 1}"}, "isv.INVALID_JSON_PARAM", 200),
        ({"TemplateParam": '{"item": "户口迁移"}'}, "isv.TEMPLATE_MISSING_PARAMETERS", 200),
        ({"TemplateParam": '{"item": "a", "code": "b", "x": "c"}'}, "isv.TEMPLATE_PARAMS_ILLEGAL", 200),
        ({"TemplateParam": json.dumps({"item": "长" * 36, "code": "b"})}, "isv.PARAM_LENGTH_LIMIT", 200),
        ({"TemplateParam": '{"item": "a", "code": "http://x.cn/r/abc"}'}, "isv.PARAM_NOT_SUPPORT_URL", 200),
        (
            {"TemplateCode": "SMS_LONG", "TemplateParam": json.dumps({"a": "字" * 30})},
            "isv.CONTENT_LENGTH_LIMIT",
            200,
        ),
        ({"Version": "2020-01-01"}, "InvalidVersion", 400),
    ],
)
def test_what_the_platform_refuses(change, code, status):
    clock = Clock()
    sms = platform(clock)
    got, answer = sms.send(fields(clock, **change))
    assert (got, answer["Code"]) == (status, code)
    assert sms.inbox == []


def test_the_signature_the_nonce_and_the_time_are_checked():
    clock = Clock()
    sms = platform(clock)
    forged = dict(fields(clock), PhoneNumbers="13900139000")  # changed after signing
    assert sms.send(forged)[1]["Code"] == "SignatureDoesNotMatch"
    good = fields(clock)
    assert sms.send(good)[1]["Code"] == "OK"
    clock.t += 120
    assert sms.send(good)[1]["Code"] == "SignatureNonceUsed"  # a replay
    late = fields(clock)
    clock.t += 16 * 60
    assert sms.send(late)[1]["Code"] == "InvalidTimeStamp.Expired"
    stranger = rpc_sign.signed({"Action": "SendSms"}, "someone-else", SECRET, now=clock())
    status, answer = sms.send(stranger)
    assert (status, answer["Code"]) == (404, "InvalidAccessKeyId.NotFound")


def test_messages_are_billed_in_segments_of_70_then_67():
    assert [segments("字" * n) for n in (1, 70, 71, 134, 135, 500)] == [1, 1, 2, 2, 3, 8]


def test_one_number_gets_1_a_minute_5_an_hour_and_10_a_day():
    clock = Clock(T0 - T0 % 86400 - 8 * 3600 + 86400)  # local midnight
    sms = platform(clock)
    assert sms.send(fields(clock))[1]["Code"] == "OK"
    clock.t += 30
    assert sms.send(fields(clock))[1]["Code"] == "isv.BUSINESS_LIMIT_CONTROL"  # the minute
    assert sms.send(fields(clock, PhoneNumbers="13900139000"))[1]["Code"] == "OK"  # another number
    for _ in range(4):
        clock.t += 61
        assert sms.send(fields(clock))[1]["Code"] == "OK"
    clock.t += 61
    assert sms.send(fields(clock))[1]["Code"] == "isv.BUSINESS_LIMIT_CONTROL"  # the hour: 5
    for _ in range(5):
        clock.t += 3600
        assert sms.send(fields(clock))[1]["Code"] == "OK"
    clock.t += 3600
    assert sms.send(fields(clock))[1]["Code"] == "isv.BUSINESS_LIMIT_CONTROL"  # the day: 10
    clock.t = T0 - T0 % 86400 - 8 * 3600 + 2 * 86400  # the next local day
    assert sms.send(fields(clock))[1]["Code"] == "OK"
    assert len([m for m in sms.inbox if m["mobile"] == "13800138000"]) == 11
