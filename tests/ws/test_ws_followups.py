"""Issue 13's WebSocket follow-ups, the same on the three adapters: the errors are public
names of ``amqp10_proto.errors`` (caught without wsproto), a protocol error after the
open is the ConnectionClosedError's ``__cause__``, ``amqpwss://`` to a plain port says
to use ``amqpws://``, ``conn.url`` keeps the WebSocket path; the embedded broker over
``amqpwss://`` takes a client's close_notify without asyncio's warning; the adapters
import the names they use from the public modules."""

from __future__ import annotations

import ast
import contextlib
import inspect
import logging
import selectors
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import trio

import amqp10_asyncio
import amqp10_proto
import amqp10_sync
import amqp10_trio
import amqp10_ws
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import client, errors, parse_url
from amqp10_proto.client import ProxyOption, check_symbols, connect_failure
from amqp10_proto.errors import ConnectionClosedError, WebSocketError, WebSocketHandshakeError
from amqp10_ws import WebSocketLayer, client_for_url
from tests.certs import Pki

from .adapters import ADAPTERS, GUARD, open_fails, with_connection

SRC = Path(__file__).resolve().parents[2] / "src"
SERVICEBUS_PATH = "/$servicebus/websocket"
TEXT_FRAME = b"\x81\x02hi"  # a text message (RFC 6455 5.6), unmasked as a server sends


@pytest.fixture(scope="module")
def broker() -> Any:
    with start_broker(ws_port=0) as running:
        yield running


# -- item 1: public names --------------------------------------------------------------------

def test_the_websocket_errors_are_amqp10_proto_errors_and_amqp10_ws_re_exports_them() -> None:
    assert "WebSocketError" in errors.__all__ and "WebSocketHandshakeError" in errors.__all__
    assert amqp10_ws.WebSocketError is WebSocketError
    assert amqp10_ws.WebSocketHandshakeError is WebSocketHandshakeError
    assert issubclass(WebSocketHandshakeError, WebSocketError)
    assert issubclass(WebSocketError, errors.RemoteProtocolError)
    exc = WebSocketHandshakeError("refused", status=404)
    assert (exc.status, exc.code, exc.condition) == (404, None, "amqp:connection:framing-error")
    assert {"ProxyOption", "check_symbols"} <= set(client.__all__)
    assert client.ProxyOption is ProxyOption and client.check_symbols is check_symbols


def test_the_errors_are_caught_without_wsproto(tmp_path: Path) -> None:
    """With wsproto missing, the error classes still import from amqp10_proto.errors
    (amqp10_ws itself names the extra to install)."""
    program = textwrap.dedent("""
        import sys
        sys.modules["wsproto"] = None  # as if not installed
        from amqp10_proto.errors import ProxyError, WebSocketError, WebSocketHandshakeError
        assert issubclass(WebSocketHandshakeError, WebSocketError)
        try:
            import amqp10_ws
        except ImportError as exc:
            print("ImportError", exc)
    """)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.startswith("ImportError") and "amqp10[ws]" in out


#: Names the adapters take from a public module, never from a private one (item 1, 8).
PUBLIC_ONLY = {"ProxyError", "ProxyAuthenticationError", "ProxyOption", "check_symbols",
               "WebSocketError", "WebSocketHandshakeError", "ClientTransaction",
               "AsyncClientTransaction"}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_adapters_import_public_names_from_public_modules(adapter: str) -> None:
    wrong = []
    for path in sorted((SRC / f"amqp10_{adapter}").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and any(
                    part.startswith("_") for part in node.module.split(".")):
                wrong += [f"{path.name}: {alias.name} from {node.module}"
                          for alias in node.names if alias.name in PUBLIC_ONLY]
    assert not wrong


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_connection_defaults_are_the_documented_constants_themselves(adapter: str) -> None:
    """Item 8: each default is the amqp10_proto constant object (not an equal literal:
    ints above 256 and floats are distinct objects unless they are the same constant)."""
    package: Any = {"sync": amqp10_sync, "asyncio": amqp10_asyncio, "trio": amqp10_trio}[adapter]

    def defaults(fn: Any) -> dict[str, Any]:
        return {n: p.default for n, p in inspect.signature(fn).parameters.items()}

    expected = {"connect_timeout": amqp10_proto.DEFAULT_CONNECT_TIMEOUT,
                "timeout": amqp10_proto.DEFAULT_TIMEOUT,
                "idle_timeout": amqp10_proto.DEFAULT_IDLE_TIMEOUT,
                "max_frame_size": amqp10_proto.DEFAULT_MAX_FRAME_SIZE,
                "channel_max": amqp10_proto.DEFAULT_CHANNEL_MAX}
    for fn in (package.open_connection, package.connect):
        got = defaults(fn)
        assert all(got[name] is value for name, value in expected.items()), (fn, got)
    session = defaults(package.Connection.open_session)
    assert session["incoming_window"] is amqp10_proto.DEFAULT_INCOMING_WINDOW
    assert session["outgoing_window"] is amqp10_proto.DEFAULT_OUTGOING_WINDOW
    assert session["handle_max"] is amqp10_proto.DEFAULT_HANDLE_MAX


# -- item 4: a WebSocket failure after the open is the close's __cause__ ----------------------

class ThreadFront:
    """A WebSocket server in front of the broker's plain AMQP port, in a thread: the
    client's binary messages go to the broker, the broker's bytes back in binary
    messages; :meth:`inject` writes raw bytes of the test's to the client."""

    def __init__(self, upstream: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.layer = WebSocketLayer("server")
        self._upstream = upstream
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def inject(self, raw: bytes) -> None:
        assert self._ready.wait(GUARD) and self._client is not None
        with self._lock:
            self._client.sendall(raw)

    def _write(self, client: socket.socket) -> None:
        with self._lock, contextlib.suppress(OSError):
            client.sendall(self.layer.data_to_send())

    def _run(self) -> None:
        self.listener.settimeout(GUARD)
        layer = self.layer
        try:
            client, _ = self.listener.accept()
            up = socket.create_connection(("127.0.0.1", self._upstream), timeout=GUARD)
        except OSError:
            return
        finally:
            self.listener.close()
        self._client = client
        self._ready.set()
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ)
        sel.register(up, selectors.EVENT_READ)
        end = time.monotonic() + GUARD
        with client, up, sel:
            while not layer.closed and time.monotonic() < end:
                for key, _ in sel.select(0.1):
                    try:
                        data = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]
                    except OSError:
                        return
                    if not data:
                        return
                    if key.fileobj is up:
                        if layer.open:
                            layer.send(data)
                            self._write(client)
                        continue
                    try:
                        layer.receive_data(data)
                    except WebSocketError:
                        self._write(client)
                        return
                    self._write(client)
                    if amqp := layer.received():
                        up.sendall(amqp)


def _broken_sync(front: ThreadFront) -> Any:
    def story(conn: Any) -> BaseException:
        session = conn.open_session(timeout=10)
        front.inject(TEXT_FRAME)
        assert conn.wait_closed(timeout=10)
        with pytest.raises(ConnectionClosedError) as info:
            session.open_sender("q", timeout=5)
        return info.value
    return story


def _broken_async(front: ThreadFront, adapter: str) -> Any:
    async def story(conn: Any) -> BaseException:
        session = await conn.open_session()
        front.inject(TEXT_FRAME)
        if adapter == "trio":
            with trio.fail_after(10):
                await conn.wait_closed()
        else:
            await conn.wait_closed()  # (with_connection's wait_for bounds it)
        with pytest.raises(ConnectionClosedError) as info:
            await session.open_sender("q")
        return info.value
    return story


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_websocket_error_after_the_open_is_the_connection_errors_cause(
        broker: RunningBroker, adapter: str) -> None:
    front = ThreadFront(broker.port)
    story = _broken_sync(front) if adapter == "sync" else _broken_async(front, adapter)
    error = with_connection(adapter, f"amqpws://127.0.0.1:{front.port}/", story,
                            reconnect=False)
    assert isinstance(error, ConnectionClosedError)
    assert "text message" in str(error)
    cause = error.__cause__
    assert isinstance(cause, WebSocketError) and cause.code == 1003, repr(cause)
    front.thread.join(GUARD)
    assert front.layer.close_code == 1003  # our close frame told the peer why


# -- item 3: amqpwss:// to a plain port says amqpws://, not amqps:// --------------------------

def test_connect_failure_hints_the_websocket_schemes() -> None:
    url = parse_url("amqpwss://broker.example:8080/$servicebus/websocket")
    hint = connect_failure(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
                           url)
    assert isinstance(hint, ssl.SSLError)
    assert "Use amqpws:// for a plain port, amqpwss:// for a TLS one (443" in str(hint)
    assert "amqps://" not in str(hint)
    plain = connect_failure(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
                            parse_url("amqps://broker.example"))
    assert "Use amqp:// for a plain port, amqps:// for a TLS one (5671" in str(plain)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_amqpwss_to_a_plain_websocket_port_says_to_use_amqpws(broker: RunningBroker,
                                                              adapter: str) -> None:
    error = open_fails(adapter, f"amqpwss://127.0.0.1:{broker.ws_port}/", connect_timeout=10,
                       reconnect=False)
    assert isinstance(error, ssl.SSLError)
    assert f"127.0.0.1:{broker.ws_port} did not answer in TLS" in str(error)
    assert "Use amqpws:// for a plain port, amqpwss:// for a TLS one" in str(error)


# -- item 5: conn.url keeps a WebSocket URL's path ---------------------------------------------

@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_connections_url_keeps_the_websocket_path(broker: RunningBroker,
                                                      adapter: str) -> None:
    url = f"amqpws://127.0.0.1:{broker.ws_port}{SERVICEBUS_PATH}"
    if adapter == "sync":
        got = with_connection(adapter, url, lambda conn: conn.url)
    else:
        async def story(conn: Any) -> str | None:
            url_now: str | None = conn.url
            return url_now
        got = with_connection(adapter, url, story)
    assert got == url


# -- item 6: the broker's amqpwss:// listener and a client's close_notify ---------------------

def test_the_broker_over_amqpwss_takes_close_notify_without_asyncios_warning(
        tls_broker: RunningBroker, pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    assert tls_broker.ws_port is not None
    raw = socket.create_connection(("127.0.0.1", tls_broker.ws_port), timeout=GUARD)
    sock = pki.client_context().wrap_socket(raw, server_hostname="localhost")
    layer = client_for_url(parse_url(f"amqpwss://localhost:{tls_broker.ws_port}/"))
    sock.sendall(layer.data_to_send())
    while not layer.open:
        layer.receive_data(sock.recv(4096))
    with contextlib.suppress(OSError):
        sock.unwrap()  # our close_notify (the broker answers with its own)
    with contextlib.suppress(OSError):
        while raw.recv(4096):  # until the broker closed the socket
            pass
    raw.close()
    warned = [r.getMessage() for r in caplog.records if "eof_received" in r.getMessage()]
    assert not warned
