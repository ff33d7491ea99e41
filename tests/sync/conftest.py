"""Fixtures for the blocking adapter's tests: the real peers of tests/interop."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.interop import peers as _peers
from tests.interop.peers import PEERS, Peer, stop_all


def _answers_amqp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(5)
            s.sendall(b"AMQP\x00\x01\x00\x00")
            return s.recv(8)[:4] == b"AMQP"
    except OSError:
        return False


def start(name: str) -> Peer:
    """``tests.interop.peers.start``, but reuse a peer another test session already runs.

    Several sessions share this machine and the peers' fixed ports; a start that
    finds the port taken by a working AMQP peer (not recorded by this session's
    scripts) uses it rather than failing.
    """
    try:
        return _peers.start(name)
    except RuntimeError as exc:
        if "already in use" in str(exc) and _answers_amqp(PEERS[name].port):
            return PEERS[name]
        raise


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Peer:
    return start(request.param)
