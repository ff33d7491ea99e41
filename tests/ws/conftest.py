"""tests/ws: the peers these tests start are stopped when the session ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import stop_all


@pytest.fixture(scope="session", autouse=True)
def _stop_peers() -> Iterator[None]:
    yield
    stop_all()
