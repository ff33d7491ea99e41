"""The peer's idle timeout (2.4.5): our heartbeats keep an idle connection open.

Our own proton_broker.py and rhea_broker.js (tests/interop/ownpeers.py) run with
an idle timeout of IDLE seconds: each drops a client that stays silent longer
(checked first, with a bare core that never sends a heartbeat). A connection
left idle for three times that, with no user call, must stay open and usable.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import amqp10_sync as amqp
from amqp10_proto import Connection, SaslAnonymous
from tests.interop.ownpeers import IDLE, OwnPeer, heartbeats, running_idle_peers
from tests.roundtrip import round_trip_sync

PORTS = {"proton-broker": 35813, "rhea-broker": 35814}


@pytest.fixture(scope="module")
def idle_peers() -> Iterator[list[OwnPeer]]:
    with running_idle_peers(PORTS) as peers:
        yield peers


def seconds_until_dropped(port: int, limit: float) -> float | None:
    """Open a connection with a bare core, then stay silent: when did the peer drop us?"""
    core = Connection(sasl=SaslAnonymous())
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        core.open()
        sock.sendall(core.data_to_send())
        while not core.opened:
            core.receive_data(sock.recv(65536))
            sock.sendall(core.data_to_send())
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:  # no tick(): we never send a heartbeat
            try:
                data = sock.recv(65536)
            except TimeoutError:
                return None
            core.receive_data(data)
            if not data or core.ended:
                return time.monotonic() - t0
    return None


def test_the_idle_peers_drop_a_silent_client(idle_peers: list[OwnPeer]) -> None:
    # Without this, the test below could pass with no heartbeat at all.
    dropped: dict[str, float | None] = {}

    def probe(p: OwnPeer) -> None:
        dropped[p.kind] = seconds_until_dropped(p.port, 6 * IDLE)

    threads = [threading.Thread(target=probe, args=(p,)) for p in idle_peers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(d is not None and d < 3 * IDLE for d in dropped.values()), dropped


def test_heartbeats_keep_an_idle_connection_open_for_three_idle_timeouts(
        idle_peers: list[OwnPeer], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        # idle_timeout=None: we ask nothing of the peer; only its timeout is at stake.
        conns = [amqp.open_connection(p.url, idle_timeout=None, timeout=10) for p in idle_peers]
        try:
            for conn in conns:
                assert conn.remote_idle_timeout is not None
                assert conn.remote_idle_timeout <= IDLE
            time.sleep(3 * IDLE)  # no call on the connections meanwhile
            for p, conn in zip(idle_peers, conns):
                assert not conn.closed, f"{p.kind} dropped the idle connection: {conn.error}"
                # It was our heartbeats, at half the peer's advertised timeout or sooner.
                assert heartbeats(caplog.records, conn.label, "->") >= \
                    int(3 * IDLE / (conn.remote_idle_timeout or IDLE)), p.kind
                round_trip_sync(conn)
        finally:
            for conn in conns:
                conn.close(timeout=5)
