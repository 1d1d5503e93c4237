"""The value checks of hostd.toml's settings (hostd/base/config.py SCHEMA):
each takes a value and says whether it is allowed."""

import ipaddress

from protocol.topics import valid_id


def port(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def optional_port(value):
    return value == 0 or port(value)


def address(value):
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def host_or_empty(value):
    return isinstance(value, str) and " " not in value and "/" not in value


def path_or_empty(value):
    return isinstance(value, str)


def int_between(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def url_http_or_empty(value):
    return isinstance(value, str) and (value == "" or value.split("://")[0] in ("http", "https"))


def url_or_empty(value):
    return isinstance(value, str) and (value == "" or value.split("://")[0] in ("mqtt", "mqtts"))


def networks(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return False
    try:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def replica(value):
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


def group_or_empty(value):
    return isinstance(value, str) and (value == "" or valid_id(value))
