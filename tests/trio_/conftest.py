"""Fixtures for the trio adapter's tests: the real peers of tests/interop.

Peers are shared with other test sessions on fixed ports; ``start`` reuses one
that another session already runs (see tests/sync/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import PEERS, Peer, stop_all
from tests.sync.conftest import start

__all__ = ["start"]


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Peer:
    return start(request.param)
