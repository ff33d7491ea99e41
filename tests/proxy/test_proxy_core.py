"""The sans-IO HTTP CONNECT handshake and the choice of proxy (amqp10_proto._proxy),
then the handshake against a real tinyproxy, through a plain socket."""

from __future__ import annotations

import base64
import socket
import threading

import pytest

from amqp10_proto import parse_url
from amqp10_proto._proxy import (
    MAX_PROXY_RESPONSE,
    ProxyHandshake,
    ProxyURL,
    bypass_proxy,
    parse_proxy_url,
    proxy_for,
)
from amqp10_proto.errors import ProxyAuthenticationError, ProxyError
from tests.proxy.tinyproxy import PASSWORD, USER, Proxy

PROXY = ProxyURL("proxy.example", 3128)


def test_the_request_names_the_target_and_carries_basic_credentials() -> None:
    hs = ProxyHandshake(ProxyURL("p", 8080, "al ice", "pa:ss"), "broker.example", 5671)
    token = base64.b64encode(b"al ice:pa:ss").decode()
    assert hs.data_to_send() == (b"CONNECT broker.example:5671 HTTP/1.1\r\n"
                                 b"Host: broker.example:5671\r\n"
                                 b"Proxy-Authorization: Basic " + token.encode() + b"\r\n\r\n")
    assert hs.data_to_send() == b""  # once


def test_an_ipv6_target_is_bracketed_and_no_credentials_means_no_header() -> None:
    hs = ProxyHandshake(PROXY, "::1", 5672)
    assert hs.data_to_send() == b"CONNECT [::1]:5672 HTTP/1.1\r\nHost: [::1]:5672\r\n\r\n"


def test_a_200_split_anywhere_opens_the_tunnel_and_keeps_what_follows() -> None:
    hs = ProxyHandshake(PROXY, "b", 1)
    answer = b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nAMQP\x00\x01\x00\x00"
    cut = answer.index(b"\r\n\r\n") + 3  # all but the last byte of the header block
    for i in range(cut):
        hs.receive_data(answer[i:i + 1])
        assert not hs.done
    hs.receive_data(answer[cut:])
    assert hs.done and hs.trailing == b"AMQP\x00\x01\x00\x00"
    with pytest.raises(ValueError, match="tunnel is open"):
        hs.receive_data(b"more")


@pytest.mark.parametrize(("answer", "kind", "status", "text"), [
    (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", ProxyAuthenticationError, 407,
     "asks for credentials"),
    (b"HTTP/1.0 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!", ProxyError, 403, "403 Forbidden"),
    (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", ProxyError, 502, "502 Bad Gateway"),
])
def test_a_refusal_is_typed_with_its_status(answer: bytes, kind: type[ProxyError], status: int,
                                            text: str) -> None:
    hs = ProxyHandshake(PROXY, "b", 1)
    with pytest.raises(kind, match=text) as info:
        hs.receive_data(answer)
    assert info.value.status == status and info.value.proxy == "proxy.example:3128"
    assert isinstance(info.value, ConnectionError)


def test_refused_credentials_say_so() -> None:
    hs = ProxyHandshake(ProxyURL("p", 1, "u", "wrong"), "b", 1)
    with pytest.raises(ProxyAuthenticationError, match="credentials given were refused"):
        hs.receive_data(b"HTTP/1.1 407 Nope\r\n\r\n")


@pytest.mark.parametrize("answer", [b"AMQP\x00\x01\x00\x00", b"SSH-2.0-OpenSSH\r\n\r\n",
                                    b"HTTP/1.1 abc Bad\r\n\r\n"])
def test_an_answer_that_is_not_http_is_a_proxy_error(answer: bytes) -> None:
    with pytest.raises(ProxyError, match="did not answer as an HTTP proxy"):
        ProxyHandshake(PROXY, "b", 1).receive_data(answer)


def test_an_endless_header_is_refused_at_the_bound_and_a_close_is_an_error() -> None:
    hs = ProxyHandshake(PROXY, "b", 1)
    hs.receive_data(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProxyError, match=f"more than {MAX_PROXY_RESPONSE} bytes"):
        for _ in range(MAX_PROXY_RESPONSE // 100 + 2):
            hs.receive_data(b"X-Pad: " + b"a" * 91 + b"\r\n")
    with pytest.raises(ProxyError, match="closed the connection before answering"):
        ProxyHandshake(PROXY, "b", 1).receive_data(b"")


def test_proxy_urls_parse_with_defaults_and_hide_the_password() -> None:
    assert parse_proxy_url("http://u%40x:p%3Aw@host:3128") == ProxyURL("host", 3128, "u@x", "p:w")
    assert parse_proxy_url("proxy:81") == ProxyURL("proxy", 81)
    assert parse_proxy_url("http://[::1]") == ProxyURL("::1", 8080)
    assert "p:w" not in repr(parse_proxy_url("http://u:p:w@h"))
    for bad, text in [("https://h:1", "only http://"), ("http://:1", "no host"),
                      ("http://h:1/path", "path"), ("http://u:secret@h:99999", "malformed")]:
        with pytest.raises(ValueError, match=text) as info:
            parse_proxy_url(bad)
        assert "secret" not in str(info.value)
    with pytest.raises(TypeError):
        parse_proxy_url(b"http://h")  # type: ignore[arg-type]


def test_which_variable_serves_which_scheme_and_no_proxy_exempts() -> None:
    env = {"HTTPS_PROXY": "http://secure:1", "http_proxy": "http://plain:2",
           "NO_PROXY": "internal.example,.corp, 10.0.0.0/8,[::1]:5671,host:5672"}
    def via(url: str) -> ProxyURL | None:
        return proxy_for(parse_url(url), None, env)
    assert via("amqps://broker.example") == ProxyURL("secure", 1)
    assert via("amqpwss://broker.example/$servicebus/websocket") == ProxyURL("secure", 1)
    assert via("amqpws://broker.example") == ProxyURL("plain", 2)
    assert via("amqp://broker.example") is None  # raw TCP takes no HTTP proxy variable
    assert via("amqps://internal.example") is None
    assert via("amqps://a.b.internal.example") is None
    assert via("amqps://x.corp") is None
    assert via("amqps://10.1.2.3") is None
    assert via("amqps://[::1]:5671") is None
    assert via("amqps://[::1]:5672") == ProxyURL("secure", 1)  # the entry's port differs
    assert via("amqps://host:5671") == ProxyURL("secure", 1)
    assert via("amqps://notinternal.example") == ProxyURL("secure", 1)
    assert bypass_proxy("anything", 1, "*")
    assert not bypass_proxy("anything", 1, "")


def test_an_explicit_proxy_wins_and_false_means_direct() -> None:
    env = {"https_proxy": "http://envproxy:1"}
    url = parse_url("amqp://broker")
    assert proxy_for(url, "http://mine:3", env) == ProxyURL("mine", 3)  # even for amqp://
    assert proxy_for(parse_url("amqps://b"), False, env) is None
    assert proxy_for(parse_url("amqps://b"), None, None) is None
    with pytest.raises(TypeError, match="not True"):
        proxy_for(url, True, env)  # type: ignore[arg-type]


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))
    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data.upper())
    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _tunnel(proxy: ProxyURL, port: int) -> tuple[socket.socket, ProxyHandshake]:
    sock = socket.create_connection((proxy.host, proxy.port), timeout=5)
    hs = ProxyHandshake(proxy, "127.0.0.1", port)
    sock.sendall(hs.data_to_send())
    try:
        while not hs.done:
            hs.receive_data(sock.recv(4096))
    except BaseException:
        sock.close()
        raise
    return sock, hs


def test_tinyproxy_opens_a_tunnel_bytes_go_through(open_proxy: Proxy) -> None:
    server, port = _echo_server()
    with server:
        sock, hs = _tunnel(parse_proxy_url(open_proxy.url), port)
        with sock:
            sock.sendall(b"amqp")
            assert hs.trailing + sock.recv(16) == b"AMQP"


def test_tinyproxy_with_basic_auth(auth_proxy: Proxy) -> None:
    server, port = _echo_server()
    with server:
        with pytest.raises(ProxyAuthenticationError, match="asks for credentials") as info:
            _tunnel(parse_proxy_url(auth_proxy.url_without_credentials), port)
        assert info.value.status in (401, 407)  # tinyproxy 1.11 answers 401
        with pytest.raises(ProxyAuthenticationError, match="refused"):
            _tunnel(ProxyURL("127.0.0.1", auth_proxy.port, USER, "wrong"), port)
        sock, _ = _tunnel(ProxyURL("127.0.0.1", auth_proxy.port, USER, PASSWORD), port)
        with sock:
            sock.sendall(b"ok")
            assert sock.recv(16) == b"OK"


def test_tinyproxy_answers_a_closed_port_with_an_error(open_proxy: Proxy) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProxyError) as info:
        _tunnel(parse_proxy_url(open_proxy.url), port)
    assert info.value.status is not None and info.value.status >= 400
