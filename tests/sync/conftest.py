"""Fixtures for the blocking adapter's tests: the real peers of tests/interop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import PEERS, Peer, start, stop_all


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Peer:
    return start(request.param)
