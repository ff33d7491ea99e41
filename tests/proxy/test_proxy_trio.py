"""The trio adapter through HTTP CONNECT proxies (issue 13): tinyproxy on loopback, open and
with basic credentials, for ``amqp://`` (an explicit proxy), ``amqps://`` and
``amqpwss://`` (TLS inside the tunnel verifies the broker, not the proxy); the
environment's HTTPS_PROXY/HTTP_PROXY used at each dial and NO_PROXY bypassing them;
refusals typed with their status; an unreachable proxy named; reconnecting through it."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trio

import amqp10_trio as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ProxyAuthenticationError, ProxyError
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.proxy.tinyproxy import PASSWORD, USER, Proxy, closed_port
from tests.resilience.test_reconnect_sync import FAST

GUARD = 60  # a hang guard for each story


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, allow_anonymous=True) as running:
        yield running


def url_of(running: RunningBroker, scheme: str) -> str:
    """The broker's URL for ``scheme`` (its TCP or WebSocket port)."""
    port = running.ws_port if scheme.startswith("amqpws") else running.port
    return f"{scheme}://127.0.0.1:{port}/"


def round_trip(url: str, **options: Any) -> list[bytes]:
    """Send two messages to a fresh queue over ``url`` and receive them back."""
    q = f"proxy-trio-{os.urandom(4).hex()}"
    got: list[bytes] = []

    async def main() -> None:
        with trio.fail_after(GUARD):
            async with amqp.open_connection(url, reconnect=False, **options) as conn, \
                    conn.open_session() as s, s.open_sender(q) as sender, \
                    s.open_receiver(q, credit=10) as receiver:
                for body in (b"through", b"the proxy" * 5000):
                    await sender.send(Message(body))
                got.extend([bytes((await receiver.receive(timeout=10)).body) for _ in "ab"])

    trio.run(main)
    return got


def refused(url: str, **options: Any) -> None:
    """Open a connection to ``url`` that is expected to fail (within 10 s)."""
    async def main() -> None:
        with trio.fail_after(10):
            async with amqp.open_connection(url, reconnect=False, **options):
                raise AssertionError(f"{url} connected")

    trio.run(main)


EXPECTED = [b"through", b"the proxy" * 5000]


@pytest.mark.parametrize("scheme", ["amqp", "amqpws"])
def test_plain_and_websocket_through_an_explicit_open_proxy(
        broker: RunningBroker, open_proxy: Proxy, scheme: str) -> None:
    assert round_trip(url_of(broker, scheme), http_proxy=open_proxy.url) == EXPECTED


def test_the_proxy_is_the_one_connecting(open_proxy: Proxy) -> None:
    """To a closed port, the proxy's refusal comes back (typed, with its status), where a
    direct connection would be refused by the host."""
    with pytest.raises(ProxyError) as info:
        refused(f"amqp://127.0.0.1:{closed_port()}/", http_proxy=open_proxy.url)
    assert info.value.status is not None and info.value.status >= 400
    assert info.value.proxy == f"127.0.0.1:{open_proxy.port}"


@pytest.mark.parametrize("scheme", ["amqp", "amqps", "amqpwss"])
def test_basic_credentials_right_none_and_wrong(
        broker: RunningBroker, tls_broker: RunningBroker, pki: Pki, auth_proxy: Proxy,
        scheme: str) -> None:
    running = tls_broker if scheme.endswith("s") else broker
    url = url_of(running, scheme)
    tls: dict[str, Any] = {"ssl_context": pki.client_context()} if running is tls_broker else {}
    assert round_trip(url, http_proxy=auth_proxy.url, **tls) == EXPECTED
    with pytest.raises(ProxyAuthenticationError, match="asks for credentials") as info:
        refused(url, http_proxy=auth_proxy.url_without_credentials, **tls)
    assert info.value.status in (401, 407)  # tinyproxy 1.11 answers 401
    wrong = f"http://{USER}:not-{PASSWORD}@127.0.0.1:{auth_proxy.port}"
    with pytest.raises(ProxyAuthenticationError, match="credentials given were refused"):
        refused(url, http_proxy=wrong, **tls)


@pytest.mark.parametrize("scheme", ["amqps", "amqpwss"])
def test_tls_in_the_tunnel_verifies_the_brokers_name(
        tls_broker: RunningBroker, pki: Pki, open_proxy: Proxy, scheme: str) -> None:
    url = url_of(tls_broker, scheme)
    assert round_trip(url, http_proxy=open_proxy.url, ssl_context=pki.client_context()) \
        == EXPECTED
    with pytest.raises(trio.BrokenResourceError) as info:
        refused(url, http_proxy=open_proxy.url, ssl_context=pki.client_context(),
                server_hostname="other.example")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


def test_https_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(
        tls_broker: RunningBroker, pki: Pki, auth_proxy: Proxy,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = url_of(tls_broker, "amqps")
    ctx = pki.client_context()
    monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url_without_credentials)
    with pytest.raises(ProxyAuthenticationError):  # the environment's proxy was asked
        refused(url, ssl_context=ctx)
    assert round_trip(url, ssl_context=ctx, http_proxy=auth_proxy.url) == EXPECTED  # wins
    monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url)
    assert round_trip(url, ssl_context=ctx) == EXPECTED
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")  # would fail
    assert round_trip(url, ssl_context=ctx, http_proxy=False) == EXPECTED
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    assert round_trip(url, ssl_context=ctx) == EXPECTED


def test_http_proxy_serves_amqpws_and_the_environment_is_read_at_each_dial(
        broker: RunningBroker, auth_proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    url = url_of(broker, "amqpws")
    conn = amqp.open_connection(url, reconnect=False)  # made before the variable is set

    async def enter() -> None:
        with trio.fail_after(10):
            async with conn:
                raise AssertionError("connected without the proxy's credentials")

    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url_without_credentials)
    with pytest.raises(ProxyAuthenticationError):
        trio.run(enter)
    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url)
    assert round_trip(url) == EXPECTED
    assert round_trip(url_of(broker, "amqp")) == EXPECTED  # raw TCP takes no HTTP_PROXY


def test_an_unreachable_proxy_is_an_oserror_naming_it(broker: RunningBroker) -> None:
    port = closed_port()
    with pytest.raises(ProxyError, match=f"cannot reach the HTTP proxy 127.0.0.1:{port}") \
            as info:
        refused(url_of(broker, "amqp"), http_proxy=f"http://127.0.0.1:{port}")
    assert isinstance(info.value, OSError) and info.value.status is None


def test_a_bad_http_proxy_option_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="only http:// proxies"):
        amqp.open_connection("amqps://broker.example", http_proxy="https://proxy:1")
    with pytest.raises(TypeError, match="not True"):
        amqp.open_connection("amqps://broker.example", http_proxy=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["amqp", "amqpws"])
def test_reconnect_goes_through_the_proxy_again(broker: RunningBroker, open_proxy: Proxy,
                                                scheme: str) -> None:
    """tinyproxy -> fault proxy -> broker: the fault proxy cuts the connection; the new
    transport is dialled through tinyproxy again, and the link carries on."""
    upstream = broker.ws_port if scheme == "amqpws" else broker.port
    assert upstream is not None
    q = f"proxy-trio-re-{os.urandom(4).hex()}"
    got: list[bytes] = []
    with FaultProxy(upstream) as fault:
        async def main() -> None:
            with trio.fail_after(GUARD):
                async with amqp.open_connection(f"{scheme}://127.0.0.1:{fault.port}/",
                                                http_proxy=open_proxy.url, reconnect=FAST,
                                                timeout=30) as conn:
                    session = await conn.open_session()
                    sender = await session.open_sender(q)
                    await sender.send(Message(b"before"))
                    fault.cut()
                    await sender.send(Message(b"after"))
                    assert conn.reconnects == 1
                    receiver = await session.open_receiver(q, credit=10)
                    got.extend([bytes((await receiver.receive(timeout=10)).body)
                                for _ in "ab"])

        trio.run(main)
        assert fault.stats().accepted == 2  # both dials came through tinyproxy to it
    assert got == [b"before", b"after"]
