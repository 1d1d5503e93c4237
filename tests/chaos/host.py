"""The host side of a chaos scenario: a real Store and Collector in-process."""

from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector

HALL = "chaos"


class Host:
    def __init__(self, db_path, port, devices, host="127.0.0.1", **collector_kw):
        self.db_path = str(db_path)
        self.port, self.host, self.collector_kw = port, host, collector_kw
        self.store = Store(self.db_path)
        self.keys = {
            name: registry.add_device(self.store, name, "A%02d" % i, HALL)
            for i, name in enumerate(devices, 1)
        }
        self.collector = None

    def start(self, timeout=10):
        self.collector = Collector(self.store, self.host, self.port, **self.collector_kw)
        assert self.collector.start(timeout), "collector could not subscribe"
        return self.collector

    def close(self):
        if self.collector is not None:
            self.collector.stop()
        self.store.close()
