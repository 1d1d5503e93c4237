"""Chaos: the host's disk fills up while devices rate, then space is freed.

hostd.db lives on a small tmpfs (tests/chaos/diskfull.py; as root), and
the disk is filled to the last byte mid-stream. Expected: SQLite's commits
fail (SQLITE_FULL), so the collector stops acking -- no ack arrives for a
while and the devices' outboxes grow -- and every ack ever sent still names
a committed row; the database passes PRAGMA integrity_check while full and
after. Once the filler is deleted, everything the devices hold arrives:
0 lost, 0 duplicated, checked against their logs.
"""

import time

import pytest
from chaos.diskfull import PageCap, SmallDisk, can_mount
from chaos.fleet import OutboxDevice, check_against_logs
from chaos.host import HALL, Host


def _run(tmp_path, mosquitto, devices, rate, full_s):
    names = ["f%02d" % i for i in range(devices)]
    disk = SmallDisk(tmp_path / "disk", size_mb=16) if can_mount() else None
    db_path = (tmp_path / "disk" if disk else tmp_path) / "hostd.db"
    host = Host(db_path, mosquitto.port, names)
    host.start()
    filler = disk or PageCap(host.store)
    per_device = int(rate * (full_s + 12))
    fleet = [
        OutboxDevice(
            mosquitto.port, HALL, n, host.keys[n], per_device, window=50, resend_s=1.0, rate=rate
        ).start()
        for n in names
    ]
    acked = lambda: sum(d.acked_count() for d in fleet)
    try:
        deadline = time.monotonic() + 20
        while acked() < devices * rate * 2:  # two seconds of normal traffic
            assert time.monotonic() < deadline, "no traffic before the disk filled"
            time.sleep(0.05)
        filled = filler.fill()
        time.sleep(2)  # batches already committed may still be acked
        before = acked()
        time.sleep(full_s)
        during = acked()
        pending = sum(d.pending() for d in fleet)
        state = check_against_logs(db_path, fleet)
        assert during == before, "acks went on with the disk full: %d -> %d" % (before, during)
        assert pending >= devices * 5, pending  # the devices kept their outboxes
        assert state["lost"] == [] and state["integrity"] == "ok", state
        failures = host.collector.counters.get("internal_error", 0)
        filler.free()
        freed_at = time.monotonic()
        for d in fleet:
            assert d.done.wait(60 + full_s * 4), "%s: %d of %d acked after space was freed" % (
                d.device,
                len(d.acked()),
                d.total,
            )
        drain_s = time.monotonic() - freed_at
    finally:
        for d in fleet:
            d.close()
        try:
            host.close()
            state = check_against_logs(db_path, fleet)  # before the tmpfs goes
        finally:
            if disk:
                disk.close()  # never leave a tmpfs mounted, pass or fail
    assert state["lost"] == [] and state["missing"] == [] and state["altered"] == []
    assert state["duplicated"] == 0 and state["rows"] == devices * per_device
    assert state["integrity"] == "ok"
    assert failures > 0  # the full disk was seen, as failed store writes
    print(
        "disk full (%s): %d devices at %d/s; %d bytes written to fill it (tmpfs) or the database held at that size; acks stopped for %d s at %d"  # noqa: E501
        " acked, %d pending on the devices, %d failed writes counted; after freeing: all %d"
        " arrived in %.1f s, 0 lost, 0 duplicated, integrity ok"
        % (
            "tmpfs" if disk else "max_page_count",
            devices,
            rate,
            filled,
            full_s,
            during,
            pending,
            failures,
            state["rows"],
            drain_s,
        )
    )


def test_disk_full_then_freed(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=5, rate=20, full_s=4)


@pytest.mark.slow
def test_disk_full_for_a_minute(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=20, rate=10, full_s=60)
