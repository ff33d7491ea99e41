"""Errors read well (issue 11): where it failed, and what is likely wrong.

A refused connection names host:port; amqps:// to a plain port and amqp:// to a TLS
port say which to use; a URL's path is the virtual host, and what the client would
otherwise ignore (a query, a fragment, an IPv6 host without brackets) is a ValueError
saying why; ``import amqp10_trio`` without trio says what to install.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_cli import start_broker
from amqp10_proto import parse_url
from amqp10_proto.client import DEFAULT, url_sasl
from amqp10_proto.errors import AuthenticationError, ConnectionClosedError

from .certs import Pki, make_pki


def _sync(url: str, **kw: Any) -> None:
    amqp10_sync.open_connection(url, connect_timeout=5, reconnect=False, **kw).close()


def _asyncio(url: str, **kw: Any) -> None:
    async def main() -> None:
        async with amqp10_asyncio.open_connection(url, connect_timeout=5, reconnect=False, **kw):
            pass
    asyncio.run(main())


def _trio(url: str, **kw: Any) -> None:
    async def main() -> None:
        async with amqp10_trio.open_connection(url, connect_timeout=5, reconnect=False, **kw):
            pass
    trio.run(main)


ADAPTERS: list[Callable[..., None]] = [_sync, _asyncio, _trio]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize("connect", ADAPTERS, ids=["sync", "asyncio", "trio"])
def test_a_refused_connection_names_host_and_port(connect: Callable[..., None]) -> None:
    port = _free_port()
    with pytest.raises(ConnectionRefusedError) as info:
        connect(f"amqp://127.0.0.1:{port}")
    assert f"connection refused by 127.0.0.1:{port}" in str(info.value)


@pytest.mark.parametrize("connect", ADAPTERS, ids=["sync", "asyncio", "trio"])
def test_amqps_to_a_plain_port_says_so(connect: Callable[..., None], pki: Pki) -> None:
    ctx = pki.client_context()
    with start_broker() as broker, pytest.raises(ssl.SSLError) as info:
        connect(f"amqps://localhost:{broker.port}", ssl_context=ctx)
    text = str(info.value)
    assert f"localhost:{broker.port} did not answer in TLS" in text
    assert "Use amqp:// for a plain port" in text


@pytest.mark.parametrize("connect", ADAPTERS, ids=["sync", "asyncio", "trio"])
def test_amqp_to_a_tls_port_says_so(connect: Callable[..., None], pki: Pki) -> None:
    server = pki.server_context(require_client_cert=False)
    with start_broker(ssl_context=server) as broker, \
            pytest.raises(ConnectionClosedError) as info:
        connect(f"amqp://127.0.0.1:{broker.port}")
    assert f"127.0.0.1:{broker.port} never answered in AMQP: if it is a TLS port" in \
        str(info.value)
    assert "use amqps://" in str(info.value)


def test_a_refused_password_says_authentication_failed_once() -> None:
    with start_broker(users={"u": "p"}) as broker, pytest.raises(AuthenticationError) as info:
        _sync(f"amqp://u:wrong@127.0.0.1:{broker.port}")
    assert str(info.value).count("authentication failed") == 1, str(info.value)


@pytest.mark.parametrize("url, text", [
    ("amqp://[::1", "a '[' without its ']'"),
    ("amqp://::1:5672", "an IPv6 host goes in brackets"),
    ("amqp://[zz]:5672", "only an IPv6 address goes in brackets"),
    ("amqp://h/?heartbeat=10", "has a query"),
    ("amqp://h/#top", "has a fragment"),
    ("amqp://h/a/b", "the path names one virtual host"),
    ("amqp://h:0", "bad port"),
    ("amqp://u:secret@h:99999", "bad port"),
])
def test_a_url_part_that_would_be_ignored_is_refused(url: str, text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(text)) as info:
        parse_url(url)
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match=re.escape(text)):
        amqp10_sync.open_connection(url)


def test_a_url_path_is_the_virtual_host() -> None:
    url = parse_url("amqp://u:p@broker.example/my%2Fvhost")
    assert url.vhost == "my/vhost" and url.open_hostname == "vhost:my/vhost"
    assert parse_url("amqp://broker.example/").vhost is None
    assert parse_url("amqp://broker.example").open_hostname == "broker.example"
    v6 = parse_url("amqps://[fe80::1%25eth0]:5671")
    assert v6.host == "fe80::1%eth0" and v6.where == "[fe80::1%eth0]:5671"


def test_the_vhost_goes_in_the_open_hostname() -> None:
    with start_broker() as broker, amqp10_sync.open_connection(
            f"amqp://127.0.0.1:{broker.port}/tenant", reconnect=False) as conn:
        assert conn._core.hostname == "vhost:tenant"
    with start_broker() as broker, amqp10_sync.open_connection(
            f"amqp://127.0.0.1:{broker.port}/tenant", hostname="other",
            reconnect=False) as conn:
        assert conn._core.hostname == "other"


def test_a_receive_timeout_names_the_address() -> None:
    with start_broker() as broker, amqp10_sync.open_connection(
            broker.url, reconnect=False) as conn, conn.open_session() as s, \
            s.open_receiver("orders-to-ship") as receiver, \
            pytest.raises(TimeoutError, match="orders-to-ship"):
        receiver.receive(timeout=0.1)


BLOCK_TRIO = """
import sys

class BlockTrio:
    def find_spec(self, name, path=None, target=None):
        if name == "trio" or name.startswith("trio."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockTrio())
try:
    import amqp10_trio
except ImportError as exc:
    print(type(exc).__name__, exc)
else:
    print("imported")
"""


def test_import_amqp10_trio_without_trio_says_what_to_install() -> None:
    out = subprocess.run([sys.executable, "-c", BLOCK_TRIO], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == ("ImportError amqp10_trio needs trio, which is not "
                                  "installed: pip install 'amqp10[trio]'"), out


@pytest.fixture(autouse=True)
def _no_stray_loop() -> Iterator[None]:
    yield
    asyncio.set_event_loop(None)


@pytest.mark.parametrize("url", ["amqpws://127.0.0.1:5673/", "amqpwss://ns.example/ws"])
def test_a_websocket_url_is_refused_by_the_adapters_until_they_speak_it(url: str) -> None:
    """parse_url takes amqpws:// (the broker listens for WebSocket); the adapters do not
    yet, and say so at once instead of sending plain AMQP to an HTTP port."""
    with pytest.raises(ValueError, match="not supported by the adapters yet"):
        url_sasl(url, DEFAULT, ssl_context=None, allow_plain_without_tls=False)
