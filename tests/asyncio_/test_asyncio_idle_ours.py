"""Our idle timeout (2.4.5) on asyncio: the checks of tests/sync/test_sync_idle_ours.py."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import amqp10_asyncio as amqp
from tests.interop.ownpeers import IDLE, heartbeats
from tests.roundtrip import round_trip
from tests.serverpeer import ServerPeer

from .conftest import start
from .helpers import no_other_tasks, run

SHARED = ["qpid-broker", "rabbitmq", "proton-broker", "rhea-broker"]


def test_our_idle_timeout_is_kept_by_the_peers_heartbeats(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    urls = {name: f"amqp://127.0.0.1:{start(name).port}" for name in SHARED}

    async def main() -> None:
        conns = {name: await amqp.open_connection(url, idle_timeout=IDLE, timeout=10)
                 for name, url in urls.items()}
        try:
            await asyncio.sleep(3 * IDLE)  # no call on the connections meanwhile
            dropped = {name: str(c.error) for name, c in conns.items() if c.closed}
            assert not dropped, f"dropped while the peer heartbeated: {dropped}"
            for name, conn in conns.items():
                assert heartbeats(caplog.records, conn.label, "<-") >= 2, name
                await round_trip(conn)
        finally:
            for conn in conns.values():
                await conn.close(timeout=5)
        assert await no_other_tasks()

    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        run(main())


def test_we_advertise_at_most_half_the_silence_after_which_we_drop_the_peer() -> None:
    # 2.4.5: "To avoid spurious timeouts, the value in idle-time-out SHOULD be half
    # the peer's actual timeout threshold."
    server = ServerPeer(heartbeats=False)

    async def main() -> None:
        conn = await amqp.open_connection(server.url, sasl=None, idle_timeout=0.5,
                                          reconnect=False)
        t0 = time.monotonic()
        assert server.core is not None
        advertised = server.core.remote_idle_timeout
        while not conn.closed and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.01)
        dropped_after = time.monotonic() - t0
        assert conn.closed, "a peer silent for 5 s was not dropped"
        assert conn.error is not None
        assert conn.error.condition == "amqp:resource-limit-exceeded"
        assert advertised is not None and advertised * 2 <= dropped_after + 0.05, \
            f"we advertised {advertised} s but dropped the peer after {dropped_after:.2f} s"
        await conn.close(timeout=1)
        assert await no_other_tasks()

    with server:
        run(main())
