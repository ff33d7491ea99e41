"""SASL EXTERNAL over TLS with a client certificate, and SASL XOAUTH2 (issue 4).

The server is the core's accepting role in a thread (tests/serverpeer.py) with a
test-made CA (tests/certs.py); tests/sync/test_sync_sasl_tls.py has the full set.
"""

from __future__ import annotations

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message, SaslExternal, SaslXOAuth2
from amqp10_proto.errors import AuthenticationError
from tests.certs import CLIENT_CN, Pki, make_pki
from tests.serverpeer import TOKEN, USER, ExternalCheck, ServerPeer, XOAuth2Check, common_name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_client_certificate_and_sasl_external(pki: Pki) -> None:
    check = ExternalCheck()

    async def main(port: int) -> None:
        async with amqp.open_connection(f"amqps://localhost:{port}",
                                        ssl_context=pki.client_context(pki.client),
                                        sasl=SaslExternal()) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            await sender.send(Message(b"as the certificate's owner"))

    with ServerPeer(ssl_context=pki.server_context(), sasl=check) as server:
        trio.run(main, server.port)
        assert common_name(server.peer_cert) == CLIENT_CN
        assert server.sasl_server is not None
        assert server.sasl_server.mechanism == "EXTERNAL"
        assert server.sasl_server.hostname == "localhost"
        assert check.asked == [("", CLIENT_CN)]
        assert [m.body for m in server.received] == [b"as the certificate's owner"]


def test_xoauth2_accepted_and_refused() -> None:
    check = XOAuth2Check()

    async def ok(url: str) -> None:
        async with amqp.open_connection(url, sasl=SaslXOAuth2(USER, TOKEN)) as conn:
            await (await conn.open_session()).close()

    async def refused(url: str) -> None:
        async with amqp.open_connection(url, sasl=SaslXOAuth2(USER, "expired-token")):
            pass

    with ServerPeer(sasl=check) as server:
        trio.run(ok, server.url)
        assert server.sasl_server is not None and server.sasl_server.identity == USER
    with ServerPeer(sasl=check) as server, pytest.raises(AuthenticationError) as info:
        trio.run(refused, server.url)
    assert check.asked == [(USER, TOKEN), (USER, "expired-token")]
    text = str(info.value)
    assert info.value.condition == "amqp:unauthorized-access"
    assert "XOAUTH2" in text and '"status":"401"' in text, text
    assert "expired-token" not in text
