"""The hostd home: every piece of state lives under one directory.

<home>/hostd.toml     config (hostd/base/config.py has the schema)
<home>/hostd.db       SQLite database (hostd/db/store.py)
<home>/keys/          0700: hostd's own broker password
<home>/broker/        mosquitto.conf, passwd, acl, pid, log, persistence
"""

import os
import secrets
import socket
import tomllib
from pathlib import Path

import tomli_w

from hostd.base import config as config_schema
from hostd.base.broker_url import parse_url
from hostd.base.errors import ConfigError, HomeExists, HomeMissing, UserError

ENV = "HOSTD_HOME"
HOST_USER = "hostd"  # the broker user hostd itself connects as; no device may take it


class Home:
    def __init__(self, path):
        self.path = Path(path).expanduser().resolve()
        self.config_path = self.path / "hostd.toml"
        self.db_path = self.path / "hostd.db"
        self.keys = self.path / "keys"
        self.broker = self.path / "broker"
        self.host_password_path = self.keys / "broker-password"

    @classmethod
    def locate(cls, path=None):
        """The home from `--home` or $HOSTD_HOME (the CLI passes the option through)."""
        path = path or os.environ.get(ENV)
        if not path:
            raise HomeMissing("no hostd home: pass --home DIR or set %s" % ENV)
        return cls(path)

    def exists(self):
        return self.config_path.is_file()

    def require(self):
        """Raise HomeMissing unless `hostd init` has been run here."""
        if not self.exists():
            raise HomeMissing(
                "%s is not a hostd home: run `hostd --home %s init` first" % (self.path, self.path)
            )
        return self

    def init(self, hall=None, overrides=None):
        """Create the home with a default config. `overrides` is {section: {key: value}}."""
        if self.exists():
            raise HomeExists("%s already has a hostd.toml: edit it, or choose another --home" % self.path)
        raw = {}
        if hall is not None:
            raw.setdefault("hall", {})["id"] = hall
        for section, values in (overrides or {}).items():
            raw.setdefault(section, {}).update(values)
        config = config_schema.validate(raw, "hostd init")
        self.path.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.keys, 0o700)
        self.broker.mkdir(mode=0o700, exist_ok=True)
        write_atomic(self.host_password_path, secrets.token_hex(16) + "\n", 0o600)
        self.write_config(config)
        return config

    def config(self):
        """The validated config with defaults filled in."""
        self.require()
        try:
            with open(self.config_path, "rb") as f:
                raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("%s: not valid TOML (%s): fix the file" % (self.config_path, exc))
        return config_schema.validate(raw, str(self.config_path))

    def write_config(self, config):
        text = "# hostd config; every key is listed with its current value.\n"
        text += tomli_w.dumps(config)
        write_atomic(self.config_path, text, 0o644)

    def set(self, section, key, value):
        """Change one setting (validated) and write the config back."""
        config = self.config()
        config[section][key] = value
        config = config_schema.validate(config, str(self.config_path))
        self.write_config(config)
        return config

    def host_password(self):
        return self.host_password_path.read_text().strip()

    def advertised_broker(self, config=None):
        """(host, port) that a device should connect to."""
        config = config or self.config()
        broker = config["broker"]
        if broker["url"]:
            url = parse_url(broker["url"])
            return url.host, url.port
        if broker["advertise_host"]:
            return broker["advertise_host"], broker["port"]
        if broker["listen"] not in ("0.0.0.0", "::"):
            return broker["listen"], broker["port"]
        return guess_lan_address(), broker["port"]


def guess_lan_address():
    """The address of the interface that routes outward; 127.0.0.1 if none."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def write_atomic(path, text, mode):
    """Write `text` to a temp file beside `path`, fsync, then rename over it."""
    path = Path(path)
    tmp = path.with_name(".%s.tmp" % path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


class NoSecret(UserError):
    exit_code = 2


def read_secret(path, whose, setting):
    """The stripped bytes of a secret file; NoSecret naming the file and the
    setting when it is missing or empty."""
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError:
        secret = b""
    if not secret:
        raise NoSecret(
            "%s secret file %s is missing or empty: put the shared secret the"
            " %s gave you in it (or set %s)"
            % (whose, path, "platform" if whose == "upstream" else whose, setting)
        )
    return secret
