"""The peer's idle timeout (2.4.5) on trio: the check of tests/sync/test_sync_idle.py
(our heartbeats alone keep an idle connection to our own idle brokers open)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest
import trio

import amqp10_trio as amqp
from tests.interop.ownpeers import IDLE, OwnPeer, heartbeats, running_idle_peers
from tests.roundtrip import round_trip

PORTS = {"proton-broker": 35817, "rhea-broker": 35818}


@pytest.fixture(scope="module")
def idle_peers() -> Iterator[list[OwnPeer]]:
    with running_idle_peers(PORTS) as peers:
        yield peers


def test_heartbeats_keep_an_idle_connection_open_for_three_idle_timeouts(
        idle_peers: list[OwnPeer], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")

    async def main() -> None:
        with trio.fail_after(60):
            async with contextlib.AsyncExitStack() as stack:
                # idle_timeout=None: we ask nothing of the peer; only its timeout counts.
                conns = [await stack.enter_async_context(
                    amqp.open_connection(p.url, idle_timeout=None, timeout=10))
                    for p in idle_peers]
                for conn in conns:
                    assert conn.remote_idle_timeout is not None
                    assert conn.remote_idle_timeout <= IDLE
                await trio.sleep(3 * IDLE)  # no call on the connections meanwhile
                for p, conn in zip(idle_peers, conns):
                    assert not conn.closed, f"{p.kind} dropped the idle connection: {conn.error}"
                    # It was our heartbeats, at half the peer's advertised timeout or sooner.
                    assert heartbeats(caplog.records, conn.label, "->") >= \
                        int(3 * IDLE / (conn.remote_idle_timeout or IDLE)), p.kind
                    await round_trip(conn)

    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        trio.run(main)
