"""The asyncio adapter through an HTTP CONNECT proxy (tinyproxy, a proxy we did not
write): amqp://, amqps:// and amqpwss:// inside the tunnel (TLS verifying the broker,
not the proxy), basic credentials right, missing and wrong, HTTPS_PROXY/HTTP_PROXY and
NO_PROXY from the environment, reconnect through the proxy, and its refusals typed."""

from __future__ import annotations

import os
import ssl
import time

import pytest

import amqp10_asyncio as amqp
from amqp10_cli import RunningBroker
from amqp10_proto import Message
from amqp10_proto.errors import ProxyAuthenticationError, ProxyError
from tests.asyncio_.helpers import no_other_tasks, run
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.proxy.tinyproxy import PASSWORD, USER, Proxy, closed_port
from tests.ws.test_ws_asyncio import broker, layer_of, round_trip

__all__ = ["broker"]  # the WebSocket tests' broker, shared

def peer_port(conn: amqp.Connection) -> int:
    """The port of the socket's other end: the proxy's when tunnelled, else the broker's."""
    assert conn._transport is not None
    peer = conn._transport.get_extra_info("peername")
    return int(peer[1])


def test_amqp_through_an_explicit_proxy(broker: RunningBroker, open_proxy: Proxy) -> None:
    async def main() -> None:
        async with amqp.open_connection(broker.url, sasl=None, http_proxy=open_proxy.url) as conn:
            assert peer_port(conn) == open_proxy.port
            assert await round_trip(conn, [b"tunnelled"]) == [b"tunnelled"]
            assert conn._transport is not None
            assert conn._transport.get_extra_info("websocket") is None  # no layer added
        assert conn.error is None
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_amqps_through_the_proxy_verifies_the_broker_not_the_proxy(
        tls_broker: RunningBroker, open_proxy: Proxy, pki: Pki) -> None:
    url = f"amqps://localhost:{tls_broker.port}"

    async def main() -> None:
        async with amqp.open_connection(url, sasl=None, ssl_context=pki.client_context(),
                                        http_proxy=open_proxy.url) as conn:
            assert peer_port(conn) == open_proxy.port
            assert conn._transport is not None
            tls = conn._transport.get_extra_info("ssl_object")
            assert isinstance(tls, ssl.SSLObject) and tls.server_hostname == "localhost"
            assert await round_trip(conn, [b"tls inside"]) == [b"tls inside"]
        with pytest.raises(ssl.SSLCertVerificationError, match=r"wrong\.example"):
            await amqp.open_connection(url, sasl=None, ssl_context=pki.client_context(),
                                       server_hostname="wrong.example",
                                       http_proxy=open_proxy.url)
        assert await no_other_tasks()

    run(main(), timeout=60)


def test_amqpwss_through_a_proxy_with_credentials(tls_broker: RunningBroker, auth_proxy: Proxy,
                                                  pki: Pki) -> None:
    url = f"amqpwss://localhost:{tls_broker.ws_port}/$servicebus/websocket"

    async def main() -> None:
        async with amqp.open_connection(url, sasl=None, ssl_context=pki.client_context(),
                                        http_proxy=auth_proxy.url) as conn:
            assert peer_port(conn) == auth_proxy.port
            layer = layer_of(conn)
            assert layer.subprotocol == "amqp"
            assert conn._transport is not None
            assert conn._transport.get_extra_info("ssl_object") is not None
            payload = os.urandom(2 * 1024 * 1024)
            assert await round_trip(conn, [payload], timeout=30) == [payload]
        assert conn.error is None and layer.close_code == 1000

    run(main(), timeout=60)


@pytest.mark.parametrize("credentials", [None, f"{USER}:wrong"])
def test_a_proxy_refusing_credentials_is_typed_and_fast(broker: RunningBroker, auth_proxy: Proxy,
                                                        credentials: str | None) -> None:
    at = f"{credentials}@" if credentials else ""
    proxy_url = f"http://{at}127.0.0.1:{auth_proxy.port}"

    async def main() -> None:
        t0 = time.monotonic()
        with pytest.raises(ProxyAuthenticationError) as info:
            await amqp.open_connection(broker.ws_url, sasl=None, http_proxy=proxy_url,
                                       connect_timeout=10)
        assert info.value.status in (401, 407)  # tinyproxy answers 401
        assert info.value.proxy == f"127.0.0.1:{auth_proxy.port}"
        assert time.monotonic() - t0 < 5
        assert await no_other_tasks()

    run(main(), timeout=30)


def test_the_right_credentials_open_the_tunnel(broker: RunningBroker, auth_proxy: Proxy) -> None:
    async def main() -> None:
        proxy_url = f"http://{USER}:{PASSWORD}@127.0.0.1:{auth_proxy.port}"
        async with amqp.open_connection(broker.url, sasl=None, http_proxy=proxy_url) as conn:
            assert peer_port(conn) == auth_proxy.port
            assert await round_trip(conn, [b"let in"]) == [b"let in"]

    run(main(), timeout=60)


def test_the_environment_names_the_proxy_and_no_proxy_bypasses_it(
        tls_broker: RunningBroker, broker: RunningBroker, open_proxy: Proxy, pki: Pki,
        monkeypatch: pytest.MonkeyPatch) -> None:
    amqps = f"amqps://localhost:{tls_broker.port}"

    async def port_of(url: str, **options: object) -> int:
        context = pki.client_context() if url.startswith("amqps") else None
        async with amqp.open_connection(url, sasl=None, ssl_context=context,
                                        **options) as conn:  # type: ignore[arg-type]
            return peer_port(conn)

    async def main() -> None:
        monkeypatch.setenv("HTTPS_PROXY", open_proxy.url)
        monkeypatch.setenv("HTTP_PROXY", open_proxy.url)
        assert await port_of(amqps) == open_proxy.port
        assert await port_of(broker.ws_url) == open_proxy.port  # amqpws: HTTP_PROXY
        assert await port_of(broker.url) == broker.port  # raw amqp:// takes no variable
        assert await port_of(amqps, http_proxy=False) == tls_broker.port
        monkeypatch.setenv("NO_PROXY", "example.com, localhost")
        assert await port_of(amqps) == tls_broker.port
        monkeypatch.setenv("NO_PROXY", "example.com")
        assert await port_of(amqps) == open_proxy.port

    run(main(), timeout=60)


def test_reconnect_goes_through_the_proxy_again(broker: RunningBroker, open_proxy: Proxy) -> None:
    queue = f"proxy-reconnect-{os.urandom(4).hex()}"
    with FaultProxy(broker.port) as cut_here:  # between tinyproxy and the broker
        async def main() -> None:
            policy = amqp.Reconnect(initial_delay=0.05, max_delay=0.2)
            async with amqp.open_connection(f"amqp://127.0.0.1:{cut_here.port}", sasl=None,
                                            http_proxy=open_proxy.url, reconnect=policy,
                                            timeout=20) as conn:
                session = await conn.open_session()
                sender = await session.open_sender(queue)
                await sender.send(Message(b"before"))
                first = conn._transport
                cut_here.cut()
                await sender.send(Message(b"after"), timeout=20)
                assert conn._transport is not first and peer_port(conn) == open_proxy.port
                receiver = await session.open_receiver(queue, credit=5)
                got = [(await receiver.receive(timeout=10)).body for _ in range(2)]
                assert got == [b"before", b"after"]
            assert cut_here.stats().accepted >= 2
            assert await no_other_tasks()

        run(main(), timeout=90)


def test_an_unreachable_proxy_is_a_proxy_error_naming_the_proxy(broker: RunningBroker) -> None:
    port = closed_port()

    async def main() -> None:
        with pytest.raises(ProxyError,
                           match=rf"cannot reach the HTTP proxy 127\.0\.0\.1:{port}") as info:
            await amqp.open_connection(broker.url, sasl=None,
                                       http_proxy=f"http://127.0.0.1:{port}")
        assert info.value.status is None

    run(main(), timeout=30)


def test_a_proxy_that_cannot_reach_the_broker_says_so(open_proxy: Proxy) -> None:
    async def main() -> None:
        with pytest.raises(ProxyError) as info:
            await amqp.open_connection(f"amqp://127.0.0.1:{closed_port()}", sasl=None,
                                       http_proxy=open_proxy.url, connect_timeout=10)
        assert info.value.status is not None and info.value.status >= 400

    run(main(), timeout=30)


def test_a_malformed_proxy_option_fails_at_once() -> None:
    with pytest.raises(ValueError, match="only http:// proxies"):
        amqp.open_connection("amqp://127.0.0.1", http_proxy="https://proxy:1")
    with pytest.raises(TypeError, match="not True"):
        amqp.open_connection("amqp://127.0.0.1", http_proxy=True)  # type: ignore[arg-type]
