"""The device registry on real SQLite: add, list, revoke, rotate, key cache."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hostd_helpers import rating_fields

from hostd.db.store import Store, open_database
from hostd.devices import registry
from hostd.devices.registry import (
    BadDeviceId,
    BadHallId,
    DeviceExists,
    DeviceRevoked,
    KeyCache,
    UnknownDevice,
)
from protocol import messages
from protocol.errors import BadSignature


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hostd.db")
    yield s
    s.close()


@pytest.fixture(params=["store", "database"])
def db(request, tmp_path):
    """The registry works on a running Store and on a plain Database (the CLI)."""
    if request.param == "store":
        s = Store(tmp_path / "hostd.db")
        yield s
        s.close()
    else:
        d = open_database(tmp_path / "hostd.db")
        yield d
        d.conn.close()


def verifies(key_list, key_used, device="w01-a"):
    wire = messages.sign(key_used, rating_fields(device, 1))
    try:
        messages.decode(wire, key_list, device)
        return True
    except BadSignature:
        return False


def test_add_list_get(db):
    key = registry.add_device(db, "w01-a", "A03", "hall-1")
    assert isinstance(key, bytes) and len(key) == 32
    other = registry.add_device(db, "w02-b", "A04", "hall-1")
    assert other != key
    listed = registry.list_devices(db)
    assert [d["device_id"] for d in listed] == ["w01-a", "w02-b"]
    assert all("key_hex" not in d and "previous_key_hex" not in d for d in listed)
    got = registry.get_device(db, "w01-a")
    assert (got["window"], got["hall"], got["revoked"]) == ("A03", "hall-1", False)
    assert registry.keys_for(db, "w01-a") == [key]
    assert registry.device_key(db, "w01-a") == key


def test_add_refuses_bad_input_with_one_class_each(db):
    registry.add_device(db, "w01-a", "A03", "hall-1")
    with pytest.raises(DeviceExists, match="already exists"):
        registry.add_device(db, "w01-a", "A09", "hall-1")
    with pytest.raises(BadDeviceId, match="letters, digits"):
        registry.add_device(db, "bad/id", "A03", "hall-1")
    with pytest.raises(BadDeviceId):
        registry.add_device(db, "x" * 33, "A03", "hall-1")
    with pytest.raises(BadHallId):
        registry.add_device(db, "w09", "A03", "hall+1")
    with pytest.raises(UnknownDevice, match="hostd device list"):
        registry.get_device(db, "nope")
    assert [d["device_id"] for d in registry.list_devices(db)] == ["w01-a"]


def test_revoke(db):
    registry.add_device(db, "w01-a", "A03", "hall-1")
    registry.revoke_device(db, "w01-a")
    registry.revoke_device(db, "w01-a")  # idempotent
    assert registry.keys_for(db, "w01-a") == []
    assert registry.get_device(db, "w01-a")["revoked"] is True
    with pytest.raises(DeviceRevoked):
        registry.rotate_key(db, "w01-a")
    with pytest.raises(DeviceExists, match="revoked"):
        registry.add_device(db, "w01-a", "A03", "hall-1")
    with pytest.raises(UnknownDevice):
        registry.revoke_device(db, "ghost")
    assert registry.keys_for(db, "ghost") == []


def test_rotation_overlap_then_old_key_refused(db):
    old = registry.add_device(db, "w01-a", "A03", "hall-1")
    new = registry.rotate_key(db, "w01-a", overlap_s=3600)
    assert new != old
    now = time.time()
    during = registry.keys_for(db, "w01-a", now=now)
    assert during == [new, old]
    assert verifies(during, old) and verifies(during, new)
    after = registry.keys_for(db, "w01-a", now=now + 3601)
    assert after == [new]
    assert verifies(after, new)
    assert not verifies(after, old)


def test_second_rotation_drops_the_first_key(db):
    first = registry.add_device(db, "w01-a", "A03", "hall-1")
    second = registry.rotate_key(db, "w01-a")
    third = registry.rotate_key(db, "w01-a")
    assert registry.keys_for(db, "w01-a") == [third, second]
    assert first not in registry.keys_for(db, "w01-a")


def test_key_cache_sees_a_revoke_from_another_connection_at_once(store, tmp_path):
    key = registry.add_device(store, "w01-a", "A03", "hall-1")
    registry.add_device(store, "w02-b", "A04", "hall-1")
    cache = KeyCache(store)
    assert cache.keys("w01-a") == [key]
    reloads = cache.reloads
    assert cache.keys("w01-a") == [key]
    assert cache.reloads == reloads  # nothing changed: served from the cache
    cli = open_database(tmp_path / "hostd.db")  # another connection, as the CLI process
    registry.revoke_device(cli, "w01-a")
    assert cache.keys("w01-a") == []  # no sleep, no restart
    new = registry.rotate_key(cli, "w02-b", overlap_s=0)
    assert cache.keys("w02-b") == [new]
    cli.conn.close()
    cache.close()


def test_key_cache_sees_a_revoke_from_another_process_once_it_returns(store, tmp_path):
    key = registry.add_device(store, "w01-a", "A03", "hall-1")
    cache = KeyCache(store)
    assert cache.keys("w01-a") == [key]
    # The CLI is another process: this one's own registry writes are not
    # counted, only the commit and the wait before `revoke` returns.
    script = (
        "import sys; from hostd.devices import registry; from hostd.db.store import open_database;"
        " registry.revoke_device(open_database(sys.argv[1]), 'w01-a')"
    )
    done = threading.Event()

    def busy():  # keep the cache fresh meanwhile, as a busy collector does
        while not done.is_set():
            cache.keys("w01-a")
            time.sleep(0.001)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "hostd.db")],
            check=True,
            cwd=str(Path(registry.__file__).parents[2]),
        )
        assert cache.keys("w01-a") == []  # the first lookup after the command returned
    finally:
        done.set()
        thread.join()
    cache.close()


def test_key_cache_asks_sqlite_at_most_every_max_stale(store):
    key = registry.add_device(store, "w01-a", "A03", "hall-1")
    cache = KeyCache(store)
    calls = []
    cache.keys("w01-a")
    cache._db.conn.set_trace_callback(calls.append)
    t0 = time.monotonic()
    for _ in range(200):
        assert cache.keys("w01-a") == [key]
    took = time.monotonic() - t0
    checks = sum("data_version" in sql for sql in calls)
    assert checks <= 1 + took / KeyCache.MAX_STALE_S, calls[:5]
    cache.close()


def test_key_cache_ignores_commits_that_do_not_touch_devices(store):
    key = registry.add_device(store, "w01-a", "A03", "hall-1")
    cache = KeyCache(store)
    assert cache.keys("w01-a") == [key]
    reloads = cache.reloads
    store.run(lambda db: db.execute("INSERT INTO rejections VALUES ('w01-a', 'malformed', 1, 0, 0, '')"))
    assert cache.keys("w01-a") == [key]
    assert cache.reloads == reloads
    cache.close()


def test_key_cache_unknown_device(store):
    cache = KeyCache(store)
    assert cache.keys("nobody") == []
    key = registry.add_device(store, "nobody", "A01", "hall-1")
    assert cache.keys("nobody") == [key]  # a negative answer is not cached past a change
    cache.close()
