"""The MQTT surface (issue 17, findings 5 and 12), against real Mosquitto:
retained messages from devices are ignored and cleared. (That hostd's own
listener takes the hostd login alone, and no device listener takes it, is
tests/test_broker.py::test_each_listener_takes_only_its_own_logins.)"""

from collector_hall import hall  # noqa: F401 (the fixture)
from hostd_helpers import sql_rows as db_rows

from hostd.ingest.collector import Collector
from protocol import topics


def test_a_retained_rating_is_ignored_at_reconnect_and_cleared(hall):
    """Finding 12 of issue 17: a device's retained message came back to hostd
    at every reconnect. Now it is counted as 'retained', cleared on the broker,
    and a collector that connects afterwards gets nothing again."""
    dev = hall.device()
    wire = dev.rate(1, level=5)
    assert dev.wait_ack()["result"] == "stored"
    dev.client.publish(dev.topic(topics.RATING), wire, qos=1, retain=True).wait_for_publish(5)
    assert dev.wait_ack()["result"] == "duplicate"  # live, it is an ordinary resend
    hall.collector.stop()

    def reconnect(client_id, seq):
        collector = Collector(hall.store, "127.0.0.1", hall.broker.port, client_id=client_id)
        assert collector.start(timeout=10)
        dev.rate(seq, level=4)  # a new rating behind whatever the broker holds: processed after it
        assert dev.wait_ack()["result"] == "stored"
        collector.stop()
        return collector.counters

    first = reconnect("hostd-test-2", 101)
    assert first.get("retained") == 1  # handed over again at the new subscription: ignored
    assert first.get("retained_cleared") == 1  # and the clearing it sent came back once
    second = reconnect("hostd-test-3", 102)
    assert "retained" not in second and "retained_cleared" not in second  # it was cleared
    assert db_rows(hall.path, "SELECT COUNT(*) FROM ratings") == [(3,)]
