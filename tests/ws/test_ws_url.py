"""amqpws:// and amqpwss:// URLs (the names Apache Qpid JMS uses): default ports 80 and
443, any request path, the Host header; the amqp:// forms keep their meaning."""

from __future__ import annotations

import pytest

from amqp10_proto import parse_url
from amqp10_ws import WebSocketLayer, client_for_url


@pytest.mark.parametrize("url, port, path, tls, host_header", [
    ("amqpws://broker.example", 80, "/", False, "broker.example"),
    ("amqpwss://ns.servicebus.windows.net/$servicebus/websocket", 443,
     "/$servicebus/websocket", True, "ns.servicebus.windows.net"),
    ("amqpws://127.0.0.1:35807/a/b/c?x=1", 35807, "/a/b/c?x=1", False, "127.0.0.1:35807"),
    ("AMQPWSS://[::1]:8443/ws", 8443, "/ws", True, "[::1]:8443"),
    ("amqpwss://h:443/", 443, "/", True, "h"),
])
def test_a_websocket_url_names_port_path_and_host_header(url: str, port: int, path: str,
                                                         tls: bool, host_header: str) -> None:
    parsed = parse_url(url)
    assert parsed.ws and parsed.tls is tls
    assert (parsed.port, parsed.path, parsed.vhost, parsed.ws_host) == (port, path, None,
                                                                       host_header)
    layer = client_for_url(parsed)
    head = layer.data_to_send().split(b"\r\n")
    assert head[0] == f"GET {path} HTTP/1.1".encode()
    assert f"Host: {host_header}".encode() in head


def test_credentials_of_a_websocket_url_are_for_sasl_and_never_shown() -> None:
    parsed = parse_url("amqpwss://user:p%40ss@h/$servicebus/websocket")
    assert (parsed.username, parsed.password) == ("user", "p@ss")
    assert repr(parsed) == "ParsedURL('amqpwss://user:***@h:443/$servicebus/websocket')"


def test_amqp_urls_are_unchanged_and_not_websocket() -> None:
    plain = parse_url("amqps://h/vh")
    assert not plain.ws and plain.tls and plain.path is None and plain.vhost == "vh"
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        client_for_url(plain)
    with pytest.raises(ValueError, match="query"):
        parse_url("amqp://h/?x=1")  # a query is still refused where it means nothing


@pytest.mark.parametrize("url, text", [
    ("amqpws://h/a b", "printable ASCII"),
    ("amqpws://h/caf\u00e9", "percent-encode"),
    ("amqpws://h/#frag", "fragment"),
    ("ws://h/", "amqpws://"),
    ("amqpws://:80/", "no host"),
])
def test_a_bad_websocket_url_says_why(url: str, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        parse_url(url)


def test_client_for_url_passes_the_options_on() -> None:
    layer = client_for_url(parse_url("amqpws://h/"), subprotocols=["AMQPWSB10"],
                           send_frame_size=10)
    assert isinstance(layer, WebSocketLayer) and layer.subprotocols == ("AMQPWSB10",)
    assert b"Sec-WebSocket-Protocol: AMQPWSB10\r\n" in layer.data_to_send()
