"""The hostd.toml schema: declared once, checked apart from the code that uses it.

Each setting is (section, key, default, check, allowed) where `check(value)`
returns True for a good value and `allowed` says in words what is good.
Unknown keys and bad values raise ConfigError naming the key and what is
allowed, in one line.
"""

import ipaddress
import os

from hostd.base import hall_time, steps
from hostd.base.errors import ConfigError
from protocol.topics import valid_id

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _optional_port(value):
    return value == 0 or _port(value)


def _address(value):
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _host_or_empty(value):
    return isinstance(value, str) and " " not in value and "/" not in value


def _path_or_empty(value):
    return isinstance(value, str)


def _int_between(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _url_http_or_empty(value):
    return isinstance(value, str) and (value == "" or value.split("://")[0] in ("http", "https"))


def _url_or_empty(value):
    return isinstance(value, str) and (value == "" or value.split("://")[0] in ("mqtt", "mqtts"))


def _networks(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return False
    try:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _replica(value):
    """ "" (off), an absolute folder, or a file://, sftp:// or s3:// URL."""
    if not isinstance(value, str) or any(c in value for c in " \r\n\t"):
        return False
    if value == "" or value.startswith("/"):
        return True
    scheme, sep, rest = value.partition("://")
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    if ":" in userinfo:
        return False  # a password in hostd.toml (0644) and the log: use backup.sftp_key
    return bool(sep) and scheme in ("file", "sftp", "s3") and rest.strip("/") != ""


def _group_or_empty(value):
    return isinstance(value, str) and (value == "" or valid_id(value))


SCHEMA = (
    ("hall", "id", "hall-01", valid_id, "1-32 of A-Z a-z 0-9 _ -"),
    (
        "hall",
        "timezone",
        "Asia/Shanghai",
        hall_time.valid_zone,
        "a zone at UTC+8 all year, e.g. Asia/Shanghai: every time shown is in it (the statistics"
        " count days at UTC+8)",
    ),
    (
        "hall",
        "opening_hours",
        ["08:30-12:00", "13:30-17:30"],
        hall_time.valid_spans,
        'a list of "HH:MM-HH:MM" spans of a working day, e.g. ["08:30-12:00", "13:30-17:30"]',
    ),
    ("broker", "listen", "0.0.0.0", _address, "an IP address such as 0.0.0.0 or 127.0.0.1"),
    ("broker", "port", 1883, _port, "a port number 1-65535"),
    (
        "broker",
        "advertise_host",
        "",
        _host_or_empty,
        'the host name or address devices use to reach the broker, or "" to guess',
    ),
    (
        "broker",
        "url",
        "",
        _url_or_empty,
        '"" to run our own Mosquitto, or mqtt://host:port of an existing broker',
    ),
    ("broker", "tls_port", 0, _optional_port, "0 (no TLS listener) or a port number"),
    (
        "broker",
        "host_port",
        0,
        _optional_port,
        "0 (a free port, kept in broker/host_port) or a port for hostd's own 127.0.0.1 listener",
    ),
    ("broker", "tls_cert", "", _path_or_empty, "path to the server certificate (PEM)"),
    ("broker", "tls_key", "", _path_or_empty, "path to the server private key (PEM)"),
    ("broker", "tls_ca", "", _path_or_empty, "path to the CA certificate (PEM)"),
    ("web", "port", 8080, _port, "a port number 1-65535"),
    ("web", "listen", "127.0.0.1", _address, "an IP address such as 127.0.0.1 or 0.0.0.0"),
    (
        "web",
        "ratelater_per_minute",
        20,
        lambda v: _int_between(v, 1, 6000),
        "rate-later ratings one address may send a minute (a hall's Wi-Fi is one address), 1-6000",
    ),
    (
        "web",
        "api_body_max_kb",
        64,
        lambda v: _int_between(v, 1, 10240),
        "KB a /api request body may have, 1-10240",
    ),
    (
        "web",
        "form_body_max_kb",
        16,
        lambda v: _int_between(v, 1, 10240),
        "KB a page form post may have, 1-10240",
    ),
    (
        "web",
        "upload_max_kb",
        5120,
        lambda v: _int_between(v, 16, 51200),
        "KB an uploaded scan or piece of evidence (JPEG, PNG, PDF) may have, 16-51200",
    ),
    (
        "web",
        "display_frame_ancestors",
        "'self'",
        lambda v: isinstance(v, str) and v.strip() != "" and not any(c in v for c in ";,\r\n"),
        "who may embed /display in a frame: 'self', 'none', or origins such as https://screen.example",
    ),
    (
        "collector",
        "shared_group",
        "",
        _group_or_empty,
        '"" or a group name for $share/<group>/ subscriptions (several hostd on one broker)',
    ),
    (
        "web",
        "public_url",
        "",
        _url_http_or_empty,
        "\"\" (this host's address and web.port) or the http(s):// base URL citizens' phones reach",
    ),
    ("log", "level", "INFO", lambda v: v in LOG_LEVELS, " ".join(LOG_LEVELS)),
    (
        "log",
        "format",
        "text",
        lambda v: v in ("text", "json"),
        '"text" (one line a record) or "json" (one JSON object a line, for a log collector)',
    ),
    (
        "metrics",
        "allow",
        ["127.0.0.1", "::1"],
        _networks,
        'a list of addresses or networks that may read GET /metrics, e.g. ["127.0.0.1", "10.0.0.0/8"]',
    ),
    # The rating rules (policy.md "The rating"): the period a citizen may rate
    # in, after which an unrated session becomes a default rating.
    (
        "device",
        "watchdog_s",
        30,
        lambda v: _int_between(v, 2, 3600),
        "seconds, 2-3600: a device whose loop hangs this long resets (provisioned)",
    ),
    (
        "device",
        "reason_timeout_s",
        30,
        lambda v: _int_between(v, 5, 99),
        "seconds, 5-99: the 差评 reason screen counts down this long, then records no reason (provisioned)",
    ),
    (
        "device",
        "offline_rating",
        True,
        lambda v: isinstance(v, bool),
        "true or false: whether a device that cannot reach hostd takes a rating with no session",
    ),
    (
        "device",
        "offline_interval_s",
        60,
        lambda v: _int_between(v, 1, 86400),
        "seconds, 1-86400: at most one offline rating per this, so staff cannot stuff ratings",
    ),
    (
        "device",
        "show_chosen_level",
        False,
        lambda v: isinstance(v, bool),
        "false (回避式: the thanks screen never shows the level) or true",
    ),
    (
        "alerts",
        "reboots_per_hour",
        3,
        lambda v: _int_between(v, 1, 1000),
        "a whole number, 1-1000: more reboots of one device in an hour raise an alert",
    ),
    (
        "alerts",
        "check_seconds",
        60,
        lambda v: _int_between(v, 2, 3600),
        "seconds, 2-3600, between checks of the alert conditions",
    ),
    (
        "alerts",
        "device_silent_minutes",
        10,
        lambda v: _int_between(v, 2, 1440),
        "minutes, 2-1440: a device not heard from this long in opening hours raises an alert",
    ),
    (
        "alerts",
        "backlog_hours",
        4,
        lambda v: _int_between(v, 1, 720),
        "hours, 1-720: a record waiting this long to go to the provincial platform raises an alert",
    ),
    (
        "alerts",
        "disk_free_pct",
        10,
        lambda v: _int_between(v, 1, 99),
        "a whole number, 1-99: less free space than this share of the home's disk needs action",
    ),
    # Continuous backup with Litestream (hostd/db/replica.py).
    (
        "backup",
        "replica",
        "",
        _replica,
        '"" (no continuous backup), a folder on another disk such as /mnt/backup/hostd, or a'
        " file://, sftp://user@host/path (no password: backup.sftp_key) or s3://bucket/path URL",
    ),
    (
        "backup",
        "sync_interval_s",
        1,
        lambda v: _int_between(v, 1, 3600),
        "seconds, 1-3600, between syncs to the replica: the recovery point of a disk loss",
    ),
    (
        "backup",
        "retention_days",
        7,
        lambda v: _int_between(v, 1, 3650),
        "days, 1-3650, the replica keeps for a restore to an earlier time",
    ),
    (
        "backup",
        "s3_endpoint",
        "",
        _url_http_or_empty,
        '"" (Amazon S3) or the http(s):// endpoint of an S3-compatible store (MinIO, OSS, COS)',
    ),
    ("backup", "sftp_key", "", _path_or_empty, '"" or the SSH private key file for an sftp:// replica'),
    (
        "backup",
        "sftp_host_key",
        "",
        lambda v: (
            isinstance(v, str)
            and (v == "" or (v.startswith("ssh-") or v.startswith("ecdsa-")) and "\n" not in v)
        ),
        '"" (not checked) or the SFTP server\'s public host key, e.g. "ssh-ed25519 AAAA..."',
    ),
    (
        "doctor",
        "ntp_server",
        "",
        _host_or_empty,
        '"" (not checked) or the NTP server `hostd doctor` compares this host\'s clock with',
    ),
    (
        "privacy",
        "retention_days",
        30,
        lambda v: _int_between(v, 1, 3650),
        "days, 1-3650, a rate-later rating keeps the address it came from (for the fraud signals)",
    ),
    ("rating", "default_level", 3, lambda v: v in (3, 4), "3 (基本满意) or 4 (满意)"),
    (
        "workorder",
        "verdict_days",
        7,
        lambda v: _int_between(v, 1, 60),
        "days, 1-60, the complainant's link to rate a rectification stays valid after the reply",
    ),
    (
        "rating",
        "window_qr_bind_s",
        600,
        lambda v: _int_between(v, 10, 86400),
        "seconds, 10-86400: a rating through a window's standing QR code counts for the session the"
        " window opened at most this long before; else it is a window-level rating",
    ),
    ("rating", "period_days", 5, lambda v: _int_between(v, 1, 60), "a whole number of days, 1-60"),
    (
        "rating",
        "working_days",
        True,
        lambda v: isinstance(v, bool),
        "true (count working days, chinese-calendar) or false (natural days)",
    ),
    (
        "rating",
        "holiday_file",
        "",
        _path_or_empty,
        '"" or a TOML file of holidays and adjusted working days for years chinese-calendar lacks',
    ),
    (
        "rating",
        "screen_seconds",
        120,
        lambda v: _int_between(v, 10, 3600),
        "seconds the device shows a session, 10-3600",
    ),
    (
        "rating",
        "default_check_seconds",
        60,
        lambda v: _int_between(v, 1, 3600),
        "seconds between checks for sessions whose period ended (default ratings), 1-3600",
    ),
    ("render", "font", "", _path_or_empty, '"" (the installed CJK font) or the path of a .ttf/.ttc font'),
    # 差评 work orders and rankings (hostd/rules/deadlines.py, hostd/reporting/ranking.py).
    (
        "workorder",
        "policy",
        "changsha-1210",
        lambda v: isinstance(v, str) and valid_id(v),
        "changsha-1210 (1/2/10 working days), ezhou (48 h, 5/15 days), ezhou-pilot (on the spot,"
        " 1+5 or 15 working days with 会商), heilongjiang (10 working days), qijiang (on the spot or"
        " 5 working days), or a policy of workorder.policy_file",
    ),
    (
        "workorder",
        "policy_file",
        "",
        _path_or_empty,
        '"" or a TOML file of the hall\'s own 整改时限 policies, in the form of hostd/rules/presets.toml',
    ),
    # 办不成事 reports (hostd/casework/unresolved.py): their own deadlines.
    (
        "unresolved",
        "accept_within",
        "1 working_days",
        steps.valid,
        "the time the unit has to take a 办不成事 report up: " + steps.HELP,
    ),
    (
        "unresolved",
        "resolve_within",
        "10 working_days",
        steps.valid,
        "the time to solve it, or explain why it cannot be (兜底说明): " + steps.HELP,
    ),
    (
        "unresolved",
        "remind_hours",
        24,
        lambda v: _int_between(v, 1, 720),
        "hours, 1-720: the unit is reminded (督促整改) this long before a deadline"
        " (at half its time at the earliest)",
    ),
    ("ranking", "weight_good", 40, lambda v: _int_between(v, 0, 100), "a weight 0-100 for 好评率"),
    ("ranking", "weight_bad", 20, lambda v: _int_between(v, 0, 100), "a weight 0-100 for 1 - 差评率"),
    ("ranking", "weight_active", 20, lambda v: _int_between(v, 0, 100), "a weight 0-100 for 主动评价率"),
    ("ranking", "weight_rectify", 20, lambda v: _int_between(v, 0, 100), "a weight 0-100 for 差评整改率"),
    (
        "ranking",
        "weight_volume",
        10,
        lambda v: _int_between(v, 0, 100),
        "a weight 0-100 for 数据归集量 (ratings, as a share of the most any ranked subject had)",
    ),
    (
        "ranking",
        "quarter_weights",
        [1, 1, 1, 1],
        lambda v: isinstance(v, list) and len(v) == 4 and all(_int_between(x, 0, 100) for x in v) and any(v),
        "four weights 0-100 of Q1-Q4 in the annual award, e.g. [1, 1, 1, 1] (the plain average)",
    ),
    # 差评 analysis (hostd/reporting/analysis.py) and its alerts.
    (
        "analysis",
        "concentration_count",
        3,
        lambda v: _int_between(v, 2, 1000),
        "差评, 2-1000: this many on one staff member or item within analysis.concentration_days"
        " raise an alert",
    ),
    ("analysis", "concentration_days", 7, lambda v: _int_between(v, 1, 92), "days, 1-92"),
    (
        "analysis",
        "bottom_n",
        3,
        lambda v: _int_between(v, 1, 100),
        "a unit in the bottom this many of the unit ranking ...",
    ),
    (
        "analysis",
        "bottom_quarters",
        2,
        lambda v: _int_between(v, 2, 8),
        "... for this many quarters running (2-8) is flagged (004 第十九条)",
    ),
    (
        "ranking",
        "min_ratings",
        10,
        lambda v: _int_between(v, 0, 100000),
        "ratings a unit/window/staff/item needs in the quarter to be ranked",
    ),
    # Upstream sync (hostd/upstream/): "" url = off. Codes fill in for units without their own.
    # SMS reminders (hostd/sms/): the rate-later link, once, to a consenting citizen.
    ("sms", "url", "", _url_http_or_empty, '"" (no SMS) or the SMS gateway\'s http(s):// endpoint'),
    (
        "sms",
        "access_key_id",
        "",
        lambda v: isinstance(v, str) and len(v) <= 64 and " " not in v,
        "the gateway account's AccessKeyId (its secret goes in sms.secret_file)",
    ),
    ("sms", "secret_file", "", _path_or_empty, '"" (<home>/keys/sms-secret) or a file path'),
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
    ("sms", "timeout_s", 10, lambda v: _int_between(v, 1, 120), "seconds per request, 1-120"),
    (
        "sms",
        "check_s",
        15,
        lambda v: _int_between(v, 1, 3600),
        "seconds between looks for due reminders, 1-3600",
    ),
    ("upstream", "url", "", _url_http_or_empty, '"" (no sync) or the platform\'s http(s):// base URL'),
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
        _path_or_empty,
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
        lambda v: _int_between(v, 1, 720),
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
        lambda v: _int_between(v, 1, 32),
        "records in flight at once for one-record-per-POST adapters, 1-32",
    ),
    (
        "upstream",
        "project_no_prefix",
        "",
        lambda v: isinstance(v, str) and (v == "" or (len(v) <= 24 and valid_id(v))),
        '"" (the hall id) or 1-24 of A-Z a-z 0-9 _ -: projectNo = prefix + yyyyMMdd + 6-digit sequence',
    ),
    ("upstream", "secret_file", "", _path_or_empty, '"" (<home>/keys/upstream-secret) or a file path'),
    (
        "upstream",
        "sm2_public_key",
        "",
        lambda v: v == "" or (isinstance(v, str) and len(v) == 128),
        '"" or the platform\'s SM2 public key, 128 hex digits',
    ),
    ("upstream", "batch_size", 200, lambda v: _int_between(v, 1, 5000), "records per request, 1-5000"),
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
    ("upstream", "twelve345_url", "", _url_http_or_empty, '"" (no 12345 forwarding) or its http(s):// URL'),
    ("upstream", "backoff_cap_s", 600, lambda v: _int_between(v, 1, 86400), "seconds, 1-86400"),
    ("upstream", "timeout_s", 10, lambda v: _int_between(v, 1, 600), "seconds per request, 1-600"),
)


def defaults():
    """The full config with every default, as nested dicts."""
    config = {}
    for section, key, default, _check, _allowed in SCHEMA:
        config.setdefault(section, {})[key] = default
    return config


def validate(raw, source="hostd.toml"):
    """Check `raw` (parsed TOML) against SCHEMA; return it with defaults filled in."""
    known = {}
    for section, key, default, check, allowed in SCHEMA:
        known.setdefault(section, {})[key] = (default, check, allowed)
    config = defaults()
    for section, values in raw.items():
        if section not in known:
            raise ConfigError(
                "%s: unknown section [%s] (allowed: %s)" % (source, section, ", ".join(sorted(known)))
            )
        if not isinstance(values, dict):
            raise ConfigError("%s: [%s] must be a table of settings" % (source, section))
        for key, value in values.items():
            if key not in known[section]:
                raise ConfigError(
                    "%s: unknown key %s.%s (allowed: %s)"
                    % (source, section, key, ", ".join(sorted(known[section])))
                )
            _default, check, allowed = known[section][key]
            if not check(value):
                raise ConfigError(
                    "%s: %s.%s = %r is not allowed (use %s)" % (source, section, key, value, allowed)
                )
            config[section][key] = value
    _check_tls(config["broker"], source)
    return config


def _check_tls(broker, source):
    if not broker["tls_port"]:
        return
    for key in ("tls_cert", "tls_key"):
        if not broker[key]:
            raise ConfigError("%s: broker.tls_port is set, so broker.%s must name a PEM file" % (source, key))
    for key in ("tls_cert", "tls_key", "tls_ca"):
        if broker[key] and not os.path.isfile(broker[key]):
            raise ConfigError("%s: broker.%s = %r: no such file" % (source, key, broker[key]))
    if broker["tls_port"] == broker["port"]:
        raise ConfigError("%s: broker.tls_port must differ from broker.port" % source)
