"""The connection's story (2.2 headers, 2.4 open/close, 2.4.5 idle, 5.3 SASL), two cores back to back."""

from __future__ import annotations

import pytest

from amqp10_proto import Error, ErrorCondition
from amqp10_proto._connection import Connection
from amqp10_proto._events import (
    Authenticated,
    ConnectionClosed,
    ConnectionFailed,
    ConnectionOpened,
    RemoteBegin,
    SessionEnded,
)
from amqp10_proto._framing import AMQP_HEADER, SASL_HEADER
from amqp10_proto._sasl import SaslAnonymous, SaslPlain, SaslServer
from amqp10_proto._state import ConnectionState
from amqp10_proto.errors import LocalProtocolError, RemoteProtocolError

from .corepair import CorePair


@pytest.mark.parametrize("chunk", [None, 1, 0, 7])
def test_open_and_close_in_any_chunking(chunk: int | None) -> None:
    p = CorePair(chunk=chunk, client={"hostname": "broker.example", "properties": {"p": 1}},
                 server={"offered_capabilities": ["ANONYMOUS-RELAY"]})
    p.open()
    (c_open,) = p.events("client")
    (s_open,) = p.events("server")
    assert isinstance(c_open, ConnectionOpened) and isinstance(s_open, ConnectionOpened)
    assert c_open.remote.container_id == "server"
    assert c_open.remote.offered_capabilities == ["ANONYMOUS-RELAY"]
    assert s_open.remote.hostname == "broker.example"
    assert s_open.remote.properties == {"p": 1}
    assert p.client.state is p.server.state is ConnectionState.OPENED
    p.client.close()
    p.pump()
    (c_closed,) = p.events("client")
    (s_closed,) = p.events("server")
    assert c_closed == ConnectionClosed(error=None, local=True)
    assert s_closed == ConnectionClosed(error=None, local=False)
    assert (p.client.state, p.server.state) == (ConnectionState.END, ConnectionState.END)
    assert p.client.data_to_send() == b"" and p.server.data_to_send() == b""


def test_client_pipelines_header_and_open() -> None:
    c = Connection(container_id="c")
    c.open()
    data = c.data_to_send()
    assert data.startswith(AMQP_HEADER)
    assert data[8 + 8:8 + 8 + 3] == b"\x00\x53\x10"  # the open frame right behind it
    assert c.state is ConnectionState.OPEN_PIPE


def test_pipelined_open_then_close_before_any_reply() -> None:
    p = CorePair()
    p.client.open()
    p.client.close(Error(condition=ErrorCondition.NOT_ALLOWED, description="changed my mind"))
    assert p.client.state is ConnectionState.OC_PIPE
    p.server.open()
    p.pump()
    (s_closed,) = p.events("server", ConnectionClosed)
    assert s_closed.error is not None and s_closed.error.description == "changed my mind"
    assert p.events("client", ConnectionClosed)[0].local is True


def test_close_with_an_error_reaches_the_peer() -> None:
    p = CorePair()
    p.open()
    p.events("client")
    p.server.close(Error(condition=ErrorCondition.CONNECTION_FORCED, description="shutting down",
                         info={"k": "v"}))
    p.pump()
    (ev,) = p.events("client")
    assert isinstance(ev, ConnectionClosed) and not ev.local
    assert ev.error == Error(condition="amqp:connection:forced", description="shutting down",
                             info={"k": "v"})
    assert p.client.error == ev.error


def test_a_wrong_header_gets_ours_back_and_a_clear_error() -> None:
    server = Connection(role="server")
    server.open()
    with pytest.raises(RemoteProtocolError, match="HTTP") as info:
        server.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert info.value.condition == "amqp:not-allowed"
    assert server.data_to_send() == AMQP_HEADER
    failed = server.next_event()
    assert isinstance(failed, ConnectionFailed)
    assert "expected the AMQP protocol header" in (failed.error.description or "")
    ev = server.next_event()
    assert isinstance(ev, ConnectionClosed) and ev.error is failed.error
    assert server.ended
    server.receive_data(b"more bytes are ignored now")
    assert server.next_event() is None


@pytest.mark.parametrize(("first_bytes", "named"), [
    (bytes.fromhex("16 03 01 02 00 01 00 01"), "a TLS handshake"),  # a TLS client's hello
    (bytes.fromhex("15 03 03 00 02 02 46 00"), "a TLS alert"),  # a TLS server's "protocol version"
])
def test_tls_bytes_where_the_header_belongs_are_named(first_bytes: bytes, named: str) -> None:
    client = Connection(role="client", sasl=None)
    client.open()
    client.data_to_send()
    with pytest.raises(RemoteProtocolError, match=named):
        client.receive_data(first_bytes)


def test_a_sasl_header_to_a_server_without_sasl() -> None:
    server = Connection(role="server")
    server.open()
    with pytest.raises(RemoteProtocolError, match="wants SASL"):
        server.receive_data(SASL_HEADER)
    assert server.data_to_send() == AMQP_HEADER


def test_a_client_without_sasl_to_a_sasl_server() -> None:
    p = CorePair(server={"sasl": SaslServer(anonymous=True)})
    p.client.open()
    p.server.open()
    with pytest.raises(RemoteProtocolError, match="requires SASL"):
        p.pump()


def test_peer_closing_the_socket_ends_everything() -> None:
    p = CorePair()
    p.open()
    session = p.client.begin_session()
    p.pump()
    p.events("client")
    p.client.receive_data(b"")
    events = p.events("client")
    assert isinstance(events[0], SessionEnded) and events[0].session is session
    assert isinstance(events[-1], ConnectionClosed)
    assert events[-1].error is not None and events[-1].error.condition == "amqp:connection:forced"
    assert p.client.ended


def test_frames_larger_than_our_max_frame_size_are_a_framing_error() -> None:
    p = CorePair(server={"max_frame_size": 512})
    p.open()
    p.events("server")
    # A begin frame of 600 bytes (its properties padded), larger than the 512 we allow.
    from amqp10_proto._framing import encode_frame
    from amqp10_proto.performatives import Begin

    frame = encode_frame(0, 0, Begin(next_outgoing_id=0, incoming_window=1, outgoing_window=1,
                                     properties={"pad": "x" * 560}))
    assert 512 < len(frame) < 700
    with pytest.raises(RemoteProtocolError, match="exceeds the max-frame-size") as info:
        p.server.receive_data(frame)
    assert info.value.condition == "amqp:connection:framing-error"
    (closed,) = p.events("server", ConnectionClosed)
    assert closed.error is not None and closed.error.condition == "amqp:connection:framing-error"
    p.pump()
    assert p.events("client", ConnectionClosed)[0].error.condition == "amqp:connection:framing-error"


def test_we_never_send_a_frame_larger_than_the_peer_allows() -> None:
    p = CorePair(server={"max_frame_size": 512})
    p.open()
    session = p.client.begin_session()
    p.pump()
    with pytest.raises(LocalProtocolError, match="max-frame-size"):
        session.attach_sender("q", properties={"k": "x" * 2000})


def test_bad_bytes_after_open_close_with_decode_error() -> None:
    p = CorePair()
    p.open()
    frame = b"\x00\x00\x00\x0c\x02\x00\x00\x00" + b"\x00\x53\x10\xff"
    with pytest.raises(RemoteProtocolError) as info:
        p.server.receive_data(frame)
    assert info.value.condition == "amqp:decode-error"
    data = p.server.data_to_send()
    assert b"amqp:decode-error" in data


def test_open_twice_is_a_local_error() -> None:
    c = Connection()
    c.open()
    with pytest.raises(LocalProtocolError):
        c.open()


# -- 2.4.5 idle timeout ------------------------------------------------------------

def test_heartbeats_keep_an_idle_connection_open() -> None:
    p = CorePair(client={"idle_timeout": 10.0}, server={"idle_timeout": 4.0})
    p.open()
    p.tick(0)
    for _ in range(200):  # 200 s of silence but for heartbeats
        p.tick(1.0)
        p.pump()
    assert p.client.opened and p.server.opened
    # The client sends an empty frame at half the server's timeout: 2 s.
    empty = b"\x00\x00\x00\x08\x02\x00\x00\x00"
    sent = b"".join(p.wire["client"])
    assert sent.count(empty) >= 90


def test_silence_beyond_our_idle_timeout_closes_with_resource_limit_exceeded() -> None:
    # 2.4.5: the advertised 5 s is half the real threshold: silence for 9.9 s is
    # tolerated (a peer may send just within what we advertised), 10 s is not.
    p = CorePair(server={"idle_timeout": 5.0})
    p.open()
    p.tick(0)
    assert p.server.tick(9.9) == 10.0
    assert p.server.opened
    assert p.server.tick(10.0) is None
    (ev,) = p.events("server", ConnectionClosed)
    assert ev.local and ev.error is not None
    assert ev.error.condition == "amqp:resource-limit-exceeded"
    assert b"amqp:resource-limit-exceeded" in p.server.data_to_send()


def test_tick_returns_the_next_deadline() -> None:
    p = CorePair(client={"idle_timeout": 30.0}, server={"idle_timeout": 8.0})
    p.open()
    assert p.client.tick(100.0) == 104.0  # half the server's 8 s
    # The server's own deadline is 116 (twice its advertised 8 s of silence), its
    # heartbeat 115 (half the client's 30 s): the earlier wins.
    assert p.server.tick(100.0) == 115.0


# -- 5.3 SASL over the connection -----------------------------------------------------

def test_sasl_plain_success() -> None:
    seen = []

    def check(user: str, password: str) -> bool:
        seen.append((user, password))
        return password == "secret"

    p = CorePair(client={"sasl": SaslPlain("alice", "secret"), "hostname": "h"},
                 server={"sasl": SaslServer(plain=check)})
    p.open()
    c = p.events("client")
    s = p.events("server")
    assert c[0] == Authenticated(mechanism="PLAIN", identity=None)
    assert isinstance(s[0], Authenticated) and s[0].identity == "alice"
    assert isinstance(c[1], ConnectionOpened) and isinstance(s[1], ConnectionOpened)
    assert seen == [("alice", "secret")]


def test_sasl_plain_failure_is_an_authentication_error_not_a_protocol_error() -> None:
    p = CorePair(client={"sasl": SaslPlain("alice", "wrong")},
                 server={"sasl": SaslServer(plain=lambda u, pw: False)})
    p.open()  # no exception: a failed login is an outcome, not a protocol violation
    (ev,) = p.events("client")
    assert isinstance(ev, ConnectionClosed) and not ev.local
    assert ev.error is not None and ev.error.condition == "amqp:unauthorized-access"
    assert "authentication failed" in (ev.error.description or "")
    assert p.client.ended and p.server.ended


def test_sasl_anonymous_and_mechanism_choice() -> None:
    p = CorePair(client={"sasl": [SaslPlain("u", "p"), SaslAnonymous()]},
                 server={"sasl": SaslServer(anonymous=True)})
    p.open()
    assert p.events("client")[0] == Authenticated(mechanism="ANONYMOUS", identity=None)
    assert p.client.opened


def test_sessions_can_begin_right_after_open_is_queued() -> None:
    p = CorePair(client={"sasl": SaslAnonymous()}, server={"sasl": SaslServer(anonymous=True)})
    p.client.open()
    p.server.open()
    p.pump()
    assert p.client.opened
    session = p.client.begin_session()
    p.pump()
    (rb,) = p.events("server", RemoteBegin)
    assert rb.session.remote_channel == session.channel


def test_a_session_begun_during_sasl_waits_for_the_amqp_header() -> None:
    p = CorePair(client={"sasl": SaslAnonymous()}, server={"sasl": SaslServer(anonymous=True)})
    p.client.open()
    session = p.client.begin_session()  # before the SASL outcome
    sent = p.client.data_to_send()
    assert sent == SASL_HEADER  # nothing but the SASL header yet
    p.client._out.append(sent)  # put it back for the pump
    p.server.open()
    p.pump()
    (rb,) = p.events("server", RemoteBegin)
    assert rb.session.remote_channel == session.channel
    wire = b"".join(p.wire["client"])
    assert wire.index(AMQP_HEADER) < wire.index(b"\x00\x53\x11")  # header, open, then begin


def test_a_transport_failure_on_our_side_says_what_happened() -> None:
    p = CorePair()
    p.open()
    session = p.client.begin_session()
    p.pump()
    p.events("client")
    p.client.transport_failed("no answer to close within 5 s")
    events = p.events("client")
    assert isinstance(events[0], SessionEnded) and events[0].session is session
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed) and closed.local
    assert closed.error is not None and closed.error.condition == "amqp:connection:forced"
    assert closed.error.description == "no answer to close within 5 s"
    p.client.transport_failed("again")  # idempotent once ended
    assert p.client.next_event() is None
