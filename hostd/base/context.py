"""What the web app, the schedulers and the CLI share while hostd runs."""

from typing import Any

from hostd.base import clock as default_clock


class Context:
    """home: hostd.base.home.Home; config: the validated hostd.toml; store: the
    Store (all writes go through it); publisher: the Collector, whose
    publish_signed() pushes session and idle screens to devices (None when
    the app runs without a broker, as in some tests); clock: hostd.base.clock."""

    def __init__(self, home, config, store, publisher=None, clock=None):
        self.home = home
        self.config = config
        self.store = store
        self.publisher = publisher
        self.clock = clock or default_clock
        # hostd/web/link_check.py: whether the QR codes' links reach this
        # hostd ({"ok", "url", "why"}), once `hostd run` has checked; None before
        self.link_check = None
        # hostd/db/replica.py: the Litestream replicator while `hostd run` backs up; else None
        self.replicator: Any = None

    @property
    def hall(self):
        return self.config["hall"]["id"]
