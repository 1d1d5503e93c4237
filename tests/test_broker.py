"""hostd's own broker: generated files, the real Mosquitto enforcing them, live
reload, supervision, TLS, and the amqtt fallback."""

import shutil
import subprocess
import time

import pytest
from broker_hall import hall  # noqa: F401 (fixture)
from hostd_support import Client, make_home, raw_connect

from conftest import mosquitto_binary
from hostd.base.errors import BadBrokerUrl, PortInUse
from hostd.broker import files as broker
from hostd.broker import mosquitto, passwords
from hostd.broker.fallback_broker import EmbeddedBroker, filter_within, parse_acl
from hostd.db.store import open_database
from hostd.devices import registry
from protocol.credentials import mqtt_password

# -- passwords ------------------------------------------------------------


def test_password_hash_round_trip():
    hashed = passwords.hash_password("s3cret")
    assert hashed.startswith("$7$101$")
    assert passwords.verify("s3cret", hashed)
    assert not passwords.verify("s3cret!", hashed)
    assert not passwords.verify("s3cret", "$6$abc$def")
    assert passwords.hash_password("a") != passwords.hash_password("a")  # salted


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="no mosquitto_passwd")
def test_we_read_mosquitto_passwd_hashes(tmp_path):
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "alice", "pa:ss"], check=True)
    users = passwords.parse(path.read_text())
    assert passwords.verify("pa:ss", users["alice"])
    assert not passwords.verify("pass", users["alice"])


def test_render_refuses_bad_user_names():
    with pytest.raises(ValueError):
        passwords.render({"a:b": "x"})


# -- generated files ------------------------------------------------------


def test_config_has_auth_and_hardening(tmp_path):
    home = make_home(tmp_path / "home")
    text = broker.render_config(home, home.config())
    lines = text.splitlines()
    device, host = (
        lines.index("listener %d 127.0.0.1" % home.config()["broker"]["port"]),
        lines.index("listener %d 127.0.0.1" % broker.host_port(home, home.config())),
    )
    assert lines[device:host].count("password_file %s" % (home.broker / "passwd")) == 1
    assert lines[host:].count("password_file %s" % (home.broker / "passwd-host")) == 1
    assert "use_username_as_clientid true" in lines[device:host]
    assert "max_queued_messages 1000" in lines  # a small hall; a city's gets room for each device:
    assert "max_queued_messages 50000" in broker.render_config(home, home.config(), devices=5000).splitlines()
    for line in (
        "allow_anonymous false",
        "per_listener_settings true",
        "acl_file %s" % (home.broker / "acl"),
        "persistence true",
        "max_packet_size 20000",
        "max_inflight_messages 20",
        "max_queued_messages 1000",
        "allow_zero_length_clientid false",
        "listener %d 127.0.0.1" % home.config()["broker"]["port"],
    ):
        assert line in text.splitlines(), line
    assert "certfile" not in text


def test_acl_per_device():
    text = broker.render_acl([("d1", "h1")])
    assert (
        "user d1\ntopic write hcp/v1/h1/d1/rating\ntopic write hcp/v1/h1/d1/status\n"
        "topic read hcp/v1/h1/d1/session\ntopic read hcp/v1/h1/d1/ack\n" in text
    )
    assert (
        "user hostd\ntopic readwrite hcp/v1/+/+/rating\ntopic readwrite hcp/v1/+/+/status\n"
        "topic write hcp/v1/+/+/ack\ntopic write hcp/v1/+/+/session\n" in text
    )


def test_sync_files_skips_revoked_and_uses_new_key(tmp_path):
    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    registry.add_device(db, "d1", "1", "h1")
    registry.add_device(db, "d2", "2", "h1")
    new_key = registry.rotate_key(db, "d1", 3600)
    registry.revoke_device(db, "d2")
    assert broker.sync_files(home, db) == 1
    users = passwords.parse((home.broker / "passwd").read_text())
    assert set(users) == {"d1"}  # the device listeners: devices only
    assert passwords.verify(mqtt_password(new_key), users["d1"])
    host = passwords.parse((home.broker / "passwd-host").read_text())
    assert set(host) == {"hostd"} and passwords.verify(home.host_password(), host["hostd"])
    assert "user d2" not in (home.broker / "acl").read_text()
    assert oct((home.broker / "passwd").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("mqtt://127.0.0.1:1884", ("mqtt", "127.0.0.1", 1884, None)),
        ("mqtts://broker.example:8883", ("mqtts", "broker.example", 8883, None)),
        ("mqtt://u:p%40ss@host", ("mqtt", "host", 1883, "u")),
    ],
)
def test_parse_url(url, expected):
    parsed = broker.parse_url(url)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.username) == expected


@pytest.mark.parametrize("url", ["http://h:1", "mqtt://", "mqtt://h:99999", "mqtt://h:1/x", "h:1"])
def test_parse_url_refuses(url):
    with pytest.raises(BadBrokerUrl):
        broker.parse_url(url)


def test_port_in_use_is_reported(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(PortInUse, match="is another program using it"):
            broker.check_port_free("127.0.0.1", s.getsockname()[1], "MQTT broker")


def test_acl_parser_and_filters():
    rules = parse_acl(broker.render_acl([("d1", "h1")]))
    assert rules["d1"]["write"] == ["hcp/v1/h1/d1/rating", "hcp/v1/h1/d1/status"]
    assert filter_within("hcp/v1/h1/d1/ack", "hcp/v1/h1/d1/ack")
    assert filter_within("hcp/v1/+/+/rating", "hcp/v1/+/+/rating")
    assert filter_within("hcp/v1/h1/+/rating", "hcp/v1/+/+/rating")
    assert not filter_within("hcp/v1/#", "hcp/v1/+/+/rating")
    assert not filter_within("hcp/v1/+/+/+", "hcp/v1/+/+/rating")
    assert not filter_within("hcp/v1/h1/d1", "hcp/v1/+/+/rating")


# -- the real Mosquitto ---------------------------------------------------

needs_mosquitto = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")


@needs_mosquitto
def test_acl_own_topic_only(hall):
    host = hall.connect("hostd")
    assert host.accepted
    host.subscribe("hcp/v1/+/+/rating")
    d1 = hall.connect("d1")
    assert d1.accepted
    d1.publish("hcp/v1/h1/d2/rating", b"forged")  # another device's topic
    d1.publish("hcp/v1/h1/d1/rating", b"mine")
    assert host.expect() == ("hcp/v1/h1/d1/rating", b"mine")
    assert host.expect(timeout=0.5) is None  # the forged one never arrived


@needs_mosquitto
def test_device_reads_only_its_own_ack(hall):
    d1, d2, host = hall.connect("d1"), hall.connect("d2"), hall.connect("hostd")
    d1.subscribe("hcp/v1/h1/d1/ack")
    d1.subscribe("hcp/v1/h1/d2/ack")  # mosquitto grants the SUBACK but delivers nothing
    d2.publish("hcp/v1/h1/d2/ack", b"spoof")  # a device may not write acks
    host.publish("hcp/v1/h1/d2/ack", b"for d2")
    host.publish("hcp/v1/h1/d1/ack", b"for d1")
    assert d1.expect() == ("hcp/v1/h1/d1/ack", b"for d1")
    assert d1.expect(timeout=0.5) is None


@needs_mosquitto
def test_wrong_password_refused(hall):
    assert not hall.connect("d1", "not-the-password").accepted
    assert not hall.connect("nobody", "x").accepted
    assert not hall.connect("hostd", "x").accepted


@needs_mosquitto
def test_each_listener_takes_only_its_own_logins(hall):
    """Finding 5 of issue 17: a device's login (readable from its flash) could
    log in on hostd's own listener as hostd's client id and knock the
    collector off; and hostd's login worked on the device listener."""
    assert not hall.connect("d1", port=hall.sup.host_port, client_id="hostd-h1").accepted
    assert not hall.connect("hostd", port=hall.port).accepted
    first = hall.connect("hostd", client_id="hostd-h1-a")
    second = hall.connect("hostd", client_id="hostd-h1-b")  # collector.shared_group: distinct ids kept
    assert first.accepted and second.accepted
    assert not first.disconnected.wait(0.5) and not second.disconnected.is_set()


@needs_mosquitto
def test_host_shared_subscription(hall):
    import paho.mqtt.client as mqtt

    host = hall.connect("hostd", protocol=mqtt.MQTTv5)
    host.subscribe("$share/hostd/hcp/v1/+/+/status")
    hall.connect("d2").publish("hcp/v1/h1/d2/status", b"up")
    assert host.expect() == ("hcp/v1/h1/d2/status", b"up")


@needs_mosquitto
def test_client_ids(hall):
    """What Mosquitto 2 does with odd client ids (with our config):
    '#' and '+' are accepted and harmless (client ids appear in no topic or
    ACL pattern); an empty id is refused (2, identifier rejected); a 64 KB id
    exceeds max_packet_size and the connection is closed."""
    password = mqtt_password(hall.keys["d1"])
    assert raw_connect(hall.port, b"#", "d1", password) == "accepted"
    assert raw_connect(hall.port, b"+", "d1", password) == "accepted"
    assert raw_connect(hall.port, b"", "d1", password) == "refused 2"
    assert raw_connect(hall.port, b"x" * 65535, "d1", password) == "closed"
    host = hall.connect("hostd")  # still serving, and '#' as an id subscribed to nothing
    host.subscribe("hcp/v1/+/+/rating")
    hall.connect("d1", client_id="#").publish("hcp/v1/h1/d1/rating", b"ok")
    assert host.expect() == ("hcp/v1/h1/d1/rating", b"ok")


@needs_mosquitto
def test_add_and_revoke_are_live(hall):
    d1 = hall.connect("d1")
    assert d1.accepted
    pid = hall.sup.proc.pid
    registry.revoke_device(hall.db, "d1")
    key3 = registry.add_device(hall.db, "d3", "3", "h1")
    assert broker.apply_registry(hall.home, hall.db) == (2, True)
    assert d1.disconnected.wait(5), "a revoked device stays connected"
    assert not hall.connect("d1").accepted
    assert hall.connect("d3", mqtt_password(key3)).accepted
    assert hall.sup.proc.pid == pid  # reloaded, not restarted


@needs_mosquitto
def test_supervisor_restarts_a_dead_broker(hall):
    old = hall.sup.proc
    old.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (hall.sup.proc is old or hall.sup.restarts == 0):
        time.sleep(0.05)
    assert hall.sup.restarts == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if hall.connect("d2").accepted:
            break
        time.sleep(0.2)
    else:
        pytest.fail("broker did not come back")
    assert broker.running_pid(hall.home) == hall.sup.proc.pid


def _make_ca(tmp):
    run = lambda *a: subprocess.run(["openssl", *a], cwd=tmp, check=True, capture_output=True)
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=hall CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (tmp / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext",
        "-out",
        "server.crt",
    )


@needs_mosquitto
@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI to make a test CA")
def test_tls_listener(tmp_path):
    from conftest import free_port

    _make_ca(tmp_path)
    home = make_home(tmp_path / "home")
    tls_port = free_port()
    for key, value in (
        ("tls_cert", str(tmp_path / "server.crt")),
        ("tls_key", str(tmp_path / "server.key")),
        ("tls_ca", str(tmp_path / "ca.crt")),
        ("tls_port", tls_port),
    ):
        home.set("broker", key, value)
    db = open_database(home.db_path)
    key = registry.add_device(db, "d1", "1", "h1")
    broker.sync_files(home, db)
    sup = mosquitto.Supervisor(home, home.config(), mosquitto_binary()).start()
    try:
        tls = Client(tls_port, "d1", mqtt_password(key), tls_ca=str(tmp_path / "ca.crt"))
        assert tls.accepted
        tls.close()
        wrong = Client(tls_port, "d1", "wrong", tls_ca=str(tmp_path / "ca.crt"))
        assert not wrong.accepted
        wrong.close()
    finally:
        sup.stop()


# -- the amqtt fallback ---------------------------------------------------


def test_missing_binary_means_fallback(monkeypatch):
    monkeypatch.setenv(mosquitto.BINARY_ENV, "/nonexistent/mosquitto")
    assert mosquitto.find_binary() is None


def test_embedded_broker_enforces_the_same_files(tmp_path):
    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    keys = {d: registry.add_device(db, d, d, "h1") for d in ("d1", "d2")}
    broker.sync_files(home, db)
    embedded = EmbeddedBroker(home, home.config()).start()
    port = home.config()["broker"]["port"]
    clients = []
    try:

        def connect(user, password):
            clients.append(Client(port, user, password))
            return clients[-1]

        host = connect("hostd", home.host_password())
        assert host.accepted
        host.subscribe("hcp/v1/+/+/rating")
        assert not connect("d1", "wrong").accepted
        d1 = connect("d1", mqtt_password(keys["d1"]))
        assert d1.accepted
        d1.publish("hcp/v1/h1/d2/rating", b"forged")
        d1.publish("hcp/v1/h1/d1/rating", b"mine")
        assert host.expect() == ("hcp/v1/h1/d1/rating", b"mine")
        assert host.expect(timeout=0.5) is None
        registry.revoke_device(db, "d1")
        broker.sync_files(home, db)  # no signal needed: the plugins reread the files
        d1.publish("hcp/v1/h1/d1/rating", b"after revoke")
        assert host.expect(timeout=0.5) is None
        assert not connect("d1", mqtt_password(keys["d1"])).accepted
    finally:
        for c in clients:
            c.close()
        embedded.stop()
        db.conn.close()


def test_the_broker_gets_an_open_file_per_device_or_a_warning(monkeypatch, caplog):
    import resource

    from hostd.broker import mosquitto

    limits = {"now": (1024, 4096)}
    monkeypatch.setattr(resource, "getrlimit", lambda _what: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _what, value: limits.update(now=value))
    assert mosquitto.open_files(100) == 4096 and limits["now"] == (4096, 4096)  # raised to the hard limit
    assert "LimitNOFILE" not in caplog.text
    assert mosquitto.open_files(10000) == 4096
    assert "10000 devices need about 10256 open files" in caplog.text and "LimitNOFILE=65536" in caplog.text
