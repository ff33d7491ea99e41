"""SASL (5.3): the authentication dialog that precedes the AMQP connection.

Two sans-IO machines, :class:`SaslClient` and :class:`SaslServer`, take and return SASL
frame bodies (the connection does the framing and the protocol headers). One transition
table, :data:`TRANSITIONS`, describes the dialog; each machine applies every frame it
sends or receives to it, and keeps the mechanism work (credentials, checks) apart.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

from ._definitions import ErrorCondition, SaslCode
from ._errors import AMQPError, LocalProtocolError, RemoteProtocolError
from ._performatives import SaslChallenge, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse
from ._types import Symbol

__all__ = [
    "TRANSITIONS", "SaslAnonymous", "SaslAuthenticator", "SaslClient", "SaslCredentials",
    "SaslError", "SaslExternal", "SaslFrame", "SaslPlain", "SaslResult", "SaslServer",
    "SaslState", "SaslXOAuth2",
]

SaslFrame: TypeAlias = SaslMechanisms | SaslInit | SaslChallenge | SaslResponse | SaslOutcome


class SaslError(AMQPError):
    """Authentication failed: the server refused us, or we share no mechanism with it.

    Not a protocol error: the peer kept to the protocol but will not let us in.
    ``code`` is the server's sasl-code (5.3.3.6), or None if it never sent an outcome.
    """

    def __init__(self, message: str, code: SaslCode | None = None,
                 additional_data: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.additional_data = additional_data


# --------------------------------------------------------------------------- the table


class SaslState(enum.Enum):
    """Where the dialog stands (5.3.2). Client and server walk the same states."""

    AWAITING_MECHANISMS = enum.auto()  # the server has yet to send sasl-mechanisms
    AWAITING_INIT = enum.auto()  # the client has yet to send sasl-init
    AWAITING_OUTCOME = enum.auto()  # the server has yet to send a challenge or the outcome
    AWAITING_RESPONSE = enum.auto()  # the client has yet to answer a challenge
    SUCCEEDED = enum.auto()  # outcome ok: protocol headers come next (5.3.3.5)
    FAILED = enum.auto()  # outcome not ok, or the client found no common mechanism
    ERROR = enum.auto()  # someone broke the protocol; nothing more is accepted


class _Input(enum.Enum):
    MECHANISMS = "sasl-mechanisms"
    INIT = "sasl-init"
    CHALLENGE = "sasl-challenge"
    RESPONSE = "sasl-response"
    OUTCOME_OK = "sasl-outcome (ok)"
    OUTCOME_FAILED = "sasl-outcome (failure)"
    NO_MECHANISM = "no common mechanism"  # the client gives up and sends nothing


_S = SaslState
_I = _Input

# 5.3.2: the server announces its mechanisms, the client picks one with sasl-init, the
# server sends challenges the client answers (any number, often none), then the outcome.
# A (state, input) pair missing here is something the protocol does not allow. Errors
# move to ERROR from any state, outside the table (as in h11's _state.py).
TRANSITIONS: Final[dict[tuple[SaslState, _Input], SaslState]] = {
    (_S.AWAITING_MECHANISMS, _I.MECHANISMS): _S.AWAITING_INIT,
    (_S.AWAITING_INIT, _I.INIT): _S.AWAITING_OUTCOME,
    (_S.AWAITING_INIT, _I.NO_MECHANISM): _S.FAILED,
    (_S.AWAITING_OUTCOME, _I.CHALLENGE): _S.AWAITING_RESPONSE,
    (_S.AWAITING_RESPONSE, _I.RESPONSE): _S.AWAITING_OUTCOME,
    (_S.AWAITING_OUTCOME, _I.OUTCOME_OK): _S.SUCCEEDED,
    (_S.AWAITING_OUTCOME, _I.OUTCOME_FAILED): _S.FAILED,
}

# 5.3.3: the frames a server sends; the client sends the others.
_FROM_SERVER: Final = frozenset({_I.MECHANISMS, _I.CHALLENGE, _I.OUTCOME_OK, _I.OUTCOME_FAILED})

_FRAME_INPUT: Final[dict[type, _Input]] = {
    SaslMechanisms: _I.MECHANISMS, SaslInit: _I.INIT,
    SaslChallenge: _I.CHALLENGE, SaslResponse: _I.RESPONSE,
}

_ILLEGAL_STATE = str(ErrorCondition.ILLEGAL_STATE)
_FRAMING_ERROR = str(ErrorCondition.CONNECTION_FRAMING_ERROR)
_INVALID_FIELD = str(ErrorCondition.INVALID_FIELD)


def _input_of(frame: object) -> _Input:
    if type(frame) is SaslOutcome:
        return _I.OUTCOME_OK if frame.code == SaslCode.OK else _I.OUTCOME_FAILED
    found = _FRAME_INPUT.get(type(frame))
    if found is None:
        # 5.3.1: a SASL frame carries exactly one SASL frame body. Anything else (say an
        # AMQP performative before the outcome) means the stream is not framed as the
        # protocol requires: amqp:connection:framing-error.
        raise RemoteProtocolError(f"{type(frame).__name__} is not a SASL frame body (5.3.1)",
                                  condition=_FRAMING_ERROR)
    return found


class _Machine:
    """The table walk and the state both sides share."""

    __slots__ = ("_peer", "_state")

    def __init__(self, peer: str) -> None:
        self._peer = peer
        self._state = _S.AWAITING_MECHANISMS

    @property
    def state(self) -> SaslState:
        return self._state

    @property
    def done(self) -> bool:
        """The dialog is over (succeeded, failed or broken): no more SASL frames."""
        return self._state in (_S.SUCCEEDED, _S.FAILED, _S.ERROR)

    @property
    def succeeded(self) -> bool:
        return self._state is _S.SUCCEEDED

    def _received(self, frame: object) -> _Input:
        """Check a peer's frame against the table and take its transition."""
        try:
            inp = _input_of(frame)
            after = TRANSITIONS.get((self._state, inp))
            if (inp in _FROM_SERVER) != (self._peer == "server"):
                # No state admits a frame from the wrong role (a client's sasl-outcome).
                raise RemoteProtocolError(f"the {self._peer} sent {inp.value} (5.3.3)",
                                          condition=_ILLEGAL_STATE)
            if after is None:
                # 2.8.15 amqp:illegal-state: "The peer sent a frame that is not permitted
                # in the current state."
                raise RemoteProtocolError(
                    f"{inp.value} is not allowed in SASL state {self._state.name} (5.3.2)",
                    condition=_ILLEGAL_STATE,
                )
        except RemoteProtocolError:
            self._state = _S.ERROR
            raise
        self._state = after
        return inp

    def _sent(self, inp: _Input) -> None:
        """Take the transition of a frame we send; refuse (state unchanged) if not allowed."""
        after = TRANSITIONS.get((self._state, inp))
        if after is None:
            raise LocalProtocolError(f"cannot send {inp.value} in SASL state {self._state.name}")
        self._state = after


# --------------------------------------------------------------------------- client


class SaslCredentials(Protocol):
    """What :class:`SaslClient` needs from a credential: a mechanism and its responses."""

    @property
    def name(self) -> str: ...

    def initial_response(self) -> bytes | None: ...  # sasl-init's (5.3.3.2)

    def challenge_response(self, challenge: bytes, step: int) -> bytes:
        """Answer the ``step``-th challenge (from 1); raise RemoteProtocolError if unexpected."""


def _utf8(mechanism: str, what: str, value: str, forbidden: str) -> bytes:
    """Encode a credential field, refusing the mechanism's separator (never echoing the value)."""
    if forbidden in value:
        raise ValueError(f"the {mechanism} {what} must not contain {forbidden!r}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"the {mechanism} {what} is not encodable as UTF-8") from None


class _NoChallenges:
    """Mechanisms that finish with the initial response: a challenge breaks them."""

    __slots__ = ()
    name: Symbol

    def challenge_response(self, challenge: bytes, step: int) -> bytes:
        raise RemoteProtocolError(f"the server sent a challenge, but {self.name} has none",
                                  condition=_ILLEGAL_STATE)


class SaslAnonymous(_NoChallenges):
    """ANONYMOUS (RFC 4505): no credentials; ``trace`` (an email or token) is for server logs."""

    __slots__ = ("_trace", "trace")
    name = Symbol("ANONYMOUS")

    def __init__(self, trace: str = "") -> None:
        # RFC 4505 section 2: the trace is at most 255 characters of UTF-8.
        if len(trace) > 255:
            raise ValueError("the ANONYMOUS trace is at most 255 characters (RFC 4505)")
        self._trace = _utf8("ANONYMOUS", "trace", trace, "\x00")
        self.trace = trace

    def initial_response(self) -> bytes:
        return self._trace

    def __repr__(self) -> str:
        return f"SaslAnonymous(trace={self.trace!r})" if self.trace else "SaslAnonymous()"


class SaslPlain(_NoChallenges):
    """PLAIN (RFC 4616): a username and a password, sent in clear; use it over TLS."""

    __slots__ = ("_response", "authzid", "username")
    name = Symbol("PLAIN")

    def __init__(self, username: str, password: str, authzid: str = "") -> None:
        # RFC 4616 section 2: message = [authzid] NUL authcid NUL passwd, each UTF-8
        # without NUL, and the authentication identity (the username) not empty.
        parts = [_utf8("PLAIN", what, value, "\x00") for what, value in
                 (("authzid", authzid), ("username", username), ("password", password))]
        if not username:
            raise ValueError("the PLAIN username must not be empty")
        self._response = b"\x00".join(parts)
        self.username = username
        self.authzid = authzid

    def initial_response(self) -> bytes:
        return self._response

    def __repr__(self) -> str:
        extra = f", authzid={self.authzid!r}" if self.authzid else ""
        return f"SaslPlain(username={self.username!r}, password='***'{extra})"


class SaslExternal(_NoChallenges):
    """EXTERNAL (RFC 4422 appendix A): the identity the TLS layer proved, or ``authzid``."""

    __slots__ = ("_response", "authzid")
    name = Symbol("EXTERNAL")

    def __init__(self, authzid: str = "") -> None:
        self._response = _utf8("EXTERNAL", "authzid", authzid, "\x00")
        self.authzid = authzid

    def initial_response(self) -> bytes:
        return self._response  # empty: "act as the identity my certificate proves"

    def __repr__(self) -> str:
        return f"SaslExternal(authzid={self.authzid!r})" if self.authzid else "SaslExternal()"


class SaslXOAuth2:
    """XOAUTH2 (Google, Microsoft): a username and an OAuth 2.0 bearer token."""

    __slots__ = ("_response", "username")
    name = Symbol("XOAUTH2")

    def __init__(self, username: str, token: str) -> None:
        user = _utf8("XOAUTH2", "username", username, "\x01")
        secret = _utf8("XOAUTH2", "token", token, "\x01")
        if not user or not secret:
            raise ValueError("the XOAUTH2 username and token must not be empty")
        self._response = b"user=" + user + b"\x01auth=Bearer " + secret + b"\x01\x01"
        self.username = username

    def initial_response(self) -> bytes:
        return self._response

    def challenge_response(self, challenge: bytes, step: int) -> bytes:
        # The server's one challenge is its JSON error report; the client answers with an
        # empty response and the server then sends the failure outcome.
        if step == 1:
            return b""
        raise RemoteProtocolError("XOAUTH2 has at most one challenge", condition=_ILLEGAL_STATE)

    def __repr__(self) -> str:
        return f"SaslXOAuth2(username={self.username!r}, token='***')"


_FAILURE_TEXT: Final[dict[int, str]] = {
    SaslCode.AUTH: "authentication failed: bad credentials",
    SaslCode.SYS: "authentication failed: system error on the server",
    SaslCode.SYS_PERM: "authentication failed: permanent system error on the server "
                       "(retrying will not help without intervention)",
    SaslCode.SYS_TEMP: "authentication failed: temporary system error on the server, try again",
}


def _show(data: bytes) -> str:
    text = data[:200].decode("utf-8", "replace")
    return repr(text + ("..." if len(data) > 200 else ""))


class SaslClient(_Machine):
    """The client's side of the dialog: answers the server's frames with our credentials.

    ``credentials`` is one credential, or several in our order of preference.
    ``receive`` raises :class:`SaslError` when authentication fails.
    """

    __slots__ = ("_challenges", "_chosen", "_credentials", "_last_challenge",
                 "hostname", "mechanism", "outcome", "server_mechanisms")

    def __init__(self, credentials: SaslCredentials | Sequence[SaslCredentials],
                 hostname: str | None = None) -> None:
        super().__init__(peer="server")
        creds = list(credentials) if isinstance(credentials, Sequence) else [credentials]
        if not creds:
            raise ValueError("SaslClient needs at least one credential")
        self._credentials = creds
        self._chosen: SaslCredentials | None = None
        self._challenges = 0
        self._last_challenge: bytes | None = None
        self.hostname = hostname
        self.mechanism: Symbol | None = None
        self.outcome: SaslOutcome | None = None
        self.server_mechanisms: list[str] = []

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self._credentials)
        return f"<SaslClient [{names}] {self._state.name}>"

    def receive(self, frame: object) -> list[SaslFrame]:
        """Take a frame from the server; return the frames to send back (zero or one)."""
        inp = self._received(frame)
        try:
            if isinstance(frame, SaslMechanisms):
                return [self._choose(frame)]
            if isinstance(frame, SaslChallenge):
                return [self._answer(frame)]
        except RemoteProtocolError:
            self._state = _S.ERROR
            raise
        assert isinstance(frame, SaslOutcome)  # the table admits nothing else from a server
        self.outcome = frame
        if inp is _I.OUTCOME_OK:
            return []
        raise self._failure(frame)

    def _choose(self, frame: SaslMechanisms) -> SaslInit:
        offered = frame.sasl_server_mechanisms
        offered = [offered] if isinstance(offered, str) else list(offered or ())
        if not offered:
            # 5.3.3.1: "It is invalid for this list to be null or empty."
            raise RemoteProtocolError("the server offered no SASL mechanisms (5.3.3.1)",
                                      condition=_INVALID_FIELD)
        self.server_mechanisms = offered
        # Our credentials are tried in the caller's order of preference (5.3.3.1's order is
        # the server's; the caller knows best which of its credentials it wants used).
        chosen = next((c for c in self._credentials if c.name in offered), None)
        if chosen is None:
            self._sent(_I.NO_MECHANISM)
            ours = ", ".join(c.name for c in self._credentials)
            raise SaslError(f"no common SASL mechanism: we support {ours}; "
                            f"the server offers {', '.join(offered)}")
        self._chosen = chosen
        self.mechanism = Symbol(chosen.name)
        init = SaslInit(mechanism=self.mechanism, initial_response=chosen.initial_response(),
                        hostname=self.hostname)
        self._sent(_I.INIT)
        return init

    def _answer(self, frame: SaslChallenge) -> SaslResponse:
        assert self._chosen is not None  # a challenge only follows our sasl-init
        self._challenges += 1
        self._last_challenge = challenge = frame.challenge or b""
        answer = self._chosen.challenge_response(challenge, self._challenges)
        self._sent(_I.RESPONSE)
        return SaslResponse(response=answer)

    def _failure(self, frame: SaslOutcome) -> SaslError:
        text = _FAILURE_TEXT.get(frame.code, f"authentication failed: sasl-code {frame.code!r}")
        text += f" (mechanism {self.mechanism})"
        if self.mechanism == "XOAUTH2" and self._last_challenge:
            # XOAUTH2 servers explain a failure in their challenge (a JSON document).
            text += f"; the server said {_show(self._last_challenge)}"
        if frame.additional_data:
            text += f"; additional data {_show(frame.additional_data)}"
        return SaslError(text, frame.code, frame.additional_data)


# --------------------------------------------------------------------------- server


@dataclass(frozen=True)
class SaslResult:
    """An authenticator's verdict: an outcome code (with the identity on OK), or a challenge."""

    code: SaslCode | None
    identity: str | None = None
    challenge: bytes | None = None

    def __post_init__(self) -> None:
        if (self.code is None) == (self.challenge is None):
            raise ValueError("a SaslResult has either a code or a challenge")
        if self.code is not None:
            SaslCode(self.code)  # ValueError if it is not a sasl-code

    @classmethod
    def ok(cls, identity: str) -> SaslResult:
        return cls(SaslCode.OK, identity)

    @classmethod
    def fail(cls, code: SaslCode = SaslCode.AUTH) -> SaslResult:
        return cls(code)

    @classmethod
    def ask(cls, challenge: bytes) -> SaslResult:
        return cls(None, challenge=challenge)


class SaslAuthenticator(Protocol):
    """The server's credential check, for any set of mechanisms."""

    @property
    def mechanisms(self) -> Sequence[str]: ...  # to offer, most preferred first (5.3.3.1)

    def authenticate(self, mechanism: str, response: bytes | None, hostname: str | None,
                     step: int) -> SaslResult:
        """Judge the initial response (step 0) or the answer to our ``step``-th challenge."""


# Google's XOAUTH2 failure report, sent as a challenge before the failure outcome.
_XOAUTH2_ERROR: Final = b'{"status":"401","schemes":"bearer"}'


# The XOAUTH2 initial response: user=NAME ^A auth=Bearer TOKEN ^A ^A.
_XOAUTH2_RESPONSE: Final = re.compile(rb"user=([^\x01]+)\x01auth=Bearer ([^\x01]+)\x01\x01")


def _decode(parts: Sequence[bytes]) -> list[str] | None:
    """The fields of a response as text, or None if one is not UTF-8."""
    try:
        return [p.decode("utf-8") for p in parts]
    except UnicodeDecodeError:
        return None


def _admit(verdict: object, identity: str) -> SaslResult:
    """Only a callback returning True grants access (not 1, "yes" or a stray object)."""
    return SaslResult.ok(identity) if verdict is True else SaslResult.fail()


class _Callbacks:
    """The authenticator SaslServer builds from its per-mechanism callbacks."""

    def __init__(self, plain: Callable[[str, str], bool] | None, anonymous: bool | None,
                 external: Callable[[str], bool] | None, xoauth2: Callable[[str, str], bool] | None,
                 hostname: Callable[[str | None], bool] | None) -> None:
        self._plain, self._external, self._xoauth2 = plain, external, xoauth2
        self._hostname = hostname
        if anonymous is None:
            anonymous = plain is None and external is None and xoauth2 is None
        # Offered most secure first (5.3.3.1: "in decreasing level of preference").
        self.mechanisms = [name for name, on in (("EXTERNAL", external), ("XOAUTH2", xoauth2),
                                                 ("PLAIN", plain), ("ANONYMOUS", anonymous))
                           if on is not None and on is not False]

    def authenticate(self, mechanism: str, response: bytes | None, hostname: str | None,
                     step: int) -> SaslResult:
        # A host we do not serve is refused like bad credentials (sasl-code auth): the
        # client asked for it, and retrying the same request cannot succeed.
        if step == 0 and self._hostname is not None and self._hostname(hostname) is not True:
            return SaslResult.fail()
        if mechanism not in self.mechanisms:
            return SaslResult.fail()
        if mechanism == "ANONYMOUS":
            return SaslResult.ok("anonymous")
        if mechanism == "PLAIN" and self._plain:
            # RFC 4616 section 2: [authzid] NUL authcid NUL passwd, authcid not empty.
            fields = _decode((response or b"").split(b"\x00"))
            if fields is None or len(fields) != 3 or not fields[1]:
                return SaslResult.fail()
            authzid, username, password = fields
            # RFC 4616 section 2: the server checks that the authcid may act as the
            # authzid; we only let a user act as itself.
            if authzid and authzid != username:
                return SaslResult.fail()
            return _admit(self._plain(username, password), username)
        if mechanism == "EXTERNAL" and self._external:
            # RFC 4422 appendix A: the message is the authzid, possibly empty (we take a
            # missing initial response as empty too).
            fields = _decode([response or b""])
            if fields is None or "\x00" in fields[0]:
                return SaslResult.fail()
            return _admit(self._external(fields[0]), fields[0])
        if mechanism == "XOAUTH2" and self._xoauth2:
            if step > 0:  # the client answered our error report: now the outcome
                return SaslResult.fail()
            match = _XOAUTH2_RESPONSE.fullmatch(response or b"")
            fields = _decode(match.groups()) if match else None
            if fields is None:
                return SaslResult.fail()
            if self._xoauth2(*fields) is True:
                return SaslResult.ok(fields[0])
            return SaslResult.ask(_XOAUTH2_ERROR)
        return SaslResult.fail()


class SaslServer(_Machine):
    """The server's side of the dialog: offers mechanisms and judges the client's answers.

    Either give per-mechanism callbacks -- ``plain(username, password)``,
    ``external(authzid)``, ``xoauth2(username, token)``, each returning True to admit,
    ``anonymous`` (default: offered only if nothing else is), ``hostname(name)`` to
    check sasl-init's hostname -- or an ``authenticator`` for anything else.
    """

    __slots__ = ("_authenticator", "_step", "error", "hostname", "identity",
                 "mechanism", "mechanisms", "outcome")

    def __init__(self, *, plain: Callable[[str, str], bool] | None = None,
                 anonymous: bool | None = None, external: Callable[[str], bool] | None = None,
                 xoauth2: Callable[[str, str], bool] | None = None,
                 hostname: Callable[[str | None], bool] | None = None,
                 authenticator: SaslAuthenticator | None = None) -> None:
        super().__init__(peer="client")
        if authenticator is None:
            authenticator = _Callbacks(plain, anonymous, external, xoauth2, hostname)
        elif any(x is not None for x in (plain, anonymous, external, xoauth2, hostname)):
            raise ValueError("give SaslServer an authenticator or callbacks, not both")
        self.mechanisms = [Symbol(m) for m in authenticator.mechanisms]
        if not self.mechanisms:
            # 5.3.3.1: the list of mechanisms must not be empty.
            raise ValueError("a SASL server must offer at least one mechanism")
        self._authenticator = authenticator
        self._step = 0
        self.mechanism: Symbol | None = None
        self.hostname: str | None = None
        self.identity: str | None = None
        self.outcome: SaslOutcome | None = None
        self.error: Exception | None = None  # what a failing check raised, for our logs

    def __repr__(self) -> str:
        return f"<SaslServer [{', '.join(self.mechanisms)}] {self._state.name}>"

    def start(self) -> SaslMechanisms:
        """The sasl-mechanisms frame that opens the dialog (5.3.2); call once."""
        self._sent(_I.MECHANISMS)
        return SaslMechanisms(sasl_server_mechanisms=list(self.mechanisms))

    def receive(self, frame: object) -> list[SaslFrame]:
        """Take a frame from the client; return the frame to send back (challenge or outcome)."""
        self._received(frame)
        if isinstance(frame, SaslInit):
            self.mechanism = Symbol(frame.mechanism or "")
            self.hostname = frame.hostname
            if self.mechanism in self.mechanisms:
                result = self._judge(frame.initial_response)
            else:
                # 5.3.3.2 says to refuse a mechanism we do not support with an
                # "authentication-failure close-code", which AMQP does not define; the
                # outcome auth ("a problem with the supplied credentials") is the refusal
                # of what the client supplied. sys-perm would wrongly blame our system.
                result = SaslResult.fail()
        else:
            assert isinstance(frame, SaslResponse)  # the table admits nothing else
            self._step += 1
            result = self._judge(frame.response)
        if result.challenge is not None:
            self._sent(_I.CHALLENGE)
            return [SaslChallenge(challenge=result.challenge)]
        assert result.code is not None
        code = SaslCode(result.code)
        self._sent(_I.OUTCOME_OK if code is SaslCode.OK else _I.OUTCOME_FAILED)
        if code is SaslCode.OK:
            self.identity = result.identity
        self.outcome = SaslOutcome(code=code)
        return [self.outcome]

    def _judge(self, response: bytes | None) -> SaslResult:
        assert self.mechanism is not None
        try:
            result = self._authenticator.authenticate(
                self.mechanism, response, self.hostname, self._step)
            if not isinstance(result, SaslResult):
                raise TypeError(f"the authenticator returned {type(result).__name__}")
        except Exception as exc:
            # A check that breaks is our fault, not the client's: sasl-code sys (5.3.3.6).
            # The client learns nothing of the exception; it stays here for our logs.
            self.error = exc
            return SaslResult.fail(SaslCode.SYS)
        return result
