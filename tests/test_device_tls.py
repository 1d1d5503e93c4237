"""The device's MQTT over TLS, end to end: `hostd run` with the TLS listener
that hostd/broker/files.py writes into its Mosquitto config (broker.tls_port,
tls_cert, tls_key), a CA and server certificate made here with the openssl
CLI, and the real firmware on the simulator with the CA as ca.pem on its
flash and the config hostd/devices/provision.py writes for `--tls-ca`.

- The right CA: the device connects over TLS, a press on a pushed session
  becomes a committed row, hostd acks it and the device drops it from its
  outbox.
- Another CA: the device must not connect (no heartbeat reaches hostd), says
  why in one log line, and keeps the rating in its outbox; given the right
  CA, it delivers that rating.
- The right CA, but the server's certificate is for another name than the
  one the device dials: refused too, so a hall certificate stolen from one
  machine cannot stand in for the broker.
"""

import shutil
import socket
import subprocess
import time

import pytest
from hostd_helpers import HostdProcess, HostPush, db_rows, wait_for
from hostd_support import hostd, make_home

from conftest import free_port, mosquitto_binary
from hostd.db.store import open_database
from hostd.devices import provision
from protocol import messages
from simulator.device import SimDevice

pytestmark = [
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI to make a test CA"),
]

GOOD, BAD, NAMED = "w08-tls", "w09-badca", "w10-name"
WINDOW = "08"
CA_FILE = provision.CA_FILE  # ca.pem: where the device's config points
SETTINGS = {"heartbeat_s": 5, "response_interval_ms": 300, "thanks_ms": 200}


def _openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory, name):
    """A CA (name.crt) in `directory`; returns the path of its certificate."""
    _openssl(
        directory,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=%s" % name,
        "-keyout",
        name + ".key",
        "-out",
        name + ".crt",
    )
    return directory / (name + ".crt")


def make_server_cert(directory, ca):
    """server.crt for 127.0.0.1 signed by the CA `ca` (made by make_ca)."""
    _openssl(
        directory,
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        directory,
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        ca + ".crt",
        "-CAkey",
        ca + ".key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    )
    return directory / "server.crt", directory / "server.key"


class TlsHall:
    """A hostd home whose Mosquitto has a TLS listener for devices, and its CAs."""

    def __init__(self, path):
        certs = path / "certs"
        certs.mkdir()
        self.ca = make_ca(certs, "hall-ca")
        self.other_ca = make_ca(certs, "other-ca")  # not the one that signed the server
        cert, key = make_server_cert(certs, "hall-ca")
        self.home = make_home(path / "home")
        self.tls_port = free_port()
        for name, value in (
            ("tls_cert", str(cert)),
            ("tls_key", str(key)),
            ("tls_ca", str(self.ca)),
            ("tls_port", self.tls_port),
        ):
            self.home.set("broker", name, value)
        self.keys = {}
        for device in (GOOD, BAD, NAMED):
            assert hostd(self.home, "device", "add", device, "--window", WINDOW).exit_code == 0
        self.daemon = HostdProcess(self.home)
        self.push = HostPush(self.home)
        self.devices = []

    def device(self, path, device_id, ca, **overrides):
        """A simulated 评价器 with the config `hostd device provision --tls-ca`
        writes (the TLS port, tls_ca = ca.pem) and `overrides`, and `ca` as
        its ca.pem."""
        db = open_database(self.home.db_path)
        try:
            config = provision.device_config(self.home, db, device_id, tls_ca=True)
        finally:
            db.close()
        assert (config["broker_port"], config["tls_ca"]) == (self.tls_port, CA_FILE), config
        self.keys[device_id] = bytes.fromhex(config["key"])
        sim = SimDevice(path, device_id)
        sim.write_config(dict(config, **SETTINGS, **overrides))
        put_ca(sim, ca)
        self.devices.append(sim)
        return sim

    def online(self, device_id):
        rows = db_rows(self.home, "SELECT online FROM fleet WHERE device_id = ?", (device_id,))
        return bool(rows and rows[0][0] == 1)

    def ratings(self, device_id):
        return db_rows(
            self.home,
            "SELECT seq, level, session_id FROM ratings WHERE device_id = ? ORDER BY seq",
            (device_id,),
        )

    def wait_drained(self, device_id, sim):
        """hostd acks after its commit and the device drops the rating: wait for
        a heartbeat sent after now that reports an empty outbox."""
        now = int(time.time())
        try:
            wait_for(
                lambda: (
                    db_rows(
                        self.home,
                        "SELECT outbox_depth FROM fleet WHERE device_id = ? AND last_seen > ?",
                        (device_id, now),
                    )
                    == [(0,)]
                ),
                20,
                0.1,
            )
        except TimeoutError:
            pytest.fail("the outbox did not drain:\n%s" % sim.log_text()[-3000:])

    def close(self):
        for sim in self.devices:
            sim.stop()
        self.push.close()
        self.daemon.stop()


def put_ca(sim, ca):
    """Write the CA certificate `ca` (a path) to the device's flash as ca.pem."""
    sim.run_on_flash("f = open(%r, 'w')\nf.write(%r)\nf.close()\n" % (CA_FILE, ca.read_text()))


def seed_rating(sim, device_id, key, level=2):
    """Put one signed rating in the device's flash outbox, as a press made while
    it was offline leaves it (firmware/evaluator.py _record)."""
    fields = [
        messages.VERSION,
        messages.RATING,
        device_id,
        0,
        None,
        level,
        [1],
        1,
        "s1",
        int(time.time()),
        True,
    ]
    sim.run_on_flash(
        "from firmware.outbox import Outbox\nfrom protocol import messages\nimport binascii\n"
        "key = binascii.unhexlify(%r)\nfields = %r\n"
        "def make_wire(seq):\n    fields[3] = seq\n    return messages.sign(key, fields)\n"
        "o = Outbox('outbox')\no.append(make_wire)\no.close()\n" % (key.hex(), fields)
    )


@pytest.fixture(scope="module")
def tls_hall(tmp_path_factory):
    hall = TlsHall(tmp_path_factory.mktemp("tls"))
    yield hall
    hall.close()


def test_a_press_over_tls_is_committed_acked_and_dropped(tls_hall, tmp_path):
    h = tls_hall
    sim = h.device(tmp_path / "flash", GOOD, h.ca)
    sim.start()
    try:
        wait_for(lambda: h.online(GOOD), 30, 0.1)
    except TimeoutError:
        pytest.fail("the device never came online over TLS:\n%s" % sim.log_text()[-3000:])
    assert "link: connected to 127.0.0.1:%d" % h.tls_port in sim.log_text()
    h.push.session(h.keys[GOOD], GOOD, "sess-tls-1", staff_id="s1")
    for _ in range(10):  # a press before the session arrived does nothing
        sim.press(1)
        try:
            wait_for(lambda: h.ratings(GOOD), 1.0, 0.05)
            break
        except TimeoutError:
            pass
    assert h.ratings(GOOD) == [(1, 5, "sess-tls-1")], sim.log_text()[-3000:]
    h.wait_drained(GOOD, sim)
    sim.stop()
    assert sim.outbox_state() == {"depth": 0, "next_seq": 2}
    assert "Error" not in sim.log_text(), sim.log_text()[-3000:]


def test_a_device_with_another_ca_does_not_connect_and_keeps_its_rating(tls_hall, tmp_path):
    h = tls_hall
    sim = h.device(tmp_path / "flash", BAD, h.other_ca)
    seed_rating(sim, BAD, h.keys[BAD])
    sim.start()
    assert sim.wait_log("link: cannot connect to 127.0.0.1:%d" % h.tls_port, 30), sim.log_text()[-3000:]
    time.sleep(2.0)  # a retry or two (backoff from 0.5 s): still nothing gets through
    assert sim.running()
    log = sim.log_text()
    lines = [line for line in log.splitlines() if "cannot connect" in line]
    # One line per attempt, and it says why: mbedTLS's verification message.
    assert len(lines) >= 2 and "not correctly signed by the trusted CA" in lines[0], log
    assert "Traceback" not in log and "link: connected" not in log, log
    assert not h.online(BAD) and h.ratings(BAD) == []
    sim.stop()
    assert sim.outbox_state() == {"depth": 1, "next_seq": 2}

    put_ca(sim, h.ca)  # re-provisioned with the hall's CA: the kept rating goes out
    sim.start()
    try:
        wait_for(lambda: h.ratings(BAD) == [(1, 2, None)], 30, 0.1)
    except TimeoutError:
        pytest.fail("the kept rating was not delivered:\n%s" % sim.log_text()[-3000:])
    h.wait_drained(BAD, sim)
    sim.stop()
    assert sim.outbox_state() == {"depth": 0, "next_seq": 2}


def test_a_server_certificate_for_another_name_is_refused(tls_hall, tmp_path):
    """The hall CA signed the server's certificate for 127.0.0.1; a device
    that dials the same listener as "localhost" must refuse it: the name it
    asked for is not in the certificate (MicroPython passes server_hostname
    to mbedTLS, which checks it only when verification is required)."""
    h = tls_hall
    first = socket.getaddrinfo("localhost", h.tls_port, type=socket.SOCK_STREAM)[0][4][0]
    if first != "127.0.0.1":
        pytest.skip("localhost resolves to %s first here, not to the listener's 127.0.0.1" % first)
    sim = h.device(tmp_path / "flash", NAMED, h.ca, broker_host="localhost")
    sim.start()
    assert sim.wait_log("link: cannot connect to localhost:%d" % h.tls_port, 30), sim.log_text()[-3000:]
    time.sleep(1.0)  # a retry: still refused
    log = sim.log_text()
    lines = [line for line in log.splitlines() if "cannot connect" in line]
    assert lines and "does not match with the expected CN" in lines[0], log
    assert "link: connected" not in log and "Traceback" not in log, log
    assert not h.online(NAMED)
    sim.stop()
