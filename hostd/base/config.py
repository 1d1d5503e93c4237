"""The hostd.toml schema: declared once, checked apart from the code that uses it.

Each setting is (section, key, default, check, allowed) where `check(value)`
returns True for a good value and `allowed` says in words what is good.
Unknown keys and bad values raise ConfigError naming the key and what is
allowed, in one line. The value checks are hostd/base/config_checks.py; the
casework settings (work orders, 办不成事, ranking, analysis) are
hostd/base/config_casework.py, the upstream and SMS ones hostd/base/config_sync.py.
"""

import os

from hostd.base import config_casework, config_sync, hall_time
from hostd.base import config_checks as checks
from hostd.base.errors import ConfigError
from protocol.topics import valid_id

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


CORE = (
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
    ("broker", "listen", "0.0.0.0", checks.address, "an IP address such as 0.0.0.0 or 127.0.0.1"),
    ("broker", "port", 1883, checks.port, "a port number 1-65535"),
    (
        "broker",
        "advertise_host",
        "",
        checks.host_or_empty,
        'the host name or address devices use to reach the broker, or "" to guess',
    ),
    (
        "broker",
        "url",
        "",
        checks.url_or_empty,
        '"" to run our own Mosquitto, or mqtt://host:port of an existing broker',
    ),
    ("broker", "tls_port", 0, checks.optional_port, "0 (no TLS listener) or a port number"),
    (
        "broker",
        "host_port",
        0,
        checks.optional_port,
        "0 (a free port, kept in broker/host_port) or a port for hostd's own 127.0.0.1 listener",
    ),
    ("broker", "tls_cert", "", checks.path_or_empty, "path to the server certificate (PEM)"),
    ("broker", "tls_key", "", checks.path_or_empty, "path to the server private key (PEM)"),
    ("broker", "tls_ca", "", checks.path_or_empty, "path to the CA certificate (PEM)"),
    ("web", "port", 8080, checks.port, "a port number 1-65535"),
    ("web", "listen", "127.0.0.1", checks.address, "an IP address such as 127.0.0.1 or 0.0.0.0"),
    (
        "web",
        "ratelater_per_minute",
        20,
        lambda v: checks.int_between(v, 1, 6000),
        "rate-later ratings one address may send a minute (a hall's Wi-Fi is one address), 1-6000",
    ),
    (
        "web",
        "api_body_max_kb",
        64,
        lambda v: checks.int_between(v, 1, 10240),
        "KB a /api request body may have, 1-10240",
    ),
    (
        "web",
        "form_body_max_kb",
        16,
        lambda v: checks.int_between(v, 1, 10240),
        "KB a page form post may have, 1-10240",
    ),
    (
        "web",
        "upload_max_kb",
        5120,
        lambda v: checks.int_between(v, 16, 51200),
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
        checks.group_or_empty,
        '"" or a group name for $share/<group>/ subscriptions (several hostd on one broker)',
    ),
    (
        "web",
        "public_url",
        "",
        checks.url_http_or_empty,
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
        checks.networks,
        'a list of addresses or networks that may read GET /metrics, e.g. ["127.0.0.1", "10.0.0.0/8"]',
    ),
    # The rating rules (policy.md "The rating"): the period a citizen may rate
    # in, after which an unrated session becomes a default rating.
    (
        "device",
        "watchdog_s",
        30,
        lambda v: checks.int_between(v, 2, 3600),
        "seconds, 2-3600: a device whose loop hangs this long resets (provisioned)",
    ),
    (
        "device",
        "reason_timeout_s",
        30,
        lambda v: checks.int_between(v, 5, 99),
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
        lambda v: checks.int_between(v, 1, 86400),
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
        "device",
        "voice_volume",
        4,
        lambda v: checks.int_between(v, 0, 5),
        "0-5: the voice prompts' loudness (each step down halves it), 0 off (a board without an "
        "I2S amplifier); `hostd window voice` sets a window's own (provisioned)",
    ),
    (
        "device",
        "voice_invitation",
        "您好，请对本次服务进行评价",
        lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 60,
        "the words the device says when a session arrives, 1-60 characters (provisioned)",
    ),
    (
        "alerts",
        "reboots_per_hour",
        3,
        lambda v: checks.int_between(v, 1, 1000),
        "a whole number, 1-1000: more reboots of one device in an hour raise an alert",
    ),
    (
        "alerts",
        "check_seconds",
        60,
        lambda v: checks.int_between(v, 2, 3600),
        "seconds, 2-3600, between checks of the alert conditions",
    ),
    (
        "alerts",
        "device_silent_minutes",
        10,
        lambda v: checks.int_between(v, 2, 1440),
        "minutes, 2-1440: a device not heard from this long in opening hours raises an alert",
    ),
    (
        "alerts",
        "backlog_hours",
        4,
        lambda v: checks.int_between(v, 1, 720),
        "hours, 1-720: a record waiting this long to go to the provincial platform raises an alert",
    ),
    (
        "alerts",
        "disk_free_pct",
        10,
        lambda v: checks.int_between(v, 1, 99),
        "a whole number, 1-99: less free space than this share of the home's disk needs action",
    ),
    # Continuous backup with Litestream (hostd/db/replica.py).
    (
        "backup",
        "replica",
        "",
        checks.replica,
        '"" (no continuous backup), a folder on another disk such as /mnt/backup/hostd, or a'
        " file://, sftp://user@host/path (no password: backup.sftp_key) or s3://bucket/path URL",
    ),
    (
        "backup",
        "sync_interval_s",
        1,
        lambda v: checks.int_between(v, 1, 3600),
        "seconds, 1-3600, between syncs to the replica: the recovery point of a disk loss",
    ),
    (
        "backup",
        "retention_days",
        7,
        lambda v: checks.int_between(v, 1, 3650),
        "days, 1-3650, the replica keeps for a restore to an earlier time",
    ),
    (
        "backup",
        "s3_endpoint",
        "",
        checks.url_http_or_empty,
        '"" (Amazon S3) or the http(s):// endpoint of an S3-compatible store (MinIO, OSS, COS)',
    ),
    ("backup", "sftp_key", "", checks.path_or_empty, '"" or the SSH private key file for an sftp:// replica'),
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
        checks.host_or_empty,
        '"" (not checked) or the NTP server `hostd doctor` compares this host\'s clock with',
    ),
    (
        "privacy",
        "retention_days",
        30,
        lambda v: checks.int_between(v, 1, 3650),
        "days, 1-3650, a rate-later rating keeps the address it came from (for the fraud signals)",
    ),
    ("rating", "default_level", 3, lambda v: v in (3, 4), "3 (基本满意) or 4 (满意)"),
    (
        "rating",
        "window_qr_bind_s",
        600,
        lambda v: checks.int_between(v, 10, 86400),
        "seconds, 10-86400: a rating through a window's standing QR code counts for the session the"
        " window opened at most this long before; else it is a window-level rating",
    ),
    ("rating", "period_days", 5, lambda v: checks.int_between(v, 1, 60), "a whole number of days, 1-60"),
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
        checks.path_or_empty,
        '"" or a TOML file of holidays and adjusted working days for years chinese-calendar lacks',
    ),
    (
        "rating",
        "screen_seconds",
        120,
        lambda v: checks.int_between(v, 10, 3600),
        "seconds the device shows a session, 10-3600",
    ),
    (
        "rating",
        "default_check_seconds",
        60,
        lambda v: checks.int_between(v, 1, 3600),
        "seconds between checks for sessions whose period ended (default ratings), 1-3600",
    ),
    (
        "render",
        "font",
        "",
        checks.path_or_empty,
        '"" (the installed CJK font) or the path of a .ttf/.ttc font',
    ),
)
SCHEMA = CORE + config_casework.SCHEMA + config_sync.SCHEMA


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
