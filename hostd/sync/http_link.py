"""Keep-alive HTTP(S) to the platform, one connection per sending thread.

TransportError means no usable answer (down, timeout, reset, HTTP 5xx): the
record is retried later with backoff; it is never a refusal.
"""

import http.client
import threading
import urllib.parse


class TransportError(Exception):
    """No usable answer from the platform; retry later."""


class HttpLink:
    """One keep-alive HTTP(S) connection to a base URL, reopened after errors."""

    def __init__(self, url, timeout=10.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream url must be http(s)://host[:port][/path], not %r" % url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._conn = None

    def request(self, method, path, body=None, headers=None):
        """Return (status, body bytes); raise TransportError on any failure."""
        reused = self._conn is not None
        try:
            return self._request(method, path, body, headers)
        except TransportError:
            if not reused:
                raise
            return self._request(method, path, body, headers)  # the kept-alive socket was stale

    def _request(self, method, path, body, headers):
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, self.prefix + path, body=body, headers=headers or {})
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError("%s %s: %s" % (method, path, exc.__class__.__name__ + ": " + str(exc)))
        if response.status >= 500 or response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class LinkPool:
    """An HttpLink per thread, so concurrent senders each keep their own
    connection alive; close() closes them all."""

    def __init__(self, url, timeout=10.0):
        HttpLink(url, timeout)  # check the URL now, in the caller's thread
        self.url, self.timeout = url, timeout
        self._local = threading.local()
        self._all = []
        self._lock = threading.Lock()

    def link(self):
        link = getattr(self._local, "link", None)
        if link is None:
            link = self._local.link = HttpLink(self.url, self.timeout)
            with self._lock:
                self._all.append(link)
        return link

    def request(self, method, path, body=None, headers=None):
        return self.link().request(method, path, body, headers)

    def close(self):
        with self._lock:
            for link in self._all:
                link.close()
