"""The blocking adapter through HTTP CONNECT proxies (issue 13): tinyproxy, open and with
basic credentials, in front of the embedded broker, for amqp://, amqps:// and amqpwss://;
the proxy from the environment (HTTPS_PROXY, NO_PROXY) used and bypassed; refusals
typed; reconnecting through the proxy after the connection is cut."""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message
from amqp10_proto.errors import ProxyAuthenticationError, ProxyError
from tests.certs import Pki
from tests.faultproxy import FaultProxy
from tests.proxy.tinyproxy import AUTH, PASSWORD, USER, Proxy, closed_port

FAST = amqp.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)
@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, users={"guest": "guest"}) as running_broker:
        yield running_broker


def round_trip(conn: amqp.Connection, body: bytes = b"through the proxy") -> bytes:
    q = f"proxy-sync-{uuid.uuid4().hex[:8]}"
    with conn.open_session() as session:
        with session.open_sender(q) as sender:
            sender.send(Message(body), timeout=20)
        with session.open_receiver(q) as receiver:
            msg = receiver.receive(timeout=20)
            receiver.accept(msg)
    data = msg.body
    return b"".join(data) if isinstance(data, list) else bytes(data)


def peer_port(conn: amqp.Connection) -> int:
    """The port the connection's socket is connected to: the proxy's, or the broker's."""
    port: int = conn._sock.getpeername()[1]
    return port


# -- an explicit proxy ---------------------------------------------------------------------

def test_amqp_through_an_explicit_proxy(broker: RunningBroker, open_proxy: Proxy) -> None:
    with amqp.open_connection(f"amqp://guest:guest@127.0.0.1:{broker.port}",
                              http_proxy=open_proxy.url) as conn:
        assert peer_port(conn) == open_proxy.port
        assert round_trip(conn) == b"through the proxy"


def test_basic_credentials_right_none_and_wrong(broker: RunningBroker, auth_proxy: Proxy) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{broker.port}"
    with amqp.open_connection(url, http_proxy=auth_proxy.url) as conn:
        assert peer_port(conn) == auth_proxy.port
        assert round_trip(conn) == b"through the proxy"
    with pytest.raises(ProxyAuthenticationError, match="asks for credentials") as info:
        amqp.open_connection(url, http_proxy=auth_proxy.url_without_credentials)
    assert info.value.status in (401, 407) and info.value.proxy == f"127.0.0.1:{AUTH.port}"
    with pytest.raises(ProxyAuthenticationError, match="credentials given were refused"):
        amqp.open_connection(url, http_proxy=f"http://{USER}:not-{PASSWORD}@127.0.0.1:{AUTH.port}")


def test_amqps_through_the_proxy_verifies_the_brokers_name(tls_broker: RunningBroker, pki: Pki,
                                                           auth_proxy: Proxy) -> None:
    url = f"amqps://localhost:{tls_broker.port}"
    with amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None,
                              http_proxy=auth_proxy.url) as conn:
        assert conn._is_ssl and peer_port(conn) == auth_proxy.port
        assert round_trip(conn, b"tls in the tunnel") == b"tls in the tunnel"
    with pytest.raises(ssl.SSLCertVerificationError):
        amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None,
                             server_hostname="proxy.example", http_proxy=auth_proxy.url)


@pytest.mark.parametrize("path", ["/", "/$servicebus/websocket"])
def test_amqpwss_through_the_proxy(tls_broker: RunningBroker, pki: Pki, auth_proxy: Proxy,
                                   path: str) -> None:
    url = f"amqpwss://localhost:{tls_broker.ws_port}{path}"
    with amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None,
                              http_proxy=auth_proxy.url) as conn:
        assert peer_port(conn) == auth_proxy.port
        assert conn._ws is not None and conn._ws.open
        assert round_trip(conn, b"ws in tls in the tunnel") == b"ws in tls in the tunnel"


def test_a_refused_connect_is_typed_with_the_status(open_proxy: Proxy) -> None:
    start_at = time.monotonic()
    with pytest.raises(ProxyError) as info:
        amqp.open_connection(f"amqp://127.0.0.1:{closed_port()}", http_proxy=open_proxy.url)
    assert info.value.status is not None and info.value.status >= 400
    assert time.monotonic() - start_at < 5


def test_an_unreachable_proxy_is_a_proxy_error_naming_it(broker: RunningBroker) -> None:
    port = closed_port()
    with pytest.raises(ProxyError, match=f"HTTP proxy 127.0.0.1:{port}") as info:
        amqp.open_connection(broker.url, http_proxy=f"http://127.0.0.1:{port}")
    assert info.value.status is None
    with pytest.raises(ValueError, match="only http://"):
        amqp.open_connection(broker.url, http_proxy="https://127.0.0.1:1")


# -- the proxy from the environment -----------------------------------------------------------

def test_https_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it(
        tls_broker: RunningBroker, pki: Pki, open_proxy: Proxy,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"amqps://localhost:{tls_broker.port}"
    monkeypatch.setenv("HTTPS_PROXY", open_proxy.url)
    with amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None) as conn:
        assert peer_port(conn) == open_proxy.port
        assert round_trip(conn) == b"through the proxy"
    monkeypatch.setenv("NO_PROXY", "example.com,localhost")
    with amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None) as conn:
        assert peer_port(conn) == tls_broker.port  # directly
    monkeypatch.delenv("NO_PROXY")
    with amqp.open_connection(url, ssl_context=pki.client_context(), sasl=None,
                              http_proxy=False) as conn:
        assert peer_port(conn) == tls_broker.port  # False: never a proxy


def test_the_environment_is_read_at_each_dial_and_each_scheme_takes_its_variable(
        broker: RunningBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", dead)
    monkeypatch.setenv("HTTP_PROXY", dead)
    # Plain amqp:// takes no proxy variable (raw TCP is not HTTP's to proxy).
    with amqp.open_connection(f"amqp://guest:guest@127.0.0.1:{broker.port}") as conn:
        assert peer_port(conn) == broker.port
    # amqpws:// takes HTTP_PROXY: here a dead one, named in the error.
    ws = f"amqpws://guest:guest@127.0.0.1:{broker.ws_port}/"
    with pytest.raises(ProxyError, match="HTTP proxy"):
        amqp.open_connection(ws, connect_timeout=5)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with amqp.open_connection(ws) as conn:
        assert peer_port(conn) == broker.ws_port


# -- reconnecting through the proxy ------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["amqp", "amqpws"])
def test_reconnect_goes_through_the_proxy_again(broker: RunningBroker, open_proxy: Proxy,
                                                scheme: str) -> None:
    # client -> FaultProxy (which cuts) -> tinyproxy -> broker: both dials pass the cut point.
    port = broker.port if scheme == "amqp" else broker.ws_port
    path = "" if scheme == "amqp" else "/"
    q = f"proxy-sync-{uuid.uuid4().hex[:8]}"
    with FaultProxy(open_proxy.port) as cutter, \
            amqp.open_connection(f"{scheme}://guest:guest@127.0.0.1:{port}{path}",
                                 http_proxy=f"http://127.0.0.1:{cutter.port}", reconnect=FAST,
                                 timeout=20) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        sender.send(Message(b"before"))
        cutter.cut()
        deadline = time.monotonic() + 15
        while conn.reconnects == 0:
            assert time.monotonic() < deadline, "no reconnect"
            time.sleep(0.02)
        sender.send(Message(b"after"), timeout=20)
        assert conn.reconnects == 1 and cutter.stats().accepted == 2
        with session.open_receiver(q) as receiver:
            got = [receiver.receive(timeout=10) for _ in range(2)]
            for msg in got:
                receiver.accept(msg)
    assert [m.body for m in got] == [b"before", b"after"]
