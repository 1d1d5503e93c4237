"""A province's code table: our channels -> pf, our reasons -> evalDetail,
and the adapter's own wire settings (paths, field names, refusal texts).

It is a TOML file an admin edits (upstream.code_table). Shipped tables, in
hostd/sync/tables/:
  own.toml             hostd's own codes, the json/sm adapters' default
  epoint-example.toml  the format for the epoint adapter, with example values
Every channel and reason the product can produce (hostd/upstream/records.py
CHANNELS, REASONS) must have a code, or `hostd run` stops and says which.
"""

import os
import tomllib

from hostd.base.errors import ConfigError
from hostd.upstream import records

TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables")


def shipped(name):
    """The path of a table shipped with hostd."""
    return os.path.join(TABLES, name)


class CodeTable:
    def __init__(self, path, data):
        self.path = path
        about = data.get("about", {})
        self.name = about.get("name", os.path.basename(path))
        self.example = bool(about.get("example", False))
        self.pf = data.get("pf", {})
        self.eval_detail = data.get("evalDetail", {})
        self.sections = data

    def section(self, name):
        """The adapter's own settings ([epoint] ...), {} if none."""
        value = self.sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def missing(self):
        """Channels and reasons without a code, as 'pf.sms' / 'evalDetail.other'."""
        out = ["pf." + c for c in records.CHANNELS if self.pf.get(c) in (None, "")]
        out += ["evalDetail." + r for r in records.REASONS if self.eval_detail.get(r) in (None, "")]
        return out


def load(path):
    """Read and check a code table; ConfigError in one line if it is unusable."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError("upstream.code_table %s: cannot read it (%s)" % (path, exc.strerror))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("upstream.code_table %s: not valid TOML (%s)" % (path, exc))
    table = CodeTable(path, data)
    for name in ("pf", "evalDetail"):
        if not isinstance(data.get(name), dict):
            raise ConfigError("upstream.code_table %s: it has no [%s] table" % (path, name))
    bad = [
        "%s.%s" % (section, key)
        for section in ("pf", "evalDetail")
        for key, value in data[section].items()
        if not isinstance(value, (str, int)) or isinstance(value, bool)
    ]
    if bad:
        raise ConfigError("upstream.code_table %s: %s must be a code (text or number)" % (path, bad[0]))
    missing = table.missing()
    if missing:
        raise ConfigError(
            "upstream.code_table %s has no code for %s: add %s to it (every channel and reason"
            " hostd can produce needs one)" % (path, ", ".join(missing), " and ".join(missing))
        )
    return table


def for_config(upstream):
    """The table upstream.code_table names, or the adapter's shipped default."""
    path = upstream.get("code_table") or ""
    if not path:
        if upstream.get("adapter") == "epoint":
            raise ConfigError(
                'upstream.adapter = "epoint" needs upstream.code_table: copy %s, put your'
                " province's pf and evalDetail codes in it, and set upstream.code_table to the copy"
                % shipped("epoint-example.toml")
            )
        path = shipped("own.toml")
    return load(path)
