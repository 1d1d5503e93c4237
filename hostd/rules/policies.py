"""整改时限 policies: the presets of hostd/rules/presets.toml and a hall's own file.

A policy has classes of work order (simple / general / complex: the values
work_orders.complexity may hold), each with its 办结 deadline and perhaps its
own contact deadline and a 会商 (consultation of the departments involved).
hostd.toml picks one by `workorder.policy`; `workorder.policy_file` adds a
hall's own policies in the same TOML form as presets.toml, so a custom
policy is written, not coded.

A deadline is written "N hours", "N working_days", "N natural_days" or
"same_day", and parsed into (amount, unit) for hostd/rules/deadlines.py.
"""

import functools
import logging
import os
import tomllib
from pathlib import Path

from hostd.base import steps
from hostd.base.errors import ConfigError

log = logging.getLogger("hostd.workorders")
PRESETS_FILE = Path(__file__).with_name("presets.toml")
CLASSES = ("simple", "general", "complex")  # work_orders.complexity CHECK
_POLICY_KEYS = {"label", "source", "default", "contact", "classes"}
_CLASS_KEYS = {"label", "done", "contact", "consult"}


def parse_step(text, where):
    """(amount, unit) of "5 working_days"; ConfigError naming `where` otherwise."""
    try:
        return steps.parse(text)
    except ValueError:
        raise ConfigError("%s = %r: write %s" % (where, text, steps.HELP)) from None


step_label = steps.label


def _table(value, where, allowed):
    if not isinstance(value, dict):
        raise ConfigError("%s must be a table" % where)
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(
            "%s: unknown key %s (allowed: %s)" % (where, sorted(unknown)[0], ", ".join(sorted(allowed)))
        )
    return value


def _text(value, where):
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ConfigError("%s must be a text of 1-200 characters" % where)
    return value.strip()


def parse(tables, source):
    """{name: policy} from parsed TOML; ConfigError naming the file and key."""
    policies = {}
    for name, raw in tables.items():
        where = "%s: [%s]" % (source, name)
        raw = _table(raw, where, _POLICY_KEYS)
        classes_raw = _table(raw.get("classes"), where + " classes", set(CLASSES))
        if not classes_raw:
            raise ConfigError("%s: give at least one of classes.simple / general / complex" % where)
        contact = parse_step(raw["contact"], where + " contact") if "contact" in raw else None
        classes = {}
        for key in CLASSES:  # always in this order, whatever the file's
            if key not in classes_raw:
                continue
            there = "%s classes.%s" % (where, key)
            one = _table(classes_raw[key], there, _CLASS_KEYS)
            if "done" not in one:
                raise ConfigError("%s: give its done deadline" % there)
            consult = one.get("consult", False)
            if not isinstance(consult, bool):
                raise ConfigError("%s consult must be true or false" % there)
            classes[key] = {
                "label": _text(one.get("label"), there + " label"),
                "done": parse_step(one["done"], there + " done"),
                "contact": parse_step(one["contact"], there + " contact") if "contact" in one else contact,
                "consult": consult,
            }
        default = raw.get("default", next(iter(classes)))
        if default not in classes:
            raise ConfigError(
                "%s default = %r: name one of its classes (%s)" % (where, default, ", ".join(classes))
            )
        policies[name] = {
            "name": name,
            "label": _text(raw.get("label"), where + " label"),
            "source": str(raw.get("source", source)),
            "default": default,
            "classes": classes,
        }
    return policies


@functools.cache
def _file(path, _mtime):
    try:
        with open(path, "rb") as f:
            tables = tomllib.load(f)
    except OSError as exc:
        raise ConfigError("workorder.policy_file = %r: %s" % (path, exc.strerror)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("%s: not valid TOML (%s)" % (path, exc)) from None
    return parse(tables, path)


_last_good = {}


def _load(path):
    """The policies of a file, parsed again when it changes. A file that
    parsed once and is then broken, moved or deleted keeps its last good
    policies, with a warning in the log: a hall's typo must not stop the
    差评 that a work order opens for (hostd run and the CLI, at start, have
    no last good one and stop in one line, ConfigError)."""
    path = str(path)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        mtime = 0
    try:
        policies = _file(path, mtime)
    except ConfigError as exc:
        if path not in _last_good:
            raise
        log.warning("%s; keeping the policies read before, until it is fixed", exc)
        return _last_good[path]
    _last_good[path] = policies
    return policies


def available(config=None):
    """{name: policy}: the presets, then the hall's own file's (which may not reuse a name)."""
    policies = dict(_load(PRESETS_FILE))
    path = ((config or {}).get("workorder") or {}).get("policy_file", "")
    if path:
        own = _load(path)
        clash = sorted(set(own) & set(policies))
        if clash:
            raise ConfigError(
                "%s: [%s] is a preset's name; give your policy a name of its own" % (path, clash[0])
            )
        policies.update(own)
    return policies


def active(config=None, default="changsha-1210"):
    """The policy hostd.toml picks; ConfigError naming the choices otherwise."""
    name = ((config or {}).get("workorder") or {}).get("policy", default)
    policies = available(config)
    if name not in policies:
        raise ConfigError(
            "workorder.policy = %r: no such policy (choose %s, or define it in workorder.policy_file)"
            % (name, ", ".join(sorted(policies)))
        )
    return policies[name]
