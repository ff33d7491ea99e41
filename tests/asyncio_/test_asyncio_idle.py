"""The peer's idle timeout (2.4.5) on asyncio: the check of tests/sync/test_sync_idle.py
(our heartbeats alone keep an idle connection to our own idle brokers open)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

import amqp10_asyncio as amqp
from tests.interop.ownpeers import IDLE, OwnPeer, heartbeats, running_idle_peers
from tests.roundtrip import round_trip

from .helpers import no_other_tasks, run

PORTS = {"proton-broker": 35815, "rhea-broker": 35816}


@pytest.fixture(scope="module")
def idle_peers() -> Iterator[list[OwnPeer]]:
    with running_idle_peers(PORTS) as peers:
        yield peers


def test_heartbeats_keep_an_idle_connection_open_for_three_idle_timeouts(
        idle_peers: list[OwnPeer], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")

    async def main() -> None:
        # idle_timeout=None: we ask nothing of the peer; only its timeout is at stake.
        conns = [await amqp.open_connection(p.url, idle_timeout=None, timeout=10)
                 for p in idle_peers]
        try:
            for conn in conns:
                assert conn.remote_idle_timeout is not None
                assert conn.remote_idle_timeout <= IDLE
            await asyncio.sleep(3 * IDLE)  # no call on the connections meanwhile
            for p, conn in zip(idle_peers, conns):
                assert not conn.closed, f"{p.kind} dropped the idle connection: {conn.error}"
                # It was our heartbeats, at half the peer's advertised timeout or sooner.
                assert heartbeats(caplog.records, conn.label, "->") >= \
                    int(3 * IDLE / (conn.remote_idle_timeout or IDLE)), p.kind
                await round_trip(conn)
        finally:
            for conn in conns:
                await conn.close(timeout=5)
        assert await no_other_tasks()

    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        run(main())
