# The device's provisioned settings: config.json at the flash root.
#
# SCHEMA declares every field: name -> (type, required, default). load()
# checks a file against it and returns a Config with attribute access;
# anything wrong raises ConfigError with one line naming the field.
#
# save() is atomic: it writes config.json.tmp, then renames it over
# config.json (littlefs renames atomically). A power cut leaves either the old
# or the whole new file; a leftover .tmp is removed by the next load.
import binascii
import json
import os

from protocol.compat import const

_TEXT = const(0)
_INT = const(1)
_KEY = const(2)  # 64 hex digits on flash, 32 bytes in Config

SCHEMA = {
    "device_id": (_TEXT, True, None),
    "hall": (_TEXT, True, None),
    "window": (_TEXT, True, None),
    "key": (_KEY, True, None),
    "broker_host": (_TEXT, True, None),
    "broker_port": (_INT, False, 1883),
    "tls_ca": (_TEXT, False, None),  # PEM file name on flash; None: plain MQTT
    "wifi_ssid": (_TEXT, False, None),  # None: the network is already up (simulator)
    "wifi_password": (_TEXT, False, ""),
    "response_interval_ms": (_INT, False, 3000),  # a second press within it is ignored
    "session_ttl_s": (_INT, False, 120),
    "thanks_ms": (_INT, False, 3000),
    "heartbeat_s": (_INT, False, 30),
    "watchdog_s": (_INT, False, 30),  # the hardware watchdog's timeout, once the loop runs
    "outbox_capacity": (_INT, False, 10000),  # unacked ratings held before a press is refused
    "reason_timeout_s": (_INT, False, 30),  # the 差评 reason screen, counted down on it
    "offline_s": (_INT, False, 60),  # one offline (sessionless) rating per this; 0: none
    "show_level": (_INT, False, 0),  # 1: the thanks screen shows the level (not 回避式)
    "voice": (_INT, False, 0),  # the voice prompts' volume, 1-5; 0: off (hostd provisions it)
}

# Inclusive bounds for the numbers.
_RANGES = const(
    (
        ("broker_port", 1, 65535),
        ("response_interval_ms", 0, 600000),
        ("session_ttl_s", 1, 86400),
        ("thanks_ms", 0, 600000),
        ("heartbeat_s", 5, 3600),
        ("watchdog_s", 2, 3600),
        ("outbox_capacity", 10, 10000),
        ("reason_timeout_s", 5, 99),
        ("offline_s", 0, 86400),
        ("show_level", 0, 1),
        ("voice", 0, 5),
    )
)

_FIX = const("re-provision the device (hostd device provision)")


class ConfigError(Exception):
    pass


class Config:
    """The checked settings as attributes. No methods: a method would keep
    this module's globals alive, and main.py drops the module after boot."""


def _check(name, value):
    """The value to keep in Config, or raise ConfigError."""
    kind, required, default = SCHEMA[name]
    if value is None:
        if required:
            raise ConfigError("config: %s is missing; %s" % (name, _FIX))
        return default
    if kind == _TEXT:
        if not isinstance(value, str) or (required and not value):
            raise ConfigError("config: %s must be a non-empty string; %s" % (name, _FIX))
        return value
    if kind == _INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError("config: %s must be a whole number; %s" % (name, _FIX))
        low, high = 0, 2147483647
        for field, low_bound, high_bound in _RANGES:
            if field == name:
                low, high = low_bound, high_bound
        if value < low or value > high:
            raise ConfigError("config: %s must be between %d and %d; %s" % (name, low, high, _FIX))
        return value
    # _KEY
    raw = None
    if isinstance(value, str) and len(value) == 64:
        try:
            raw = binascii.unhexlify(value)
        except ValueError:
            raw = None
    if raw is None:
        raise ConfigError("config: key must be 64 hex digits (32 bytes); %s" % _FIX)
    return raw


def validate(values):
    """Checked values with defaults filled in (key as bytes)."""
    if not isinstance(values, dict):
        raise ConfigError("config: not a JSON object; %s" % _FIX)
    for name in values:
        if name not in SCHEMA:
            raise ConfigError("config: unknown field %s; %s" % (name, _FIX))
    checked = {}
    for name in sorted(SCHEMA):
        checked[name] = _check(name, values.get(name))
    return checked


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def load(path="config.json"):
    """Read, check and return the Config; raises ConfigError."""
    _remove(path + ".tmp")  # an interrupted save: the old file stands
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("config: %s not found; %s" % (path, _FIX))
    try:
        values = json.loads(text)
    except ValueError:
        raise ConfigError("config: %s is not valid JSON; %s" % (path, _FIX))
    cfg = Config()
    values = validate(values)
    for name in values:
        setattr(cfg, name, values[name])
    return cfg


def save(values, path="config.json"):
    """Check `values` and replace the config atomically (key as hex or bytes)."""
    values = dict(values)
    key = values.get("key")
    if isinstance(key, (bytes, bytearray)):
        values["key"] = binascii.hexlify(key).decode()
    validate(values)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(values))
    os.rename(tmp, path)
