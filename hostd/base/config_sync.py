"""hostd.toml's settings of what leaves the hall: the upstream sync to the
provincial platform and 12345 (hostd/sync/, hostd/upstream/) and the SMS
gateway (hostd/sms/). hostd/base/config.py joins them to the rest of SCHEMA.
"""

from hostd.base import config_checks as checks
from protocol.topics import valid_id

SCHEMA = (
    # Upstream sync (hostd/upstream/): "" url = off. Codes fill in for units without their own.
    # SMS reminders (hostd/sms/): the rate-later link, once, to a consenting citizen.
    ("sms", "url", "", checks.url_http_or_empty, '"" (no SMS) or the SMS gateway\'s http(s):// endpoint'),
    (
        "sms",
        "access_key_id",
        "",
        lambda v: isinstance(v, str) and len(v) <= 64 and " " not in v,
        "the gateway account's AccessKeyId (its secret goes in sms.secret_file)",
    ),
    ("sms", "secret_file", "", checks.path_or_empty, '"" (<home>/keys/sms-secret) or a file path'),
    (
        "sms",
        "sign_name",
        "",
        lambda v: isinstance(v, str) and len(v) <= 12 and not any(c in v for c in "【】[]"),
        "the approved signature, without 【】 (the platform adds them), at most 12 characters",
    ),
    (
        "sms",
        "template_code",
        "",
        lambda v: isinstance(v, str) and len(v) <= 32 and " " not in v,
        "the approved template's code; its variables are ${item} and ${code}",
    ),
    (
        "sms",
        "verdict_template_code",
        "",
        lambda v: isinstance(v, str) and len(v) <= 32 and " " not in v,
        '"" (no verdict SMS) or the approved template for the rectification verdict link: ${item}, ${code}',
    ),
    ("sms", "timeout_s", 10, lambda v: checks.int_between(v, 1, 120), "seconds per request, 1-120"),
    (
        "sms",
        "check_s",
        15,
        lambda v: checks.int_between(v, 1, 3600),
        "seconds between looks for due reminders, 1-3600",
    ),
    ("upstream", "url", "", checks.url_http_or_empty, '"" (no sync) or the platform\'s http(s):// base URL'),
    (
        "upstream",
        "adapter",
        "json",
        lambda v: v in ("json", "sm", "epoint"),
        "json (hostd's own wire, HMAC-SHA256), sm (the same, SM2/SM3/SM4) or epoint (Epoint's interface)",
    ),
    (
        "upstream",
        "code_table",
        "",
        checks.path_or_empty,
        "\"\" (hostd's own codes, json/sm only) or the TOML file of your province's pf and evalDetail codes",
    ),
    (
        "upstream",
        "service_records",
        "send",
        lambda v: v in ("send", "business-system"),
        "send (hostd sends each session's 办件服务数据) or business-system"
        " (the window's business system does)",
    ),
    (
        "upstream",
        "service_wait_hours",
        24,
        lambda v: checks.int_between(v, 1, 720),
        "hours a rating waits for the business system's service record before it is a dead letter, 1-720",
    ),
    (
        "upstream",
        "no_reason_code",
        "",
        lambda v: isinstance(v, str) and len(v) <= 16 and "," not in v,
        '"" (the code table\'s not_given) or the evalDetail code for "reason not given"',
    ),
    (
        "upstream",
        "no_reason_text",
        "评价人未选择具体原因（系统补充）",
        lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 200,
        "the words sent with a 差评 whose reason was not given, 1-200 characters",
    ),
    (
        "upstream",
        "concurrency",
        4,
        lambda v: checks.int_between(v, 1, 32),
        "records in flight at once for one-record-per-POST adapters, 1-32",
    ),
    (
        "upstream",
        "project_no_prefix",
        "",
        lambda v: isinstance(v, str) and (v == "" or (len(v) <= 24 and valid_id(v))),
        '"" (the hall id) or 1-24 of A-Z a-z 0-9 _ -: projectNo = prefix + yyyyMMdd + 6-digit sequence',
    ),
    ("upstream", "secret_file", "", checks.path_or_empty, '"" (<home>/keys/upstream-secret) or a file path'),
    (
        "upstream",
        "sm2_public_key",
        "",
        lambda v: v == "" or (isinstance(v, str) and len(v) == 128),
        '"" or the platform\'s SM2 public key, 128 hex digits',
    ),
    ("upstream", "batch_size", 200, lambda v: checks.int_between(v, 1, 5000), "records per request, 1-5000"),
    (
        "upstream",
        "area_code",
        "",
        lambda v: isinstance(v, str) and (v == "" or (len(v) == 12 and v.isdigit())),
        '"" or the 12-digit 区划 code',
    ),
    (
        "upstream",
        "dept_code",
        "",
        lambda v: isinstance(v, str) and len(v) in (0, 18),
        '"" or the 18-char 统一社会信用代码',
    ),
    (
        "upstream",
        "twelve345_url",
        "",
        checks.url_http_or_empty,
        '"" (no 12345 forwarding) or its http(s):// URL',
    ),
    ("upstream", "backoff_cap_s", 600, lambda v: checks.int_between(v, 1, 86400), "seconds, 1-86400"),
    ("upstream", "timeout_s", 10, lambda v: checks.int_between(v, 1, 600), "seconds per request, 1-600"),
)
