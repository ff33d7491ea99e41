"""amqps:// through trio.SSLStream, with a certificate made by the test."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message
from tests.sync.fakepeer import FakePeer


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
            await sender.send(Message(big))

    try:
        trio.run(main)
    finally:
        peer.close()
    assert peer.received == [big]


def test_verification_is_on_by_default(cert: tuple[Path, Path]) -> None:
    peer = server(cert)

    async def main() -> None:
        async with amqp.open_connection(f"amqps://localhost:{peer.port}", sasl=None):
            pass

    try:
        with pytest.raises((ssl.SSLCertVerificationError, trio.BrokenResourceError)):
            trio.run(main)
    finally:
        peer.close()
