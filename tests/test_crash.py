"""Crash: `hostd run` SIGKILLed mid-stream, again and again, and restarted on
the same home. Its Mosquitto dies with it (the broker is supervised), so the
devices lose the broker too and must resend.

The devices are CPython SigningDevices on the real broker. Each streams its
ratings with up to WINDOW unacked at a time and, like the firmware outbox,
keeps every rating until the host's signed ack comes, resending the same
bytes while it waits. After each kill, before the restart, every rating whose
ack any device holds must already be a row (an ack means committed). At the
end: every rating sent is a row exactly once, and nothing was rejected.
"""

import random
import time

import pytest
from hostd_helpers import HostdProcess, db_rows
from hostd_support import hostd, make_home
from streaming import Streamer

from conftest import mosquitto_binary
from hostd.db.store import open_database
from hostd.devices import registry

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")

SIGKILL = 9


def _stored(home):
    return set(db_rows(home, "SELECT device_id, seq FROM ratings"))


def _crash_run(tmp_path, devices, per_device, kills, seed, budget_s):
    rng = random.Random(seed)
    t0 = time.monotonic()
    home = make_home(tmp_path / "home")
    names = ["c%02d" % i for i in range(devices)]
    for i, name in enumerate(names):
        assert hostd(home, "device", "add", name, "--window", str(i + 1)).exit_code == 0
    db = open_database(home.db_path)
    keys = {name: registry.device_key(db, name) for name in names}
    db.conn.close()
    port = home.config()["broker"]["port"]
    hall = home.config()["hall"]["id"]
    total = devices * per_device
    daemon = HostdProcess(home)
    starts = [daemon.start_s]
    streamers = [Streamer(port, hall, name, key, per_device) for name, key in keys.items()]
    for s in streamers:
        s.start()
    # Kill when the acked count passes random points of the stream, so each
    # kill lands mid-stream however fast this machine is.
    marks = sorted(rng.uniform(0.05, 0.95) * total for _ in range(kills))
    killed_at = []
    try:
        for mark in marks:
            deadline = time.monotonic() + budget_s
            while sum(len(s.acked()) for s in streamers) < mark:
                assert time.monotonic() < deadline, "stream stalled:\n" + daemon.text()[-3000:]
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
            assert daemon.stop(SIGKILL) == -SIGKILL
            acked = {(s.device_id, seq) for s in streamers for seq in s.acked()}
            stored = _stored(home)
            lost = acked - stored
            assert not lost, "acked but not stored after kill %d: %s" % (
                len(killed_at) + 1,
                sorted(lost)[:10],
            )
            killed_at.append((len(acked), len(stored)))
            daemon = HostdProcess(home)
            starts.append(daemon.start_s)
        for s in streamers:
            assert s.done.wait(budget_s), "%s: %d of %d acked\n%s" % (
                s.device_id,
                len(s.acked()),
                s.total,
                daemon.text()[-3000:],
            )
        elapsed = time.monotonic() - t0
        assert daemon.stop() == 0
    finally:
        for s in streamers:
            s.close()
        daemon.stop(SIGKILL)

    sent = {(s.device_id, seq) for s in streamers for seq in s.sent}
    assert len(sent) == total
    assert all(s.acked() == s.sent for s in streamers)
    assert all(s.dev.bad_acks == [] for s in streamers)
    count, distinct = db_rows(home, "SELECT COUNT(*), COUNT(DISTINCT device_id || '/' || seq) FROM ratings")[
        0
    ]
    assert (count, distinct) == (total, total)  # 0 duplicated
    assert _stored(home) == sent  # 0 lost
    bad_levels = db_rows(home, "SELECT COUNT(*) FROM ratings WHERE level != seq % 5 + 1")
    assert bad_levels == [(0,)]
    assert db_rows(home, "SELECT reason, SUM(count) FROM rejections GROUP BY reason") == []
    resends = sum(s.resends for s in streamers)
    assert resends > 0  # the kills left ratings unacked: resends (duplicates) were tested
    print(
        "crash: %d devices x %d ratings, %d SIGKILLs at (acked, stored) %s; %d resends;"
        " hostd starts %s s; %.1f s"
        % (devices, per_device, kills, killed_at, resends, ["%.1f" % x for x in starts], elapsed)
    )
    return elapsed


def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path):
    _crash_run(tmp_path, devices=10, per_device=300, kills=3, seed=20260705, budget_s=40)


@pytest.mark.slow
def test_twenty_sigkills_fifty_thousand_ratings(tmp_path):
    _crash_run(tmp_path, devices=20, per_device=2500, kills=20, seed=7, budget_s=300)
