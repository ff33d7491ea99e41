"""Issue 13's proxy follow-ups, the same on the three adapters: ProxyError and
ProxyAuthenticationError are public names of ``amqp10_proto.errors`` (still
ConnectionErrors); a proxy that cannot be reached is a ProxyError naming it (status
None), never a ConnectionRefusedError that reads as the broker's; ``connect_failure``
leaves a proxy's error as it was said."""

from __future__ import annotations

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import _proxy, errors, parse_url
from amqp10_proto.client import connect_failure
from amqp10_proto.errors import ProxyAuthenticationError, ProxyError
from tests.proxy.tinyproxy import closed_port
from tests.ws.adapters import ADAPTERS, open_fails


@pytest.fixture(scope="module")
def broker() -> object:
    with start_broker(ws_port=0) as running:
        yield running


def test_the_proxy_errors_are_public_connection_errors() -> None:
    assert {"ProxyError", "ProxyAuthenticationError"} <= set(errors.__all__)
    assert _proxy.ProxyError is ProxyError  # one class, re-exported by the sans-IO module
    assert _proxy.ProxyAuthenticationError is ProxyAuthenticationError
    assert issubclass(ProxyAuthenticationError, ProxyError)
    assert issubclass(ProxyError, ConnectionError)
    exc = ProxyAuthenticationError("wants credentials", proxy="p:3128", status=407)
    assert (exc.proxy, exc.status) == ("p:3128", 407)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("scheme", ["amqp", "amqpws"])
def test_an_unreachable_proxy_is_a_proxy_error_naming_it(broker: RunningBroker, adapter: str,
                                                         scheme: str) -> None:
    port = closed_port()
    target = broker.port if scheme == "amqp" else broker.ws_port
    error = open_fails(adapter, f"{scheme}://127.0.0.1:{target}/", connect_timeout=10,
                       reconnect=False, http_proxy=f"http://127.0.0.1:{port}")
    assert type(error) is ProxyError, repr(error)
    assert not isinstance(error, ConnectionRefusedError)
    assert error.status is None and error.proxy == f"127.0.0.1:{port}"
    assert str(error).startswith(f"cannot reach the HTTP proxy 127.0.0.1:{port}: ")
    assert "refused" in str(error).lower()  # why, in the system's words
    assert "broker" not in str(error)


class Group(Exception):
    """An exception group as the dial's libraries raise one (no builtin on Python 3.10)."""

    def __init__(self, exceptions: list[BaseException]) -> None:
        super().__init__("every address failed")
        self.exceptions = exceptions


def test_connect_failure_leaves_a_proxys_refusal_as_said() -> None:
    """The proxy's TCP refusal is no refusal by the broker, whatever it wraps (trio and
    asyncio hold each address's error in a group)."""
    url = parse_url("amqpws://broker.example/")
    exc = ProxyError("cannot reach the HTTP proxy p:3128: Connection refused", proxy="p:3128")
    exc.__cause__ = Group([ConnectionRefusedError(111, "refused")])
    assert connect_failure(exc, url) is exc
    refused = ConnectionRefusedError(111, "Connection refused")  # the broker's own: said so
    assert "connection refused by broker.example:80" in str(connect_failure(refused, url))
