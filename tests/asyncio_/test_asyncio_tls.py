"""amqps:// through the standard ssl module (loop.create_connection), with a test-made certificate."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import Message
from tests.sync.fakepeer import FakePeer

from .helpers import no_other_tasks, run


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, crt


def server(cert: tuple[Path, Path]) -> FakePeer:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    return FakePeer(ssl_context=ctx)


def test_amqps_with_a_trusted_certificate_moves_a_large_message(cert: tuple[Path, Path]) -> None:
    peer = server(cert)
    big = bytes(range(256)) * 4096  # 1 MiB: many TLS records

    async def main() -> None:
        ctx = ssl.create_default_context(cafile=str(cert[1]))
        async with amqp.open_connection(f"amqps://localhost:{peer.port}", ssl_context=ctx,
                                        sasl=None) as conn, conn.open_session() as s, \
                s.open_sender("q") as sender:
            # Each write a TLS record of its own: no credit round's first transfer early.
            assert conn._plain is False
            await sender.send(Message(big), timeout=20)
            for i in range(20):
                await sender.send(Message(f"m{i}".encode()))
        assert await no_other_tasks()

    try:
        run(main())
        assert peer.received[0] == big and len(peer.received) == 21
    finally:
        peer.close()


def test_amqps_verifies_the_certificate_by_default(cert: tuple[Path, Path]) -> None:
    async def default_context(port: int) -> None:
        with pytest.raises(ssl.SSLCertVerificationError):
            await amqp.open_connection(f"amqps://localhost:{port}", sasl=None)

    async def wrong_name(port: int) -> None:
        ctx = ssl.create_default_context(cafile=str(cert[1]))
        with pytest.raises(ssl.SSLCertVerificationError):
            await amqp.open_connection(f"amqps://127.0.0.1:{port}", ssl_context=ctx,
                                       server_hostname="wrong.example", sasl=None)

    for check in (default_context, wrong_name):
        peer = server(cert)
        try:
            run(check(peer.port))
        finally:
            peer.close()


def test_connect_runs_tls_over_a_connected_socket(cert: tuple[Path, Path]) -> None:
    peer = server(cert)

    async def main() -> None:
        ctx = ssl.create_default_context(cafile=str(cert[1]))
        sock = socket.create_connection(("127.0.0.1", peer.port))
        async with amqp.connect(sock, ssl_context=ctx, server_hostname="localhost",
                                sasl=None) as conn, conn.open_session() as s, \
                s.open_sender("q") as sender:
            await sender.send(Message(b"tls over my socket"))

    try:
        run(main())
        assert peer.received == [b"tls over my socket"]
    finally:
        peer.close()
