"""The `hall` fixture of the collector tests: a store with two registered
devices and a running Collector on the test Mosquitto, and `device()` for
signing devices that are closed afterwards."""

import pytest
from hostd_helpers import SigningDevice

from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector

HALL = "hall-1"


@pytest.fixture
def hall(tmp_path, mosquitto):
    """A store with two registered devices and a running collector."""
    store = Store(tmp_path / "hostd.db")
    keys = {
        name: registry.add_device(store, name, "A0%d" % i, HALL)
        for i, name in enumerate(("w01-a", "w02-b"), 1)
    }
    collector = Collector(store, "127.0.0.1", mosquitto.port, client_id="hostd-test")
    assert collector.start(timeout=10)
    devices = []

    def device(name="w01-a", key=None, **kw):
        d = SigningDevice(mosquitto.port, HALL, name, key or keys[name], **kw)
        devices.append(d)
        return d

    yield type(
        "Hall",
        (),
        dict(
            store=store,
            keys=keys,
            collector=collector,
            device=device,
            path=str(tmp_path / "hostd.db"),
            broker=mosquitto,
        ),
    )
    for d in devices:
        d.close()
    collector.stop()
    store.close()
