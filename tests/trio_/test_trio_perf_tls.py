"""Issue 12 on trio: TLS decrypts every whole record a read brought in one call (trio's
SSLStream gave one 16 KiB record per call, a trip through the scheduler each), and a
caller's own stream gets the same TLS layer through ``connect(..., ssl_context=)``."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
import trio
import trio.testing

import amqp10_trio as amqp
from amqp10_proto import Accepted, Message
from amqp10_trio._tls import TlsStream
from tests.sync.fakepeer import FakePeer


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(crt), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, crt


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    return ctx


def test_one_receive_decrypts_every_record_the_read_brought(cert: tuple[Path, Path]) -> None:
    payload = bytes(range(256)) * 256  # 64 KiB: four full TLS records at least

    async def main() -> None:
        near, far = trio.testing.memory_stream_pair()
        server = trio.SSLStream(far, server_context(cert), server_side=True)
        client = TlsStream(near, ssl.create_default_context(cafile=str(cert[1])), "localhost")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.do_handshake)
            nursery.start_soon(client.do_handshake)
        await server.send_all(payload)
        got = await client.receive_some()
        assert got == payload  # all of it at once (trio.SSLStream: 16 KiB per call)
        await client.aclose()
        assert await server.receive_some() == b""  # our close_notify: a clean end

    trio.run(main)


def test_a_refused_certificate_is_a_broken_resource_naming_why(cert: tuple[Path, Path]) -> None:
    failures: dict[str, BaseException] = {}

    async def main() -> None:
        near, far = trio.testing.memory_stream_pair()
        server = trio.SSLStream(far, server_context(cert), server_side=True)
        client = TlsStream(near, ssl.create_default_context(), "localhost")  # not trusted

        async def shake(name: str, stream: trio.abc.Stream) -> None:
            assert isinstance(stream, (trio.SSLStream, TlsStream))
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError as exc:
                failures[name] = exc

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(shake, "client", client)
                nursery.start_soon(shake, "server", server)  # told by our alert

    trio.run(main)
    assert isinstance(failures["client"].__cause__, ssl.SSLCertVerificationError)
    assert "server" in failures


def test_connect_wraps_a_given_stream_in_tls_and_moves_a_large_message(
        cert: tuple[Path, Path]) -> None:
    peer = FakePeer(ssl_context=server_context(cert))
    big = bytes(range(256)) * 4096  # 1 MiB: many records each way

    async def main() -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", peer.port)
        ctx = ssl.create_default_context(cafile=str(cert[1]))
        async with amqp.connect(stream, ssl_context=ctx, server_hostname="localhost",
                                sasl=None) as conn, \
                conn.open_session() as s, s.open_sender("q") as sender:
            assert isinstance(await sender.send(Message(big), timeout=10), Accepted)

    try:
        trio.run(main)
    finally:
        peer.close()
    assert peer.received == [big]
