"""SASL (5.3): client and server machines back to back, out-of-order frames, hostile input."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqp10_proto import SaslCode, Symbol
from amqp10_proto._sasl import (
    TRANSITIONS,
    SaslAnonymous,
    SaslClient,
    SaslCredentials,
    SaslError,
    SaslExternal,
    SaslPlain,
    SaslResult,
    SaslServer,
    SaslState,
    SaslXOAuth2,
)
from amqp10_proto.codec import decode, encode
from amqp10_proto.errors import LocalProtocolError, RemoteProtocolError
from amqp10_proto.performatives import (
    Open,
    SaslChallenge,
    SaslInit,
    SaslMechanisms,
    SaslOutcome,
    SaslResponse,
)

ILLEGAL_STATE = "amqp:illegal-state"
FRAMING_ERROR = "amqp:connection:framing-error"


def wire(frame: Any) -> Any:
    """What the peer gets: the frame body encoded and decoded again."""
    return decode(encode(frame))


def converse(client: SaslClient, server: SaslServer, log: list[Any] | None = None) -> list[Any]:
    """Run the whole dialog, every frame through the codec; return the frames in order."""
    log = [] if log is None else log
    to_client: list[Any] = [server.start()]
    while to_client:
        frame = wire(to_client.pop(0))
        log.append(frame)
        for out in client.receive(frame):
            out = wire(out)
            log.append(out)
            to_client.extend(server.receive(out))
    return log


def check_plain(username: str, password: str) -> bool:
    return (username, password) == ("alice", "s3cret-pw")


def check_token(username: str, token: str) -> bool:
    return (username, token) == ("alice@example.com", "ya29.good-token")


def full_server(**kwargs: Any) -> SaslServer:
    return SaslServer(plain=check_plain, anonymous=True, external=lambda a: a in ("", "alice"),
                      xoauth2=check_token, **kwargs)


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(("cred", "name", "expected"), [
    (SaslAnonymous(), "ANONYMOUS", b""),
    (SaslAnonymous("trace@example.com"), "ANONYMOUS", b"trace@example.com"),
    (SaslPlain("alice", "s3cret-pw"), "PLAIN", b"\x00alice\x00s3cret-pw"),
    (SaslPlain("alice", "pw", authzid="admin"), "PLAIN", b"admin\x00alice\x00pw"),
    (SaslPlain("j\u00fcrgen", "p\u00e4ss"), "PLAIN", b"\x00j\xc3\xbcrgen\x00p\xc3\xa4ss"),
    (SaslExternal(), "EXTERNAL", b""),
    (SaslExternal("alice"), "EXTERNAL", b"alice"),
    (SaslXOAuth2("alice@example.com", "ya29.tok"), "XOAUTH2",
     b"user=alice@example.com\x01auth=Bearer ya29.tok\x01\x01"),
])
def test_initial_response_bytes(cred: SaslCredentials, name: str, expected: bytes) -> None:
    assert cred.name == name
    assert type(cred.name) is Symbol
    assert cred.initial_response() == expected


def test_repr_never_shows_secrets() -> None:
    creds: list[Any] = [SaslPlain("alice", "hunter2-secret", authzid="boss"),
                        SaslXOAuth2("alice@example.com", "ya29.hunter2-secret")]
    for cred in creds:
        assert "hunter2-secret" not in repr(cred)
        assert "hunter2-secret" not in str(cred)
        assert "alice" in repr(cred)
    assert "hunter2-secret" not in repr(SaslClient(creds, hostname="h"))
    assert repr(SaslAnonymous()) == "SaslAnonymous()"
    assert repr(SaslExternal("bob")) == "SaslExternal(authzid='bob')"


@pytest.mark.parametrize(("make", "field"), [
    (lambda: SaslPlain("", "pw"), "PLAIN username"),
    (lambda: SaslPlain("al\x00ice", "pw"), "PLAIN username"),
    (lambda: SaslPlain("alice", "p\x00w"), "PLAIN password"),
    (lambda: SaslPlain("alice", "pw", authzid="a\x00"), "PLAIN authzid"),
    (lambda: SaslPlain("alice", "\udc80"), "PLAIN password"),  # a lone surrogate: no UTF-8
    (lambda: SaslExternal("a\x00b"), "EXTERNAL authzid"),
    (lambda: SaslXOAuth2("alice", "tok\x01en"), "XOAUTH2 token"),
    (lambda: SaslXOAuth2("al\x01ice", "token"), "XOAUTH2 username"),
    (lambda: SaslXOAuth2("alice", ""), "XOAUTH2 username and token"),
    (lambda: SaslAnonymous("x" * 256), "ANONYMOUS trace"),
])
def test_credentials_refuse_what_would_corrupt_the_response(
    make: Callable[[], object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        make()


def test_credential_errors_do_not_echo_the_password() -> None:
    with pytest.raises(ValueError) as info:
        SaslPlain("alice", "hunter2\x00")
    assert "hunter2" not in str(info.value)


# --------------------------------------------------------------------------- dialogs


@pytest.mark.parametrize(("cred", "identity"), [
    (SaslPlain("alice", "s3cret-pw"), "alice"),
    (SaslPlain("alice", "s3cret-pw", authzid="alice"), "alice"),
    (SaslAnonymous("me@example.com"), "anonymous"),
    (SaslExternal(), ""),
    (SaslExternal("alice"), "alice"),
    (SaslXOAuth2("alice@example.com", "ya29.good-token"), "alice@example.com"),
])
def test_every_mechanism_succeeds(cred: SaslCredentials, identity: str) -> None:
    client, server = SaslClient(cred, hostname="broker.example.com"), full_server()
    log = converse(client, server)
    assert [type(f) for f in log] == [SaslMechanisms, SaslInit, SaslOutcome]
    assert log[0].sasl_server_mechanisms == ["EXTERNAL", "XOAUTH2", "PLAIN", "ANONYMOUS"]
    assert log[1] == SaslInit(mechanism=cred.name, initial_response=cred.initial_response(),
                              hostname="broker.example.com")
    assert log[2].code is SaslCode.OK
    assert client.state is server.state is SaslState.SUCCEEDED
    assert client.done and client.succeeded and server.done and server.succeeded
    assert client.mechanism == server.mechanism == cred.name
    assert client.outcome == log[2]
    assert server.identity == identity
    assert server.hostname == "broker.example.com"


@pytest.mark.parametrize("cred", [
    SaslPlain("alice", "wrong"),
    SaslPlain("mallory", "s3cret-pw"),
    SaslPlain("mallory", "s3cret-pw", authzid="alice"),  # may not act as someone else
    SaslExternal("mallory"),
])
def test_bad_credentials_fail_with_auth(cred: SaslCredentials) -> None:
    client, server = SaslClient(cred), full_server()
    log: list[Any] = []
    with pytest.raises(SaslError) as info:
        converse(client, server, log)
    assert info.value.code is SaslCode.AUTH
    assert "authentication failed: bad credentials" in str(info.value)
    assert f"mechanism {cred.name}" in str(info.value)
    assert "s3cret-pw" not in str(info.value) and "wrong" not in str(info.value)
    assert log[-1] == SaslOutcome(code=SaslCode.AUTH)
    assert client.state is server.state is SaslState.FAILED
    assert client.done and not client.succeeded
    assert server.done and not server.succeeded and server.identity is None


def test_xoauth2_bad_token_gets_a_challenge_then_the_failure() -> None:
    client = SaslClient(SaslXOAuth2("alice@example.com", "ya29.expired"))
    server = full_server()
    log: list[Any] = []
    with pytest.raises(SaslError) as info:
        converse(client, server, log)
    assert [type(f) for f in log] == [SaslMechanisms, SaslInit, SaslChallenge, SaslResponse,
                                      SaslOutcome]
    assert b'"status":"401"' in log[2].challenge
    assert log[3] == SaslResponse(response=b"")
    assert log[4].code is SaslCode.AUTH
    assert info.value.code is SaslCode.AUTH
    assert "401" in str(info.value)  # the server's explanation reaches the user
    assert "ya29.expired" not in str(info.value)
    assert client.state is server.state is SaslState.FAILED


def test_xoauth2_a_second_challenge_is_a_protocol_error() -> None:
    client = SaslClient(SaslXOAuth2("alice", "tok"))
    client.receive(SaslMechanisms(sasl_server_mechanisms=[Symbol("XOAUTH2")]))
    assert client.receive(SaslChallenge(challenge=b"{}")) == [SaslResponse(response=b"")]
    with pytest.raises(RemoteProtocolError) as info:
        client.receive(SaslChallenge(challenge=b"{}"))
    assert info.value.condition == ILLEGAL_STATE
    assert client.state is SaslState.ERROR


def test_unoffered_mechanism_is_refused_with_auth() -> None:
    server = SaslServer(plain=check_plain)
    server.start()
    out = server.receive(SaslInit(mechanism=Symbol("ANONYMOUS"), initial_response=b""))
    assert out == [SaslOutcome(code=SaslCode.AUTH)]
    assert server.state is SaslState.FAILED and server.identity is None


def test_no_common_mechanism() -> None:
    client = SaslClient([SaslPlain("alice", "hunter2"), SaslExternal()])
    server = SaslServer(anonymous=True)
    with pytest.raises(SaslError) as info:
        client.receive(wire(server.start()))
    message = str(info.value)
    assert info.value.code is None
    assert "no common SASL mechanism" in message
    assert "PLAIN, EXTERNAL" in message and "ANONYMOUS" in message
    assert "hunter2" not in message
    assert client.state is SaslState.FAILED and client.done and not client.succeeded
    assert client.mechanism is None


@pytest.mark.parametrize(("creds", "chosen"), [
    ([SaslExternal(), SaslPlain("alice", "s3cret-pw")], "PLAIN"),
    ([SaslAnonymous(), SaslPlain("alice", "s3cret-pw")], "ANONYMOUS"),
    ([SaslPlain("alice", "s3cret-pw"), SaslAnonymous()], "PLAIN"),
])
def test_client_uses_its_first_credential_the_server_offers(
    creds: list[SaslCredentials], chosen: str
) -> None:
    client, server = SaslClient(creds), SaslServer(plain=check_plain, anonymous=True)
    converse(client, server)
    assert client.mechanism == server.mechanism == chosen
    assert client.succeeded and server.succeeded


class Boom(Exception):
    pass


def test_a_raising_check_answers_sys_and_keeps_the_exception() -> None:
    def broken(username: str, password: str) -> bool:
        raise Boom("database at 10.0.0.7 unreachable")

    client, server = SaslClient(SaslPlain("alice", "s3cret-pw")), SaslServer(plain=broken)
    log: list[Any] = []
    with pytest.raises(SaslError) as info:
        converse(client, server, log)
    assert log[-1] == SaslOutcome(code=SaslCode.SYS)  # no additional-data: nothing leaks
    assert "10.0.0.7" not in repr(log) and "10.0.0.7" not in str(info.value)
    assert info.value.code is SaslCode.SYS and "system error" in str(info.value)
    assert isinstance(server.error, Boom)
    assert server.state is SaslState.FAILED and server.identity is None


@pytest.mark.parametrize(("mechanism", "data"), [
    ("PLAIN", b"\x00\x00pw"),  # RFC 4616: the authentication identity is not empty
    ("PLAIN", b"admin\x00alice\x00pw"),  # alice may not act as admin
    ("EXTERNAL", b"al\x00ice"),
    ("ANONYMOUS", b""),  # not offered here
])
def test_rules_a_lenient_callback_cannot_override(mechanism: str, data: bytes) -> None:
    server = SaslServer(plain=lambda u, p: True, external=lambda a: True)
    server.start()
    out = server.receive(SaslInit(mechanism=Symbol(mechanism), initial_response=data))
    assert out == [SaslOutcome(code=SaslCode.AUTH)]
    # and the built-in authenticator refuses them itself, whoever asks it
    assert server._authenticator.authenticate(mechanism, data, None, 0) == SaslResult.fail()


def test_xoauth2_nothing_after_the_error_report_can_succeed() -> None:
    verdicts = iter([False, True])
    server = SaslServer(xoauth2=lambda u, t: next(verdicts))
    server.start()
    good = SaslXOAuth2("alice", "tok").initial_response()
    [challenge] = server.receive(SaslInit(mechanism=Symbol("XOAUTH2"), initial_response=good))
    assert isinstance(challenge, SaslChallenge)
    assert server.receive(SaslResponse(response=good)) == [SaslOutcome(code=SaslCode.AUTH)]
    assert server.identity is None and not server.succeeded


@pytest.mark.parametrize("verdict", [1, "yes", None, [True]])
def test_only_true_admits(verdict: object) -> None:
    server = SaslServer(plain=lambda u, p: verdict)  # type: ignore[arg-type, return-value]
    server.start()
    out = server.receive(SaslInit(mechanism=Symbol("PLAIN"), initial_response=b"\x00a\x00b"))
    assert out == [SaslOutcome(code=SaslCode.AUTH)]


def test_hostname_check() -> None:
    def make() -> SaslServer:
        return SaslServer(anonymous=True, hostname=lambda h: h == "vhost-a")

    ok = make()
    converse(SaslClient(SaslAnonymous(), hostname="vhost-a"), ok)
    assert ok.succeeded and ok.hostname == "vhost-a"
    refused = make()
    with pytest.raises(SaslError) as info:
        converse(SaslClient(SaslAnonymous(), hostname="vhost-b"), refused)
    assert info.value.code is SaslCode.AUTH
    assert refused.state is SaslState.FAILED and refused.hostname == "vhost-b"


@pytest.mark.parametrize(("code", "text"), [
    (SaslCode.AUTH, "authentication failed: bad credentials"),
    (SaslCode.SYS, "system error"),
    (SaslCode.SYS_PERM, "permanent"),
    (SaslCode.SYS_TEMP, "temporary system error on the server, try again"),
])
def test_failure_codes_become_clear_errors(code: SaslCode, text: str) -> None:
    client = SaslClient(SaslAnonymous())
    client.receive(SaslMechanisms(sasl_server_mechanisms=[Symbol("ANONYMOUS")]))
    with pytest.raises(SaslError) as info:
        client.receive(wire(SaslOutcome(code=code, additional_data=b"see ops runbook")))
    assert info.value.code is code
    assert text in str(info.value)
    assert "see ops runbook" in str(info.value)
    assert info.value.additional_data == b"see ops runbook"
    assert client.outcome is not None and client.outcome.code is code
    assert client.state is SaslState.FAILED


def test_server_offers_in_a_stable_order_and_anonymous_only_by_default() -> None:
    assert SaslServer().mechanisms == ["ANONYMOUS"]
    assert SaslServer(plain=check_plain).mechanisms == ["PLAIN"]
    assert SaslServer(plain=check_plain, anonymous=True).mechanisms == ["PLAIN", "ANONYMOUS"]
    assert full_server().mechanisms == ["EXTERNAL", "XOAUTH2", "PLAIN", "ANONYMOUS"]
    assert full_server().start() == SaslMechanisms(
        sasl_server_mechanisms=["EXTERNAL", "XOAUTH2", "PLAIN", "ANONYMOUS"])


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError):
        SaslServer(anonymous=False)
    with pytest.raises(ValueError):
        SaslServer(plain=check_plain, authenticator=Rounds())
    with pytest.raises(ValueError):
        SaslClient([])
    with pytest.raises(ValueError):
        SaslResult(SaslCode.OK, challenge=b"x")
    with pytest.raises(ValueError):
        SaslResult(None)


# --------------------------------------------------------------------------- authenticator


class Rounds:
    """A two-challenge mechanism: the server asks for two numbers, the client adds them."""

    mechanisms: Sequence[str] = ("X-SUM", "ANONYMOUS")

    def authenticate(self, mechanism: str, response: bytes | None, hostname: str | None,
                     step: int) -> SaslResult:
        if mechanism == "ANONYMOUS":
            return SaslResult.fail(SaslCode.SYS_TEMP)
        if step < 2:
            return SaslResult.ask(b"%d %d" % (step, step + 10))
        return SaslResult.ok("summer") if response == b"12" else SaslResult.fail()


class SumCredential:
    name = Symbol("X-SUM")

    def initial_response(self) -> bytes | None:
        return None

    def challenge_response(self, challenge: bytes, step: int) -> bytes:
        return str(sum(int(x) for x in challenge.split())).encode()


def test_custom_authenticator_with_several_challenges() -> None:
    client, server = SaslClient(SumCredential()), SaslServer(authenticator=Rounds())
    log = converse(client, server)
    assert [type(f) for f in log] == [SaslMechanisms, SaslInit, SaslChallenge, SaslResponse,
                                      SaslChallenge, SaslResponse, SaslOutcome]
    assert log[1].initial_response is None
    assert [f.challenge for f in log[2:6:2]] == [b"0 10", b"1 11"]
    assert [f.response for f in log[3:7:2]] == [b"10", b"12"]
    assert client.succeeded and server.succeeded and server.identity == "summer"


def test_authenticator_returning_garbage_answers_sys() -> None:
    class Garbage:
        mechanisms = ("PLAIN",)

        def authenticate(self, *args: object) -> object:
            return "ok"

    server = SaslServer(authenticator=Garbage())  # type: ignore[arg-type]
    server.start()
    out = server.receive(SaslInit(mechanism=Symbol("PLAIN"), initial_response=b"\x00a\x00b"))
    assert out == [SaslOutcome(code=SaslCode.SYS)]
    assert isinstance(server.error, TypeError)


# --------------------------------------------------------------------------- out of order

MECHS = SaslMechanisms(sasl_server_mechanisms=[Symbol("PLAIN")])
INIT = SaslInit(mechanism=Symbol("PLAIN"), initial_response=b"\x00alice\x00s3cret-pw")
CHALLENGE = SaslChallenge(challenge=b"")
RESPONSE = SaslResponse(response=b"")
OK = SaslOutcome(code=SaslCode.OK)
AUTH = SaslOutcome(code=SaslCode.AUTH)
OPEN = Open(container_id="c")


def client_in(state: SaslState) -> SaslClient:
    client = SaslClient(SaslXOAuth2("alice", "t"))
    path: dict[SaslState, list[object]] = {SaslState.AWAITING_MECHANISMS: [],
            SaslState.AWAITING_OUTCOME: [SaslMechanisms(sasl_server_mechanisms=["XOAUTH2"])],
            SaslState.SUCCEEDED: [SaslMechanisms(sasl_server_mechanisms=["XOAUTH2"]), OK]}
    for frame in path[state]:
        client.receive(frame)
    assert client.state is state
    return client


@pytest.mark.parametrize("state", [SaslState.AWAITING_MECHANISMS, SaslState.AWAITING_OUTCOME,
                                   SaslState.SUCCEEDED])
@pytest.mark.parametrize("frame", [MECHS, INIT, CHALLENGE, RESPONSE, OK, AUTH, OPEN])
def test_client_obeys_the_table(state: SaslState, frame: object) -> None:
    client = client_in(state)
    allowed = {SaslState.AWAITING_MECHANISMS: (MECHS,),
               SaslState.AWAITING_OUTCOME: (CHALLENGE, OK, AUTH)}.get(state, ())
    if frame in allowed:
        try:
            client.receive(frame)
        except SaslError:
            assert frame is AUTH or frame is MECHS  # refused, or nothing in common
        assert client.state is not SaslState.ERROR
        return
    with pytest.raises(RemoteProtocolError) as info:
        client.receive(frame)
    assert info.value.condition == (FRAMING_ERROR if frame is OPEN else ILLEGAL_STATE)
    assert client.state is SaslState.ERROR and client.done and not client.succeeded
    with pytest.raises(RemoteProtocolError):  # and it stays broken
        client.receive(MECHS)


def test_client_after_failure_accepts_nothing() -> None:
    client = client_in(SaslState.AWAITING_OUTCOME)
    with pytest.raises(SaslError):
        client.receive(AUTH)
    with pytest.raises(RemoteProtocolError) as info:
        client.receive(OK)
    assert info.value.condition == ILLEGAL_STATE


def test_client_rejects_an_empty_mechanism_list() -> None:
    client = SaslClient(SaslAnonymous())
    with pytest.raises(RemoteProtocolError) as info:
        client.receive(wire(SaslMechanisms(sasl_server_mechanisms=[])))
    assert info.value.condition == "amqp:invalid-field"
    assert client.state is SaslState.ERROR


@pytest.mark.parametrize("cred", [SaslPlain("a", "b"), SaslAnonymous(), SaslExternal()])
def test_a_challenge_to_a_one_step_mechanism_is_a_protocol_error(cred: SaslCredentials) -> None:
    client = SaslClient(cred)
    client.receive(SaslMechanisms(sasl_server_mechanisms=[Symbol(cred.name)]))
    with pytest.raises(RemoteProtocolError) as info:
        client.receive(SaslChallenge(challenge=b""))
    assert info.value.condition == ILLEGAL_STATE
    assert client.state is SaslState.ERROR


def server_in(state: SaslState) -> SaslServer:
    server = SaslServer(authenticator=Rounds())
    if state is not SaslState.AWAITING_MECHANISMS:
        server.start()
    if state is SaslState.AWAITING_RESPONSE:
        server.receive(SaslInit(mechanism=Symbol("X-SUM")))
    if state is SaslState.FAILED:
        server.receive(SaslInit(mechanism=Symbol("ANONYMOUS")))
    assert server.state is state
    return server


@pytest.mark.parametrize("state", [SaslState.AWAITING_MECHANISMS, SaslState.AWAITING_INIT,
                                   SaslState.AWAITING_RESPONSE, SaslState.FAILED])
@pytest.mark.parametrize("frame", [MECHS, INIT, CHALLENGE, RESPONSE, OK, AUTH, OPEN])
def test_server_obeys_the_table(state: SaslState, frame: object) -> None:
    server = server_in(state)
    allowed = {SaslState.AWAITING_INIT: (INIT,),
               SaslState.AWAITING_RESPONSE: (RESPONSE,)}.get(state, ())
    if frame in allowed:
        out = server.receive(frame)
        assert len(out) == 1 and type(out[0]) in (SaslChallenge, SaslOutcome)
        return
    with pytest.raises(RemoteProtocolError) as info:
        server.receive(frame)
    assert info.value.condition == (FRAMING_ERROR if frame is OPEN else ILLEGAL_STATE)
    assert server.state is SaslState.ERROR and not server.succeeded


def test_server_start_twice_is_a_local_error_and_changes_nothing() -> None:
    server = SaslServer()
    server.start()
    with pytest.raises(LocalProtocolError):
        server.start()
    assert server.state is SaslState.AWAITING_INIT
    assert server.receive(SaslInit(mechanism=Symbol("ANONYMOUS"))) == [OK]


def test_the_table_only_moves_forward_to_the_three_ends() -> None:
    order = list(SaslState)
    for (state, _), after in TRANSITIONS.items():
        assert state not in (SaslState.SUCCEEDED, SaslState.FAILED, SaslState.ERROR)
        assert after is not SaslState.ERROR
        # the only step back is the challenge/response loop
        assert order.index(after) > order.index(state) or (
            state is SaslState.AWAITING_RESPONSE and after is SaslState.AWAITING_OUTCOME)


# --------------------------------------------------------------------------- hostile input


def started(**kwargs: Any) -> SaslServer:
    server = full_server(**kwargs)
    server.start()
    return server


@given(st.one_of(st.none(), st.binary(max_size=64),
                 st.lists(st.sampled_from([b"\x00", b"alice", b"s3cret-pw", b"\xff", b""]),
                          max_size=5).map(b"".join)))
def test_malformed_plain_only_ever_gets_auth(data: bytes | None) -> None:
    server = started()
    out = server.receive(SaslInit(mechanism=Symbol("PLAIN"), initial_response=data))
    good = data in (b"\x00alice\x00s3cret-pw", b"alice\x00alice\x00s3cret-pw")
    assert out == [SaslOutcome(code=SaslCode.OK if good else SaslCode.AUTH)]
    assert server.error is None
    assert server.identity == ("alice" if good else None)


@given(st.sampled_from(["EXTERNAL", "XOAUTH2", "ANONYMOUS", "X-UNKNOWN", ""]),
       st.one_of(st.none(), st.binary(max_size=64)), st.one_of(st.none(), st.text(max_size=8)))
def test_any_initial_response_gets_an_answer_not_an_exception(
    mechanism: str, data: bytes | None, hostname: str | None
) -> None:
    server = started()
    [out] = server.receive(SaslInit(mechanism=Symbol(mechanism), initial_response=data,
                                    hostname=hostname))
    assert server.error is None
    if isinstance(out, SaslChallenge):  # only XOAUTH2 challenges, and only a well-formed one
        assert mechanism == "XOAUTH2" and data is not None and data.startswith(b"user=")
        [out] = server.receive(SaslResponse(response=b""))
    assert isinstance(out, SaslOutcome)
    assert (out.code is SaslCode.OK) == (server.identity is not None) == server.succeeded
    if mechanism in ("X-UNKNOWN", "") or (mechanism == "XOAUTH2" and data != (
            b"user=alice@example.com\x01auth=Bearer ya29.good-token\x01\x01")):
        assert out.code is SaslCode.AUTH


@given(st.lists(st.sampled_from([MECHS, INIT, CHALLENGE, RESPONSE, OK, AUTH, OPEN]),
                max_size=6))
def test_any_frame_sequence_raises_only_typed_errors(frames: list[object]) -> None:
    client = SaslClient(SaslPlain("alice", "s3cret-pw"))
    server = started()
    for frame in frames:
        for machine in (client, server):
            before = machine.state
            try:
                machine.receive(frame)
            except SaslError:
                assert machine.state is SaslState.FAILED
            except RemoteProtocolError:
                assert machine.state is SaslState.ERROR
            else:
                assert before not in (SaslState.SUCCEEDED, SaslState.FAILED, SaslState.ERROR)
