"""amqp10_ws's sans-IO layer, told as the binding's story: two layers back to back, then
a hostile peer's exact bytes (RFC 6455 frames written out by hand) against each role."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto.errors import LocalProtocolError, RemoteProtocolError
from amqp10_ws import (
    WebSocketError,
    WebSocketHandshakeError,
    WebSocketLayer,
    WsState,
)

from .wspump import AMQP_HEADER, frame, upgrade


def open_server(**options: object) -> WebSocketLayer:
    server = WebSocketLayer("server", **options)  # type: ignore[arg-type]
    server.receive_data(upgrade())
    assert server.data_to_send().startswith(b"HTTP/1.1 101 ")
    return server


def connected_pair(**client: object) -> tuple[WebSocketLayer, WebSocketLayer]:
    c = WebSocketLayer("client", host="broker.example:8080", path="/$servicebus/websocket",
                       **client)  # type: ignore[arg-type]
    s = WebSocketLayer("server")
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    return c, s


# -- the handshake and the stream ------------------------------------------------------------

def test_the_client_asks_for_amqp_on_any_path_and_the_server_echoes_it() -> None:
    client = WebSocketLayer("client", host="broker.example:8080", path="/$servicebus/websocket")
    client.send(AMQP_HEADER)  # before the upgrade: held, not framed yet
    request = client.data_to_send()
    head = request.split(b"\r\n")
    assert head[0] == b"GET /$servicebus/websocket HTTP/1.1"
    assert b"Host: broker.example:8080" in head
    assert b"Sec-WebSocket-Protocol: amqp, AMQPWSB10" in head
    assert request.endswith(b"\r\n\r\n")  # nothing framed before the 101
    server = WebSocketLayer("server")
    server.receive_data(request)
    answer = server.data_to_send()
    assert answer.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Protocol: amqp\r\n" in answer
    assert (server.path, server.host, server.subprotocol) == (
        "/$servicebus/websocket", "broker.example:8080", "amqp")
    client.receive_data(answer)
    assert client.open and client.subprotocol == "amqp"
    server.receive_data(client.data_to_send())  # the held header, now in a binary frame
    assert server.received() == AMQP_HEADER
    server.send(AMQP_HEADER)
    wire = server.data_to_send()
    assert wire == b"\x82\x08" + AMQP_HEADER  # 5.2: FIN, binary, unmasked from a server
    client.receive_data(wire)
    assert client.received() == AMQP_HEADER and client.received() == b""


def test_the_server_takes_the_drafts_name_that_azure_offers() -> None:
    server = WebSocketLayer("server")
    server.receive_data(upgrade("AMQPWSB10"))
    assert b"Sec-WebSocket-Protocol: AMQPWSB10\r\n" in server.data_to_send()
    assert server.subprotocol == "AMQPWSB10"


@pytest.mark.parametrize("offer", [None, "mqtt", "AMQP"])
def test_an_upgrade_without_the_amqp_subprotocol_is_refused_400(offer: str | None) -> None:
    server = WebSocketLayer("server")
    with pytest.raises(WebSocketHandshakeError) as info:
        server.receive_data(upgrade(offer))
    assert info.value.status == 400 and "subprotocol 'amqp'" in str(info.value)
    answer = server.data_to_send()
    assert answer.startswith(b"HTTP/1.1 400 ") and b"subprotocol 'amqp'" in answer
    assert server.closed
    # The client reading that answer fails typed too, with the status.
    client = WebSocketLayer("client", host="h", subprotocols=["mqtt"])
    client.data_to_send()
    with pytest.raises(WebSocketHandshakeError) as got:
        client.receive_data(answer)
    assert got.value.status == 400 and client.closed


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),                       # plain HTTP
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 400),  # not a GET
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400),      # a TLS hello
    (upgrade().replace(b"Version: 13", b"Version: 8"), 426),           # 4.4: versions
])
def test_a_bad_upgrade_is_answered_with_an_http_error(request_bytes: bytes, status: int) -> None:
    server = WebSocketLayer("server")
    with pytest.raises(WebSocketHandshakeError) as info:
        server.receive_data(request_bytes)
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.status == status
    assert server.data_to_send().startswith(b"HTTP/1.1 %d " % status) and server.closed


def test_an_amqp_header_on_the_websocket_port_fails_at_once() -> None:
    server = WebSocketLayer("server")
    with pytest.raises(WebSocketHandshakeError, match="amqpws://"):
        server.receive_data(AMQP_HEADER)
    assert server.data_to_send() == b""  # an AMQP peer reads no HTTP


def test_an_endless_header_block_is_refused_after_h11s_limit() -> None:
    server = WebSocketLayer("server")
    server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n")
    fed = 0
    with pytest.raises(WebSocketHandshakeError):
        while fed < 1 << 20:  # never ends its headers
            server.receive_data(b"X-Pad: " + b"a" * 1000 + b"\r\n")
            fed += 1009
    assert fed < 32 * 1024  # h11 holds at most 16 KiB of an incomplete head


def test_a_101_without_a_subprotocol_fails_the_client() -> None:
    client = WebSocketLayer("client", host="h")
    request = client.data_to_send().decode()
    key = next(line.split(": ")[1] for line in request.split("\r\n")
               if line.startswith("Sec-WebSocket-Key"))
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    answer = (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
              f"\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode()
    with pytest.raises(WebSocketHandshakeError, match="without the subprotocol 'amqp'"):
        client.receive_data(answer)
    close = client.data_to_send()
    assert close[0] == 0x88 and struct.unpack("!H", unmask(close)[:2]) == (1002,)


def test_a_101_with_a_wrong_accept_token_fails_the_client() -> None:
    client = WebSocketLayer("client", host="h")
    client.data_to_send()
    with pytest.raises(WebSocketHandshakeError, match="accept"):
        client.receive_data(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            b"Connection: Upgrade\r\nSec-WebSocket-Accept: bm90IGl0\r\n"
                            b"Sec-WebSocket-Protocol: amqp\r\n\r\n")


def test_the_peer_closing_mid_handshake_is_a_handshake_error() -> None:
    client = WebSocketLayer("client", host="h")
    client.data_to_send()
    client.receive_data(b"HTTP/1.1 101 Swi")
    with pytest.raises(WebSocketHandshakeError, match="during the WebSocket handshake"):
        client.receive_data(b"")


def unmask(data: bytes) -> bytes:
    """The payload of one short masked frame (as our client sends)."""
    n = data[1] & 0x7F
    key = data[2:6]
    return bytes(b ^ key[i % 4] for i, b in enumerate(data[6:6 + n]))


def test_frames_sent_right_behind_the_upgrade_request_are_not_lost() -> None:
    # A client should wait for the 101 (RFC 6455 4.1); one that does not is still read.
    server = WebSocketLayer("server")
    server.receive_data(upgrade() + frame(0x2, AMQP_HEADER) + frame(0x2, b"more"))
    assert server.data_to_send().startswith(b"HTTP/1.1 101 ")
    assert server.received() == AMQP_HEADER + b"more"


def test_large_sends_are_split_into_frames_and_joined_by_the_reader() -> None:
    client, server = connected_pair(send_frame_size=1000)
    payload = os.urandom(2500)
    client.send(payload)
    wire = client.data_to_send()
    assert wire.count(b"\x82\xfe\x03\xe8") == 2  # two masked 1000-byte frames, then 500
    for i in range(0, len(wire), 7):  # any chunking of the socket's reads
        server.receive_data(wire[i:i + 7])
    assert server.received() == payload


def test_a_fragmented_message_is_passed_on_as_it_comes() -> None:
    server = open_server()
    parts = [frame(0x2, AMQP_HEADER[:3], fin=False), frame(0x9, b"hi"),  # a ping between
             frame(0x0, AMQP_HEADER[3:5], fin=False), frame(0x0, AMQP_HEADER[5:])]
    server.receive_data(parts[0])
    assert server.received() == b"AMQ"  # not held until the message ends
    for part in parts[1:]:
        server.receive_data(part)
    assert server.received() == AMQP_HEADER[3:]
    assert server.data_to_send() == b"\x8a\x02hi"  # the pong, unmasked


def test_only_the_latest_of_several_pings_is_answered() -> None:
    server = open_server()
    server.receive_data(frame(0x9, b"one") + frame(0x9, b"two"))
    assert server.data_to_send() == b"\x8a\x03two"  # 5.5.3 allows answering the latest only
    client, server = connected_pair()
    client.ping(b"p")
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert client.pongs == 1


def test_a_text_message_is_closed_1003() -> None:
    server = open_server()
    with pytest.raises(WebSocketError) as info:
        server.receive_data(frame(0x1, b"AMQP"))
    assert info.value.code == 1003
    close = server.data_to_send()
    assert close[:4] == b"\x88" + bytes([len(close) - 2]) + b"\x03\xeb"
    assert b"binary messages" in close and server.closed and server.received() == b""


def test_an_unmasked_client_frame_is_a_protocol_error() -> None:
    server = open_server()
    with pytest.raises(WebSocketError) as info:
        server.receive_data(frame(0x2, AMQP_HEADER, mask=None))  # 5.1: clients mask
    assert info.value.code == 1002
    close = server.data_to_send()
    assert close[0] == 0x88 and close[2:4] == b"\x03\xea" and server.closed


def test_an_oversized_frame_is_closed_1009_without_buffering_it() -> None:
    server = open_server(max_frame_size=4 << 20)
    # A frame announcing 2**40 bytes, streamed 1 MiB at a time: nothing is held back.
    server.receive_data(b"\x82\xff" + struct.pack("!Q", 1 << 40) + b"\x00\x00\x00\x00")
    chunk = b"\x00" * (1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(WebSocketError) as info:
            for _ in range(5):
                server.receive_data(chunk)
                assert len(server.received()) == len(chunk)  # passed on as it came
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == 1009 and "max_frame_size" in str(info.value)
    assert peak < 8 << 20  # a few copies of one read, never the frame
    close = server.data_to_send()
    assert close[:2] == b"\x88" + bytes([len(close) - 2]) and close[2:4] == b"\x03\xf1"


def test_the_socket_closing_inside_a_frame_is_an_error_not_a_short_read() -> None:
    server = open_server()
    whole = frame(0x2, b"x" * 100)
    server.receive_data(whole[:20])
    assert len(server.received()) == 20 - 6  # the payload so far
    with pytest.raises(WebSocketError, match="inside a WebSocket frame") as info:
        server.receive_data(b"")
    assert info.value.code == 1006 and server.closed


def test_the_socket_closing_between_frames_is_the_end_of_the_stream() -> None:
    server = open_server()
    server.receive_data(frame(0x2, AMQP_HEADER))
    server.receive_data(b"")
    assert server.received() == AMQP_HEADER and server.eof and server.close_code == 1006


def test_a_close_frame_is_answered_and_ends_the_stream() -> None:
    client, server = connected_pair()
    client.send(AMQP_HEADER)
    client.close(1000, "bye")
    assert client.state is WsState.CLOSING
    with pytest.raises(LocalProtocolError):
        client.send(b"more")  # nothing goes after our close frame
    server.receive_data(client.data_to_send())
    assert server.received() == AMQP_HEADER and server.eof
    assert (server.close_code, server.close_reason) == (1000, "bye")
    answer = server.data_to_send()
    assert answer == b"\x88\x05\x03\xe8bye"  # the close echoed (5.5.1)
    client.receive_data(answer)
    assert client.closed and client.eof
    client.receive_data(b"late bytes")  # after the close: ignored
    assert client.received() == b""


def test_bad_arguments_are_refused_before_anything_is_queued() -> None:
    with pytest.raises(ValueError, match="host"):
        WebSocketLayer("client")
    with pytest.raises(ValueError, match="path"):
        WebSocketLayer("client", host="h", path="no slash")
    with pytest.raises(ValueError, match="subprotocols"):
        WebSocketLayer("server", subprotocols=["a b"])
    with pytest.raises(ValueError, match="max_frame_size"):
        WebSocketLayer("server", max_frame_size=0)
    with pytest.raises(ValueError, match="role"):
        WebSocketLayer("proxy")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        WebSocketLayer("server").ping()


def test_without_wsproto_the_import_error_names_the_extra() -> None:
    code = ("import sys\nsys.modules['wsproto'] = None\n"
            "try:\n    import amqp10_ws\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert "pip install 'amqp10[ws]'" in out.stdout


# -- the frames we build ourselves (5.2 lengths, 5.3 masking) ---------------------------------

def _parse_frames(wire: bytes) -> list[tuple[int, bytes | None, bytes]]:
    """RFC 6455 5.2 read by hand: (first byte, masking key or None, unmasked payload)."""
    frames = []
    at = 0
    while at < len(wire):
        first, second = wire[at], wire[at + 1]
        n, at = second & 0x7F, at + 2
        if n == 126:
            (n,), at = struct.unpack_from("!H", wire, at), at + 2
            assert n >= 126  # the fewest bytes that hold the length
        elif n == 127:
            (n,), at = struct.unpack_from("!Q", wire, at), at + 8
            assert n >= 65536
        key = None
        if second & 0x80:
            key, at = wire[at:at + 4], at + 4
        payload = wire[at:at + n]
        at += n
        if key is not None:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        frames.append((first, key, payload))
    return frames


@pytest.mark.parametrize("size", [1, 3, 4, 5, 125, 126, 127, 65535, 65536, 70001])
def test_a_client_frame_of_each_length_form_is_masked_and_reads_back(size: int) -> None:
    client, server = connected_pair(send_frame_size=1 << 20)
    payload = os.urandom(size)
    client.send(payload)
    client.send(memoryview(payload)[: size // 2 or 1])  # a view goes out the same
    wire = client.data_to_send()
    (f1, k1, p1), (f2, k2, p2) = _parse_frames(wire)
    assert f1 == f2 == 0x82  # FIN, binary
    assert p1 == payload and p2 == payload[: size // 2 or 1]
    assert k1 is not None and k2 is not None and k1 != k2  # a fresh key per frame
    if size >= 4:
        assert wire[-len(p2):] != p2 or size // 2 < 4  # masked on the wire, not in clear
    for i in range(0, len(wire), 4093):  # the server's wsproto reads it, in any chunks
        server.receive_data(wire[i:i + 4093])
    assert server.received() == payload + payload[: size // 2 or 1]


def test_a_server_frame_is_unmasked_and_every_key_differs_over_many_frames() -> None:
    client, server = connected_pair()
    server.send(b"x" * 200)
    ((first, key, payload),) = _parse_frames(server.data_to_send())
    assert (first, key, payload) == (0x82, None, b"x" * 200)
    for _ in range(1500):  # across the layer's batches of keys
        client.send(b"abcd")
    keys = [k for _, k, _ in _parse_frames(client.data_to_send())]
    assert len(keys) == 1500 and len(set(keys)) > 1490  # 32 random bits each


# -- the fast path for whole binary frames (RFC 6455 5.2) -------------------------------------
# A whole, final, binary frame in minimal encoding bypasses wsproto while wsproto is between
# messages; everything else goes to wsproto. Fed one byte at a time, no frame is ever whole
# in a read, so that feeding is wsproto's path alone: the reference each split must match.

def _open(role: str, max_frame_size: int) -> tuple[WebSocketLayer, bytes]:
    """A layer of ``role`` and the bytes that open it (the 101 answer or the request)."""
    if role == "server":
        return WebSocketLayer("server", max_frame_size=max_frame_size), upgrade()
    client = WebSocketLayer("client", host="h", max_frame_size=max_frame_size)
    peer = WebSocketLayer("server")
    peer.receive_data(client.data_to_send())
    client.data_to_send()
    return client, peer.data_to_send()


def _outcome(role: str, wire: bytes, cuts: list[int], max_frame_size: int,
             ) -> tuple[bytes, object, int | None, WsState, int | None]:
    """Feed ``wire`` split at ``cuts``: the AMQP bytes, what was answered, the error's code."""
    layer, opening = _open(role, max_frame_size)
    stream = opening + wire
    bounds = [0, *sorted({min(c, len(stream)) for c in cuts}), len(stream)]
    got, out, code = [], [], None
    try:
        for a, b in itertools.pairwise(bounds):
            if a < b:
                layer.receive_data(stream[a:b])
                got.append(layer.received())
                out.append(layer.data_to_send())
    except WebSocketError as exc:
        code = exc.code
        out.append(layer.data_to_send())
    # Masking keys vary; a pong depends on the reads anyway (only the latest ping before
    # data_to_send is answered, none once a close came in the same read: 5.5.3, 5.5.1).
    wire_out = b"".join(out)
    if wire_out.startswith(b"HTTP/1.1 101 "):  # the server's answer to the upgrade
        wire_out = wire_out.split(b"\r\n\r\n", 1)[1]
    frames = [(op, payload) for op, _, payload in _parse_frames(wire_out) if op != 0x8A]
    return b"".join(got), frames, code, layer.state, layer.close_code


def _bad(role: str, kind: str, max_frame_size: int) -> bytes:
    """One frame each rule refuses, masked as ``role``'s peer masks (unless that is the flaw)."""
    key = None if role == "client" else b"\x01\x02\x03\x04"
    if kind == "masked-to-client":
        return frame(0x2, b"abc", mask=b"\x01\x02\x03\x04" if role == "client" else None)
    if kind == "rsv1":
        whole = frame(0x2, b"abc", mask=key)
        return bytes([whole[0] | 0x40]) + whole[1:]
    if kind == "text":
        return frame(0x1, b"AMQP", mask=key)
    if kind == "non-minimal":  # 5.2: 5 bytes announced in the 16-bit form
        bit = 0x80 if key else 0
        return b"\x82" + bytes([bit | 126]) + struct.pack("!H", 5) + (key or b"") + b"\x00" * 5
    assert kind == "oversize"
    return frame(0x2, b"z" * (max_frame_size + 1), mask=key)


_BAD_KINDS = ["masked-to-client", "rsv1", "text", "non-minimal", "oversize"]
_piece = st.one_of(
    st.tuples(st.just("bin"), st.binary(max_size=300)),
    st.tuples(st.just("ping"), st.binary(max_size=20)),
    st.tuples(st.just("frag"), st.lists(st.binary(max_size=150), min_size=2, max_size=4)),
    st.tuples(st.just("empty"), st.just(b"")),
)


@settings(max_examples=300, deadline=None)
@given(role=st.sampled_from(["client", "server"]), pieces=st.lists(_piece, max_size=12),
       tail=st.sampled_from([None, "close", *_BAD_KINDS]),
       cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=12))
def test_the_fast_path_gives_what_wsproto_gives_for_any_split(
        role: str, pieces: list[tuple[str, object]], tail: str | None, cuts: list[int]) -> None:
    key = None if role == "client" else b"\x0f\xf0\x55\xaa"  # as the peer masks
    wire = b""
    for kind, value in pieces:
        if kind == "frag":  # a fragmented message, a ping inside it (5.4, 5.5)
            assert isinstance(value, list)
            wire += frame(0x2, value[0], fin=False, mask=key)
            for part in value[1:-1]:
                wire += frame(0x0, part, fin=False, mask=key) + frame(0x9, b"in", mask=key)
            wire += frame(0x0, value[-1], mask=key)
        else:
            assert isinstance(value, bytes)
            wire += frame(0x9 if kind == "ping" else 0x2, value, mask=key)
    if tail == "close":
        wire += frame(0x8, struct.pack("!H", 1000), mask=key)
    elif tail is not None:
        wire += _bad(role, tail, 200)
    fast = _outcome(role, wire, cuts, 200)
    _, opening = _open(role, 200)
    slow = _outcome(role, wire, list(range(1, len(opening) + len(wire))), 200)
    assert fast[1:] == slow[1:]
    if fast[2] is None:
        assert fast[0] == slow[0]
    else:  # 7.1.7: the failing read's AMQP bytes are dropped, those of earlier reads not
        assert slow[0].startswith(fast[0])
    expected = b"".join(v if isinstance(v, bytes) else b"".join(v)  # type: ignore[arg-type]
                        for k, v in pieces if k != "ping")
    if tail in (None, "close") and len(expected) <= 200 * 100:
        assert fast[0] == expected or fast[2] == 1009  # a frame over 200 bytes is refused


@pytest.mark.parametrize(("role", "kind", "code"), [
    ("client", "masked-to-client", 1002), ("server", "masked-to-client", 1002),
    ("client", "rsv1", 1002), ("server", "text", 1003), ("client", "non-minimal", 1002),
    ("server", "non-minimal", 1002), ("client", "oversize", 1009), ("server", "oversize", 1009)])
def test_a_frame_off_the_fast_path_still_fails_typed(role: str, kind: str, code: int) -> None:
    layer, opening = _open(role, 64)
    layer.receive_data(opening)
    layer.data_to_send()  # the server's 101
    good = frame(0x2, b"AMQP", mask=None if role == "client" else b"\x01\x02\x03\x04")
    with pytest.raises(WebSocketError) as info:
        layer.receive_data(good + _bad(role, kind, 64) + good)  # one read, fast frames around
    assert info.value.code == code and layer.closed
    [(first, _, close)] = _parse_frames(layer.data_to_send())  # 7.1.7: our close frame
    assert first == 0x88 and struct.unpack_from("!H", close) == (code,)
    assert layer.received() == b""  # 7.1.7: a failed transport, not a half stream


def test_a_masked_frame_to_the_server_is_unmasked_on_the_fast_path() -> None:
    server = open_server()
    payload = bytes(range(256)) * 5 + b"abc"  # 1283 bytes: the 16-bit length, a ragged end
    server.receive_data(frame(0x2, payload, mask=b"\x9a\x00\xff\x13") + frame(0x2, b""))
    assert server.received() == payload


@pytest.mark.parametrize("role", ["client", "server"])
def test_a_frame_begun_in_the_opening_read_is_wsprotos_to_finish(role: str) -> None:
    # The read with the 101 (or the upgrade request) ends 2 bytes into a frame whose payload
    # looks like whole frames: they are its payload, not frames (5.2: the length counts).
    layer, opening = _open(role, 1 << 20)
    inner = frame(0x2, b"evil", mask=None) * 10
    outer = frame(0x2, inner, mask=None if role == "client" else b"\x00\x00\x00\x00")
    cut = 2 if role == "client" else 6
    layer.receive_data(opening + outer[:cut])
    layer.receive_data(outer[cut:] + frame(0x2, b"next", mask=None if role == "client"
                                           else b"\x00\x00\x00\x00"))
    assert layer.received() == inner + b"next"
