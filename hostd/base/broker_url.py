"""An MQTT broker's URL, as hostd.toml (broker.url) and `hostd run --broker` give it."""

import urllib.parse
from dataclasses import dataclass

from hostd.base.errors import BadBrokerUrl


@dataclass
class BrokerUrl:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def tls(self):
        return self.scheme == "mqtts"

    def __str__(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)


def parse_url(text):
    """mqtt://host:port or mqtts://[user:pass@]host:port -> BrokerUrl."""
    what = "broker URL %r" % text
    try:
        url = urllib.parse.urlsplit(text)
        port = url.port
    except ValueError as exc:
        raise BadBrokerUrl("%s: %s; use mqtt://host:port" % (what, exc))
    if url.scheme not in ("mqtt", "mqtts"):
        raise BadBrokerUrl("%s: scheme must be mqtt or mqtts, as in mqtt://127.0.0.1:1883" % what)
    if not url.hostname:
        raise BadBrokerUrl("%s has no host; use mqtt://host:port" % what)
    if url.path not in ("", "/") or url.query or url.fragment:
        raise BadBrokerUrl("%s: give only mqtt://host:port" % what)
    if port is None:
        port = 8883 if url.scheme == "mqtts" else 1883
    return BrokerUrl(
        url.scheme,
        url.hostname,
        port,
        urllib.parse.unquote(url.username) if url.username else None,
        urllib.parse.unquote(url.password) if url.password else None,
    )
