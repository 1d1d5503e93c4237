"""The embedded broker (PyPI `amqtt`), for machines where Mosquitto is missing.

It runs in-process on its own asyncio loop in a thread and enforces the SAME
files hostd writes for Mosquitto: two amqtt plugins read broker/passwd ($7$
hashes, hostd/broker/passwords.py) and broker/acl, and reread them whenever they
change, so a revoke is live at the next CONNECT, PUBLISH or SUBSCRIBE.

Weaker than Mosquitto, and hostd logs so:
  - MQTT 3.1.1 only: no MQTT v5, no $share/ shared subscriptions;
  - no max_packet_size and no persistence of queued messages;
  - a revoked device that is already connected is not kicked off at once,
    but every publish it makes from then on is refused.
"""

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from paho.mqtt.client import topic_matches_sub

from hostd.base.errors import BrokerFailed
from hostd.broker import passwords

log = logging.getLogger("hostd.broker")

WEAKER = (
    "MQTT 3.1.1 only (no $share shared subscriptions), no max_packet_size, "
    "no persistence; ACLs are the same files as for Mosquitto"
)


class _Watched:
    """A file parsed again whenever its mtime or size changes."""

    def __init__(self, path, parse):
        self.path = Path(path)
        self.parse = parse
        self._stamp = None
        self.value = parse("")

    def get(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self.value = self.parse(self.path.read_text() if stamp else "")
        return self.value


def parse_acl(text):
    """{user: {"read": [patterns], "write": [patterns]}} from a Mosquitto ACL file."""
    rules = {}
    user = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user" and len(words) == 2:
            user = words[1]
            rules.setdefault(user, {"read": [], "write": []})
        elif words[0] == "topic" and user is not None and len(words) == 3:
            access, pattern = words[1], words[2]
            for kind in ("read", "write"):
                if access in (kind, "readwrite"):
                    rules[user][kind].append(pattern)
    return rules


def filter_within(sub, pattern):
    """True when every topic that filter `sub` matches also matches `pattern`."""
    subs, pats = sub.split("/"), pattern.split("/")
    for i, level in enumerate(pats):
        if level == "#":
            return True
        if i >= len(subs):
            return False
        if subs[i] == "#":
            return False
        if level != "+" and subs[i] != level:
            return False
    return len(subs) == len(pats)


class _Logins:
    """passwd and passwd-host together: amqtt has the one listener, where
    devices and hostd both log in (Mosquitto keeps them apart)."""

    def __init__(self, broker_dir):
        self.devices = _Watched(broker_dir / "passwd", passwords.parse)
        self.host = _Watched(broker_dir / "passwd-host", passwords.parse)

    def get(self):
        return {**self.devices.get(), **self.host.get()}


class HallAuthPlugin(BaseAuthPlugin):
    @dataclass
    class Config:
        broker_dir: str = ""

    def __init__(self, context):
        super().__init__(context)
        self.users = _Logins(Path(self.config.broker_dir))

    async def authenticate(self, *, session):
        if not session or not session.username:
            return False
        hashed = self.users.get().get(session.username)
        return bool(hashed) and passwords.verify(session.password or "", hashed)


class HallTopicPlugin(BaseTopicPlugin):
    @dataclass
    class Config:
        broker_dir: str = ""

    def __init__(self, context):
        super().__init__(context)
        self.acl = _Watched(Path(self.config.broker_dir) / "acl", parse_acl)
        self.users = _Logins(Path(self.config.broker_dir))

    async def topic_filtering(self, *, session=None, topic=None, action=None):
        user = session.username if session else None
        if not user or not topic or user not in self.users.get():
            return False  # a revoked user is refused from the next packet on
        rules = self.acl.get().get(user)
        if rules is None:
            return False
        if action == Action.SUBSCRIBE:
            return any(filter_within(topic, p) for p in rules["read"])
        kind = "write" if action == Action.PUBLISH else "read"
        return any(topic_matches_sub(p, topic) for p in rules[kind])


class EmbeddedBroker:
    """amqtt on host:port in a thread; start() returns once it listens."""

    def __init__(self, home, config):
        self.home = home
        self.host = config["broker"]["listen"]
        self.port = config["broker"]["port"]
        self._loop = None
        self._broker = None
        self._thread = None

    def _amqtt_config(self):
        plugin = {"broker_dir": str(self.home.broker)}
        return {
            "listeners": {"default": {"type": "tcp", "bind": "%s:%d" % (self.host, self.port)}},
            "plugins": {
                "hostd.broker.fallback_broker.HallAuthPlugin": dict(plugin),
                "hostd.broker.fallback_broker.HallTopicPlugin": dict(plugin),
            },
        }

    def start(self):
        ready = threading.Event()
        box = {}

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._broker = Broker(self._amqtt_config(), loop=self._loop)
                self._loop.run_until_complete(self._broker.start())
            except Exception as exc:  # reported to start() below
                box["error"] = exc
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="hostd-amqtt", daemon=True)
        self._thread.start()
        ready.wait(15)
        if "error" in box:
            raise BrokerFailed(
                "embedded amqtt broker did not start on %s:%d: %s" % (self.host, self.port, box["error"])
            )
        log.warning(
            "FALLBACK: no mosquitto binary found; using the embedded amqtt broker on "
            "%s:%d. It is weaker: %s. Install the Debian package `mosquitto`.",
            self.host,
            self.port,
            WEAKER,
        )
        return self

    def reload(self):
        return True  # the plugins reread passwd and acl when they change

    def stop(self):
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            future.result(10)
        except Exception as exc:
            log.warning("embedded broker shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        log.info("embedded broker stopped")
