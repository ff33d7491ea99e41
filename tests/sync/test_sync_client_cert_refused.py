"""A server that requires a client certificate refuses ours: the error says why.

With TLS 1.3 the client's handshake completes before the server checks the
client certificate; the server's refusal arrives as a TLS alert ("certificate
required", "unknown ca") on the first read. Whatever the adapter was doing then
(writing the SASL header, reading), the error must carry that alert, not only
"the peer closed the socket".
"""

from __future__ import annotations

import ssl

import pytest

import amqp10_sync as amqp
from amqp10_proto import SaslExternal, SaslServer
from amqp10_proto.errors import ConnectionClosedError
from tests.certs import Pki, make_pki
from tests.serverpeer import ServerPeer


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize(("cert", "alert"), [(None, "certificate required"),
                                             ("rogue", "unknown ca")])
def test_a_refused_client_certificate_raises_with_the_servers_tls_alert(
        pki: Pki, cert: str | None, alert: str) -> None:
    with ServerPeer(ssl_context=pki.server_context(),
                    sasl=lambda _: SaslServer(external=lambda authzid: True)) as server:
        with pytest.raises((ConnectionClosedError, ssl.SSLError)) as info:
            amqp.open_connection(f"amqps://localhost:{server.port}",
                                 ssl_context=pki.client_context(
                                     pki.rogue_client if cert else None),
                                 sasl=SaslExternal(), connect_timeout=5)
        assert server.tls_error is not None  # the server did refuse the certificate
    assert alert in str(info.value).lower(), str(info.value)
