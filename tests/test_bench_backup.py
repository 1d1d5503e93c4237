"""bench/backup.py at a tiny size: a real sudden loss, a real rebuild, figures."""

import pytest

from bench import backup as bench_backup
from hostd.db import replica

pytestmark = pytest.mark.skipif(replica.find_binary() is None, reason="litestream not installed")


def test_a_loss_is_measured_and_the_rebuilt_database_is_whole(tmp_path):
    raw = bench_backup.run(ratings=3000, rounds=1, seconds=2.0)
    assert raw["committed"][0] > 20  # rows flowed up to the loss
    assert 0 <= raw["missing"][0] <= raw["committed"][0]
    assert raw["recovery_point_s"][0] >= 0
    figures = bench_backup.figures(raw)
    assert figures["backup_recovery_point_s"]["baseline"] == "backup_sync_interval_s"
    assert figures["backup_restore_s"]["baseline"] == "backup_copy_s"
    assert figures["backup_restore_s"]["value"] > 0


def test_a_replica_that_missed_rows_shows_them_missing(tmp_path):
    """The measurement can see a loss: rows committed after Litestream is gone are missing."""
    point, committed, missing = bench_backup.one_loss(tmp_path, sync_s=3600, seconds=1.0, every_ms=5)
    assert committed > 20 and missing >= 1 and point > 0  # a loss the figure would show
