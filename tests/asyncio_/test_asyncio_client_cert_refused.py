"""A refused client certificate on asyncio: the check of
tests/sync/test_sync_client_cert_refused.py (the error carries the server's TLS alert)."""

from __future__ import annotations

import ssl

import pytest

import amqp10_asyncio as amqp
from amqp10_proto import SaslExternal, SaslServer
from amqp10_proto.errors import ConnectionClosedError
from tests.certs import Pki, make_pki
from tests.serverpeer import ServerPeer

from .helpers import run


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize(("cert", "alert"), [(None, "certificate required"),
                                             ("rogue", "unknown ca")])
def test_a_refused_client_certificate_raises_with_the_servers_tls_alert(
        pki: Pki, cert: str | None, alert: str) -> None:
    with ServerPeer(ssl_context=pki.server_context(),
                    sasl=lambda _: SaslServer(external=lambda authzid: True)) as server:
        async def main() -> None:
            await amqp.open_connection(f"amqps://localhost:{server.port}",
                                       ssl_context=pki.client_context(
                                           pki.rogue_client if cert else None),
                                       sasl=SaslExternal(), connect_timeout=5)
            raise AssertionError("connected with a certificate the server refuses")

        with pytest.raises((ConnectionClosedError, ssl.SSLError)) as info:
            run(main())
        assert server.tls_error is not None  # the server did refuse the certificate
    assert alert in str(info.value).lower(), str(info.value)
