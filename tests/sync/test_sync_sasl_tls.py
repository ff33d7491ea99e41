"""SASL EXTERNAL over TLS with a client certificate, and SASL XOAUTH2 (issue 4).

The server is the core's accepting role in a thread (tests/serverpeer.py) with a
test-made CA (tests/certs.py): it requires a client certificate signed by that CA,
and its SaslServer checks EXTERNAL against the identity the certificate proved,
or an XOAUTH2 user and bearer token.
"""

from __future__ import annotations

import logging

import pytest

import amqp10_sync as amqp
from amqp10_proto import Message, SaslExternal, SaslXOAuth2
from amqp10_proto.errors import AuthenticationError
from tests.certs import CLIENT_CN, Pki, make_pki
from tests.serverpeer import TOKEN, USER, ExternalCheck, ServerPeer, XOAuth2Check, common_name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize("authzid", ["", CLIENT_CN])
def test_client_certificate_and_sasl_external(pki: Pki, authzid: str) -> None:
    check = ExternalCheck()
    with ServerPeer(ssl_context=pki.server_context(), sasl=check) as server:
        with amqp.open_connection(f"amqps://localhost:{server.port}",
                                  ssl_context=pki.client_context(pki.client),
                                  sasl=SaslExternal(authzid)) as conn, \
                conn.open_session() as session, session.open_sender("q") as sender:
            sender.send(Message(b"as the certificate's owner"))
        assert common_name(server.peer_cert) == CLIENT_CN
        assert server.sasl_server is not None
        assert server.sasl_server.mechanism == "EXTERNAL"
        assert server.sasl_server.hostname == "localhost"  # sasl-init's hostname
        assert server.sasl_server.identity == authzid
        assert check.asked == [(authzid, CLIENT_CN)]
        assert [m.body for m in server.received] == [b"as the certificate's owner"]


def test_external_for_an_identity_the_certificate_does_not_prove_is_refused(pki: Pki) -> None:
    check = ExternalCheck()
    with ServerPeer(ssl_context=pki.server_context(), sasl=check) as server, \
            pytest.raises(AuthenticationError) as info:
        amqp.open_connection(f"amqps://localhost:{server.port}",
                             ssl_context=pki.client_context(pki.client),
                             sasl=SaslExternal("admin"))
    assert check.asked == [("admin", CLIENT_CN)]
    assert info.value.condition == "amqp:unauthorized-access"
    text = str(info.value)
    assert "authentication failed" in text and "EXTERNAL" in text, text


def test_external_where_the_server_does_not_offer_it_says_so(pki: Pki) -> None:
    with ServerPeer(sasl=XOAuth2Check()) as server, pytest.raises(AuthenticationError) as info:
        amqp.open_connection(server.url, sasl=SaslExternal())
    text = str(info.value)
    assert "no common SASL mechanism" in text and "EXTERNAL" in text and "XOAUTH2" in text


def test_xoauth2_sends_the_user_and_token_and_the_trace_hides_the_token(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    check = XOAuth2Check()
    with ServerPeer(sasl=check) as server:
        with caplog.at_level(logging.DEBUG, logger="amqp10.trace"), \
                amqp.open_connection(server.url, sasl=SaslXOAuth2(USER, TOKEN)) as conn:
            conn.open_session().close()
        assert check.asked == [(USER, TOKEN)]
        assert server.sasl_server is not None
        assert server.sasl_server.mechanism == "XOAUTH2"
        assert server.sasl_server.identity == USER
    trace = "\n".join(r.getMessage() for r in caplog.records if r.name == "amqp10.trace")
    assert "SaslInit(mechanism=Symbol('XOAUTH2')" in trace
    assert TOKEN not in trace and "Bearer" not in trace


def test_a_refused_xoauth2_token_raises_with_the_servers_report() -> None:
    check = XOAuth2Check()
    with ServerPeer(sasl=check) as server, pytest.raises(AuthenticationError) as info:
        amqp.open_connection(server.url, sasl=SaslXOAuth2(USER, "expired-token"))
    assert check.asked == [(USER, "expired-token")]
    assert info.value.condition == "amqp:unauthorized-access"
    text = str(info.value)
    # The server's JSON report (its challenge) is in the message; the token is not.
    assert "XOAUTH2" in text and '"status":"401"' in text, text
    assert "expired-token" not in text

