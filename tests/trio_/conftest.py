"""Fixtures for the trio adapter's tests: the real peers of tests/interop.

Peers live on fixed ports shared with other test sessions on this machine. A
peer that already answers AMQP is used as it is (and left running for whoever
started it); otherwise it is started here, and stopped when this session ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import PEERS, Peer, stop_all
from tests.sync import conftest as sync_conftest

__all__ = ["start"]


def start(name: str) -> Peer:
    """Reuse the named peer if it already answers on its port, else start it."""
    if sync_conftest._answers_amqp(PEERS[name].port):
        return PEERS[name]
    return sync_conftest.start(name)


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Peer:
    return start(request.param)
