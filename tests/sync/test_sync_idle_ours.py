"""Our idle timeout (2.4.5): the peer's heartbeats keep an idle connection open.

With ``idle_timeout=IDLE`` we ask the peer to send a frame at least every IDLE
seconds, and drop it if it does not. Each real peer heartbeats on its own, so a
connection held idle for three times that stays open, and the trace shows the
peer's empty frames. The proton-c peers wait up to the whole advertised interval
between heartbeats, which the spec allows; it asks the other side to advertise
half its real threshold "to avoid spurious timeouts", checked here against the
core-based test server (tests/serverpeer.py) that never heartbeats.
"""

from __future__ import annotations

import logging
import time

import pytest

import amqp10_sync as amqp
from tests.interop.ownpeers import IDLE, heartbeats
from tests.roundtrip import round_trip_sync
from tests.serverpeer import ServerPeer

from .conftest import start

SHARED = ["qpid-broker", "rabbitmq", "proton-broker", "rhea-broker"]


def test_our_idle_timeout_is_kept_by_the_peers_heartbeats(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    urls = {name: f"amqp://127.0.0.1:{start(name).port}" for name in SHARED}
    with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
        conns = {name: amqp.open_connection(url, idle_timeout=IDLE, timeout=10)
                 for name, url in urls.items()}
        try:
            time.sleep(3 * IDLE)  # no call on the connections meanwhile
            dropped = {name: str(c.error) for name, c in conns.items() if c.closed}
            assert not dropped, f"dropped while the peer heartbeated: {dropped}"
            for name, conn in conns.items():
                assert heartbeats(caplog.records, conn.label, "<-") >= 2, name
                round_trip_sync(conn)
        finally:
            for conn in conns.values():
                conn.close(timeout=5)


def test_we_advertise_at_most_half_the_silence_after_which_we_drop_the_peer() -> None:
    # 2.4.5: "To avoid spurious timeouts, the value in idle-time-out SHOULD be half
    # the peer's actual timeout threshold."
    with ServerPeer(heartbeats=False) as server:
        conn = amqp.open_connection(server.url, sasl=None, idle_timeout=0.5,
                                    reconnect=False)
        t0 = time.monotonic()
        assert server.core is not None
        advertised = server.core.remote_idle_timeout
        while not conn.closed and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        dropped_after = time.monotonic() - t0
        assert conn.closed, "a peer silent for 5 s was not dropped"
        assert conn.error is not None
        assert conn.error.condition == "amqp:resource-limit-exceeded"
        assert advertised is not None and advertised * 2 <= dropped_after + 0.05, \
            f"we advertised {advertised} s but dropped the peer after {dropped_after:.2f} s"
        conn.close(timeout=1)
