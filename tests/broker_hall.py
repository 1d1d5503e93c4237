"""The `hall` fixture of the broker tests: a home with devices d1 and d2 and
its Mosquitto running (supervised), with `connect(user, password=None,
port=None, **client_kw)` for MQTT clients that are closed afterwards."""

import pytest
from hostd_support import Client, make_home

from conftest import mosquitto_binary
from hostd.broker import files as broker
from hostd.broker import mosquitto
from hostd.db.store import open_database
from hostd.devices import registry
from protocol.credentials import mqtt_password


class Hall:
    pass


@pytest.fixture
def hall(tmp_path):
    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    keys = {d: registry.add_device(db, d, d, "h1") for d in ("d1", "d2")}
    broker.sync_files(home, db)
    sup = mosquitto.Supervisor(home, home.config(), mosquitto_binary()).start()
    clients = []
    h = Hall()
    h.home, h.db, h.keys, h.sup, h.port = home, db, keys, sup, sup.port

    def connect(user, password=None, port=None, **kw):
        """A client on the device listener, or for `hostd` on hostd's own."""
        if password is None:
            password = home.host_password() if user == "hostd" else mqtt_password(h.keys[user])
        if port is None:
            port = h.sup.host_port if user == "hostd" else h.port
        c = Client(port, user, password, **kw)
        clients.append(c)
        return c

    h.connect = connect
    h.log = lambda: (home.broker / "mosquitto.log").read_text()
    yield h
    for c in clients:
        c.close()
    sup.stop()
    db.conn.close()
