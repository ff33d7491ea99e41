"""The peer's idle timeout (2.4.5): our heartbeats keep an idle connection open.

Our own proton_broker.py and rhea_broker.js (tests/interop/ownpeers.py) run with
an idle timeout of IDLE seconds (tests/sync/test_sync_idle.py checks that they
drop a silent client). A connection left idle for three times that, with no user
call, must stay open and usable.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message
from tests.interop.ownpeers import IDLE, OwnPeer, heartbeats

PORTS = {"proton-broker": 35817, "rhea-broker": 35818}


@pytest.fixture(scope="module")
def idle_peers() -> Iterator[list[OwnPeer]]:
    peers = [OwnPeer(kind, port, idle_timeout=IDLE) for kind, port in PORTS.items()]
    try:
        yield peers
    finally:
        for p in peers:
            p.stop()


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
                    q = f"amqp10-trio-idle-{uuid.uuid4().hex[:8]}"
                    async with conn.open_session() as session:
                        async with session.open_sender(q) as sender:
                            await sender.send(Message(b"after the idle time"))
                        async with session.open_receiver(q, credit=1) as receiver:
                            msg = await receiver.receive(timeout=10)
                            assert msg.body == b"after the idle time"
                            await msg.accept()

    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        trio.run(main)
