"""Fixtures shared by the upstream tests: a fresh hostd database and the
reference platform on loopback, keyed with the test module's SECRET."""

import pytest
from upstream_fixtures import open_db

from peers.upstream_ref.server import RefPlatform


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "hostd.db")


@pytest.fixture
def ref(request, tmp_path):
    platform = RefPlatform(tmp_path / "ref.db", request.module.SECRET).start()
    yield platform
    platform.stop()
