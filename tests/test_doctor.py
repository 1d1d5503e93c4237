"""`hostd doctor` (issue 24) on a healthy home and on a broken one: a real
running hostd, a real NTP exchange with a stand-in server on loopback
(nothing outside this machine answers here), real files."""

import json
import shutil
import socket
import struct
import threading
import time

from hostd_helpers import HostdProcess, wait_for
from hostd_support import hostd, make_home

NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


class NtpServer:
    """Answers NTP v3 client requests with this host's time plus `offset` seconds."""

    def __init__(self, offset=0.0):
        self.offset = offset
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _stamp(t):
        return int(t + NTP_EPOCH), int((t % 1) * 2**32)

    def _serve(self):
        while not self.stop.is_set():
            try:
                request, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:  # closed by the test's teardown while waiting
                return
            now = time.time() + self.offset
            origin = struct.unpack("!II", request[40:48])  # the client's transmit time, echoed
            answer = struct.pack(
                "!BBbbII4sIIIIIIII",
                (0 << 6) | (3 << 3) | 4,  # no leap warning, version 3, server
                2,  # stratum
                4,
                -20,
                0,
                0,
                b"LOCL",
                *self._stamp(now),  # reference
                *origin,
                *self._stamp(now),  # received
                *self._stamp(now),  # transmitted
            )
            self.sock.sendto(answer, peer)

    def close(self):
        self.stop.set()
        self.sock.close()


def doctor(home, *args):
    result = hostd(home, "doctor", *args)
    return result.exit_code, result.output


def statuses(output):
    out = {}
    for line in output.splitlines()[:-1]:
        status, check, _detail = line.split(None, 2)
        out[check] = status
    return out


def setup_home(tmp_path, ntp):
    home = make_home(tmp_path / "home")
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('[2027]\nholidays = ["2027-01-01"]\nworkdays = []\n')
    for section, key, value in (
        ("rating", "holiday_file", str(holidays)),
        ("doctor", "ntp_server", "127.0.0.1:%d" % ntp.port),
        ("backup", "replica", str(tmp_path / "replica")),
    ):
        home.set(section, key, value)
    assert hostd(home, "device", "add", "w01-a", "--window", "01").exit_code == 0
    return home


def test_a_healthy_home(tmp_path):
    ntp = NtpServer(offset=0.3)
    home = setup_home(tmp_path, ntp)
    daemon = HostdProcess(home)
    try:
        assert hostd(home, "backup", "now", "--out", str(home.path / "hostd-backup.db")).exit_code == 0
        wait_for(lambda: "ok   replica" in doctor(home)[1], timeout=60, interval=0.5)  # its first snapshot
        code, output = doctor(home)
        print(output)  # the note quotes it
        got = statuses(output)
        assert code == 0 and output.strip().endswith("all is well"), output
        for check in ("config", "database", "disk", "broker", "clock", "calendar", "backup", "replica"):
            assert got[check] == "ok", (check, output)
        assert got["certificates"] == "skip" and got["upstream"] == "skip"
        assert "within 0.3" in output or "within 0.2" in output or "within 0.4" in output
    finally:
        daemon.stop()
        ntp.close()


def test_a_broken_home_says_what_to_do(tmp_path):
    ntp = NtpServer(offset=120.0)  # this host's clock two minutes behind
    home = setup_home(tmp_path, ntp)
    home.set("alerts", "disk_free_pct", 99)
    daemon = HostdProcess(home)
    try:
        (home.broker / "acl").write_text("# edited by hand\n")
        daemon.wait_for("continuous backup of")
        shutil.rmtree(tmp_path / "replica")  # the backup disk is gone; a file stands in its way
        (tmp_path / "replica").write_text("not a replica")
        code, output = doctor(home)
        print(output)  # the note quotes it
        got = statuses(output)
        assert code == 1 and "check(s) need action" in output.splitlines()[-1]
        assert (got["clock"], got["disk"], got["broker"], got["replica"]) == ("fix",) * 4, output
        assert "-120" in output and "timedatectl set-ntp true" in output
        assert "kill -HUP" in output and "alerts.disk_free_pct 99%" in output
        code, text = doctor(home, "--json")
        report = json.loads(text)
        assert code == 1 and report["ok"] is False
        assert {c["check"]: c["status"] for c in report["checks"]} == got
    finally:
        daemon.stop()
        ntp.close()
    stopped = statuses(doctor(home)[1])
    assert stopped["broker"] == "fix"  # hostd is not running


def _certificate(path, days):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hall-broker")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_a_certificate_about_to_expire_needs_action(tmp_path):
    from hostd.service import doctor as checks

    soon = checks.check_certificates({"broker": {"tls_cert": _certificate(tmp_path / "soon.pem", 10)}})
    later = checks.check_certificates({"broker": {"tls_cert": _certificate(tmp_path / "later.pem", 400)}})
    assert soon["status"] == "fix" and "renew it" in soon["detail"]
    assert later["status"] == "ok" and "valid for" in later["detail"]
    broken = checks.check_certificates({"broker": {"tls_cert": str(tmp_path / "missing.pem")}})
    assert broken["status"] == "fix" and "cannot read" in broken["detail"]
