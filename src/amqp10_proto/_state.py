"""The endpoint state machines of AMQP 1.0 as transition tables.

One table each for the connection (2.4.6), the session (2.5.5) and the link
(2.6.3 - 2.6.6): ``(state, input) -> next state``. The tables say nothing of
roles or side effects; the engine applies them and acts. An input with no entry
is a protocol error: ours (``LocalProtocolError``, state unchanged) when we
would send it, the peer's (``amqp:illegal-state``) when it arrived. The docs
draw their state diagrams from these very tables (``tools/gen_diagrams.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from ._errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "CONNECTION_TABLE",
    "LINK_TABLE",
    "SESSION_TABLE",
    "ConnectionState",
    "Input",
    "LinkState",
    "SessionState",
    "transition",
]


class Input(enum.Enum):
    """What moves an endpoint: a frame we send (SEND_*) or one we receive (RECV_*)."""

    SEND_HEADER = "send header"
    RECV_HEADER = "recv header"
    SEND_OPEN = "send open"
    RECV_OPEN = "recv open"
    SEND_CLOSE = "send close"
    RECV_CLOSE = "recv close"
    SEND_BEGIN = "send begin"
    RECV_BEGIN = "recv begin"
    SEND_END = "send end"
    RECV_END = "recv end"
    SEND_ATTACH = "send attach"
    RECV_ATTACH = "recv attach"
    SEND_DETACH = "send detach"
    RECV_DETACH = "recv detach"


class ConnectionState(enum.Enum):
    """2.4.6: connection states (the SASL layer runs before START's header)."""

    START = "START"
    HDR_RCVD = "HDR_RCVD"
    HDR_SENT = "HDR_SENT"
    HDR_EXCH = "HDR_EXCH"
    OPEN_PIPE = "OPEN_PIPE"
    OC_PIPE = "OC_PIPE"
    OPEN_RCVD = "OPEN_RCVD"
    OPEN_SENT = "OPEN_SENT"
    CLOSE_PIPE = "CLOSE_PIPE"
    OPENED = "OPENED"
    CLOSE_RCVD = "CLOSE_RCVD"
    CLOSE_SENT = "CLOSE_SENT"
    END = "END"


class SessionState(enum.Enum):
    """2.5.5: session states."""

    UNMAPPED = "UNMAPPED"
    BEGIN_SENT = "BEGIN_SENT"
    BEGIN_RCVD = "BEGIN_RCVD"
    MAPPED = "MAPPED"
    END_SENT = "END_SENT"
    END_RCVD = "END_RCVD"
    ENDED = "ENDED"


class LinkState(enum.Enum):
    """2.6.3 - 2.6.6: link endpoint states."""

    DETACHED = "DETACHED"
    ATTACH_SENT = "ATTACH_SENT"
    ATTACH_RCVD = "ATTACH_RCVD"
    ATTACHED = "ATTACHED"
    DETACH_SENT = "DETACH_SENT"
    DETACH_RCVD = "DETACH_RCVD"
    CLOSED = "CLOSED"


_C = ConnectionState
_SS = SessionState
_L = LinkState
_I = Input

CONNECTION_TABLE: dict[tuple[ConnectionState, Input], ConnectionState] = {
    (_C.START, _I.SEND_HEADER): _C.HDR_SENT,
    (_C.START, _I.RECV_HEADER): _C.HDR_RCVD,
    (_C.HDR_RCVD, _I.SEND_HEADER): _C.HDR_EXCH,
    (_C.HDR_SENT, _I.RECV_HEADER): _C.HDR_EXCH,
    # Pipelined open (2.4.6): open sent before the peer's header arrived.
    (_C.HDR_SENT, _I.SEND_OPEN): _C.OPEN_PIPE,
    (_C.OPEN_PIPE, _I.RECV_HEADER): _C.OPEN_SENT,
    (_C.OPEN_PIPE, _I.SEND_CLOSE): _C.OC_PIPE,
    (_C.OC_PIPE, _I.RECV_HEADER): _C.CLOSE_PIPE,
    (_C.HDR_EXCH, _I.SEND_OPEN): _C.OPEN_SENT,
    (_C.HDR_EXCH, _I.RECV_OPEN): _C.OPEN_RCVD,
    (_C.OPEN_RCVD, _I.SEND_OPEN): _C.OPENED,
    (_C.OPEN_SENT, _I.RECV_OPEN): _C.OPENED,
    (_C.OPEN_SENT, _I.SEND_CLOSE): _C.CLOSE_PIPE,
    (_C.CLOSE_PIPE, _I.RECV_OPEN): _C.CLOSE_SENT,
    (_C.OPENED, _I.SEND_CLOSE): _C.CLOSE_SENT,
    (_C.OPENED, _I.RECV_CLOSE): _C.CLOSE_RCVD,
    (_C.CLOSE_RCVD, _I.SEND_CLOSE): _C.END,
    (_C.CLOSE_SENT, _I.RECV_CLOSE): _C.END,
    # A peer may close right after its open even while ours is in flight.
    (_C.CLOSE_PIPE, _I.RECV_CLOSE): _C.END,
}

SESSION_TABLE: dict[tuple[SessionState, Input], SessionState] = {
    (_SS.UNMAPPED, _I.SEND_BEGIN): _SS.BEGIN_SENT,
    (_SS.UNMAPPED, _I.RECV_BEGIN): _SS.BEGIN_RCVD,
    (_SS.BEGIN_SENT, _I.RECV_BEGIN): _SS.MAPPED,
    (_SS.BEGIN_RCVD, _I.SEND_BEGIN): _SS.MAPPED,
    (_SS.BEGIN_SENT, _I.SEND_END): _SS.END_SENT,
    (_SS.MAPPED, _I.SEND_END): _SS.END_SENT,
    (_SS.MAPPED, _I.RECV_END): _SS.END_RCVD,
    # The peer may end before we answered its begin (it sent begin, then end).
    (_SS.BEGIN_RCVD, _I.RECV_END): _SS.END_RCVD,
    # The peer's begin may cross our end (2.5.5: end before the reply).
    (_SS.END_SENT, _I.RECV_BEGIN): _SS.END_SENT,
    (_SS.END_SENT, _I.RECV_END): _SS.ENDED,
    (_SS.END_RCVD, _I.SEND_END): _SS.ENDED,
}

LINK_TABLE: dict[tuple[LinkState, Input], LinkState] = {
    (_L.DETACHED, _I.SEND_ATTACH): _L.ATTACH_SENT,
    (_L.DETACHED, _I.RECV_ATTACH): _L.ATTACH_RCVD,
    (_L.ATTACH_SENT, _I.RECV_ATTACH): _L.ATTACHED,
    (_L.ATTACH_RCVD, _I.SEND_ATTACH): _L.ATTACHED,
    (_L.ATTACH_SENT, _I.SEND_DETACH): _L.DETACH_SENT,
    # A peer that refuses may detach without attaching first (lenient; 2.6.3 says attach).
    (_L.ATTACH_SENT, _I.RECV_DETACH): _L.DETACH_RCVD,
    (_L.ATTACHED, _I.SEND_DETACH): _L.DETACH_SENT,
    (_L.ATTACHED, _I.RECV_DETACH): _L.DETACH_RCVD,
    # The peer may detach before we answered its attach (attach, then detach).
    (_L.ATTACH_RCVD, _I.RECV_DETACH): _L.DETACH_RCVD,
    (_L.DETACH_SENT, _I.RECV_ATTACH): _L.DETACH_SENT,
    (_L.DETACH_SENT, _I.RECV_DETACH): _L.CLOSED,
    (_L.DETACH_RCVD, _I.SEND_DETACH): _L.CLOSED,
}


_S = TypeVar("_S", bound=enum.Enum)


def transition(table: Mapping[tuple[_S, Input], _S], what: str, state: _S, event: Input) -> _S:
    """The next state, or the right protocol error if ``event`` is not allowed now."""
    nxt = table.get((state, event))
    if nxt is not None:
        return nxt
    if event.name.startswith("SEND"):
        raise LocalProtocolError(f"cannot {event.value} on a {what} in state {state.value}")
    raise RemoteProtocolError(f"peer sent {event.value[5:]} to a {what} in state {state.value}",
                              condition="amqp:illegal-state")
