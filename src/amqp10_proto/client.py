"""I/O-free helpers the adapters share (trio, asyncio, sync), so each stays a thin pump.

They turn the core's results into what a client API hands out: a peer's outcome
into the matching exception, an AMQP error into one line of text, and a received
message together with its delivery.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol

from typing_extensions import TypeVar

from . import _clientconnect
from ._asyncreceiver import AsyncReceiverBase
from ._asyncrequests import AsyncCbsBase, AsyncManagementBase, AsyncRequesterBase
from ._checks import (
    SettlingReceiver,
    check_connect_timeouts,
    check_credit,
    check_link_options,
    check_settle,
    check_settle_once,
    check_symbols,
    check_timeout,
    sendable,
    timeout_or,
)
from ._clientasync import AsyncBatchSending, AsyncLinkEnding
from ._clientconnect import connect_failure, connect_sasl, url_mechanisms, url_sasl, urls_sasl
from ._clientinfo import (
    HasTxnId,
    LinkInfo,
    SendOptions,
    describe_error,
    outcome_error,
    settle_timeout_text,
    txn_id_of,
)
from ._clientstate import LinkBase, ReceiverBase, SenderBase, SessionBase
from ._clienttxn import AsyncClientTransaction, ClientTransaction
from ._defaults import DEFAULT_MAX_MESSAGE_SIZE
from ._definitions import (
    Coordinator,
    Error,
    ErrorCondition,
    Header,
    Properties,
    ReceiverSettleMode,
    SenderSettleMode,
    Source,
    Target,
    TerminusDurability,
)
from ._delivery import Delivery
from ._earlywrite import AHEAD, EarlyWrites, thread_switches
from ._errors import AuthenticationError, ConnectionClosedError, RemoteProtocolError
from ._events import (
    ConnectionClosed,
    ConnectionFailed,
    CreditGranted,
    DeliveryResumed,
    DrainCompleted,
    LinkDetached,
    LinkFailed,
    LinkResumed,
    MessageReceived,
    MessageUndecodable,
    RemoteAttach,
    RemoteBegin,
    SessionEnded,
    SessionFailed,
    TransferAborted,
)
from ._message import Message
from ._performatives import Open
from ._proxy import ProxyOption
from ._reconnect import FirstConnect, Reconnect, ReconnectInfo
from ._recovery import Recovering
from ._requester import (
    DEFAULT_REQUEST_TIMEOUT,
    CbsCalls,
    ManagementCalls,
    RequesterBase,
    TokenProvider,
    check_token,
)
from ._requests import PendingRequest
from ._state import LinkState, SessionState
from ._txn import TransactionDeclared
from ._types import Symbol

__all__ = [
    "AHEAD",
    "EarlyWrites",
    "thread_switches",
    "AsyncCbsBase",
    "AsyncManagementBase",
    "AsyncRequesterBase",
    "SettlingReceiver",
    "DEFAULT_REQUEST_TIMEOUT",
    "CbsCalls",
    "ManagementCalls",
    "RequesterBase",
    "TokenProvider",
    "check_token",
    "PendingRequest",
    "SocketLike",
    "FirstConnect",
    "Reconnect",
    "ReconnectInfo",
    "Recovering",
    "url_mechanisms",
    "urls_sasl",
    "DEFAULT",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "AsyncReceivedMessage",
    "AsyncReceiverBase",
    "ConnectionInfo",
    "closed_error",
    "LinkBase",
    "LinkInfo",
    "ReceivedSections",
    "ReceiverBase",
    "SaslOption",
    "SenderBase",
    "SessionBase",
    "SettleMode",
    "check_connect_timeouts",
    "check_settle",
    "check_timeout",
    "connect_failure",
    "connect_sasl",
    "describe_error",
    "dispatch_events",
    "outcome_error",
    "receive_bytes",
    "receiver_attach_args",
    "sender_attach_args",
    "sendable",
    "settle_timeout_text",
    "check_settle_once",
    "timeout_or",
    "socket_peer",
    "url_sasl",
    "AsyncBatchSending",
    "AsyncLinkEnding",
    "AsyncClientTransaction",
    "ClientTransaction",
    "HasTxnId",
    "SendOptions",
    "txn_id_of",
    "ProxyOption",
    "check_symbols",
]

if TYPE_CHECKING:
    from ._connection import Connection
    from .trace import FrameTracer

log = logging.getLogger("amqp10")
# A library adds only a NullHandler (the logging HOWTO): the application decides where its
# records go, and logging's last resort does not print them when it configured nothing.
log.addHandler(logging.NullHandler())



_NO_INCOMING_SESSION = Error(condition=ErrorCondition.NOT_ALLOWED,
                             description="this client accepts no incoming sessions")
_NO_INCOMING_LINK = Error(condition=ErrorCondition.NOT_ALLOWED,
                          description="this client accepts no incoming links")


def dispatch_events(core: Connection, label: str, *, reconnecting: bool = False) -> bool:
    """Hand every queued core event to the adapter object its link or session carries.

    The adapters keep their Session/Sender/Receiver in the core object's
    ``context``; each has ``_deliver``, ``_detached``, ``_on_end``, ``_on_failed``,
    ``_undecodable`` or ``_on_flow_event`` as it needs. A client takes no session
    or link the peer begins (refused with amqp:not-allowed, 2.5.1 / 2.6.3). True if
    there was any event (the adapter then wakes its waiters). ``reconnecting``: the
    connection replaces its lost transport, whose end was logged already.

    No exception escapes from handling one event: the peer's fault
    (RemoteProtocolError, its close already queued by the core) is logged, ours is
    logged with its traceback and answered with a close carrying
    amqp:internal-error; the events after it are handled all the same. That holds for
    ``next_event`` too: an adapter's filter in front of the core may answer events
    itself (asyncio's credit), and a handler it runs fails as one run here would.
    """
    handled = False
    while True:
        event: Any = None
        try:
            event = core.next_event()
            if event is None:
                return handled
            handled = True
            while event is not None:
                if type(event) is MessageReceived:  # the hot path: one per message
                    obj = event.link.context
                    if obj is not None:
                        obj._deliver(event)
                else:
                    _dispatch_one(event, label, reconnecting)
                event = core.next_event()
            return True
        except RemoteProtocolError as exc:
            handled = True
            log.warning("%s: the peer broke the protocol: %s", label, exc)
            # Raised by a core call a handler made: make sure the close goes out.
            _close_with(core, label, exc.condition, str(exc))
        except Exception as exc:
            handled = True
            # (A filter in front of the core names the event its failed handler had.)
            log.exception("%s: internal error handling %s", label,
                          type(getattr(exc, "amqp10_event", event)).__name__)
            _close_with(core, label, ErrorCondition.INTERNAL_ERROR,
                        f"internal error in the client: {type(exc).__name__}")


#: Event type -> (the event's field naming the endpoint, the method of the adapter
#: object in that endpoint's ``context`` that takes the event).
_ROUTES: dict[type, tuple[str, str]] = {
    LinkDetached: ("link", "_detached"),
    SessionEnded: ("session", "_on_end"),
    CreditGranted: ("link", "_on_flow_event"),
    DrainCompleted: ("link", "_on_flow_event"),
    TransferAborted: ("link", "_on_flow_event"),
    # 2.6.6 / 2.5.7: the core detached the link (ended the session) for the peer's
    # fault; the peer's answer may never come, so the waiters learn now.
    LinkFailed: ("link", "_on_failed"),
    SessionFailed: ("session", "_on_failed"),
    MessageUndecodable: ("link", "_undecodable"),
    # 2.6.13: a resumed link's two unsettled maps, and each resumed delivery.
    LinkResumed: ("link", "_on_link_resumed"),
    DeliveryResumed: ("link", "_on_delivery_resumed"),
    # 4.3: a declare answered after its waiter gave up is rolled back (_clienttxn).
    TransactionDeclared: ("transaction", "_on_txn_event"),
}


def _dispatch_one(event: Any, label: str, reconnecting: bool = False) -> None:
    """Every event but MessageReceived: to its endpoint's adapter object, or answered here."""
    t = type(event)
    route = _ROUTES.get(t)
    if route is not None:
        obj = getattr(event, route[0]).context
        if obj is not None:
            getattr(obj, route[1])(event)
    elif t is ConnectionClosed:
        # While reconnecting, the drop was logged once already (with where it goes next).
        level = logging.DEBUG if reconnecting else (
            logging.INFO if event.error is None else logging.WARNING)
        log.log(level, "%s: connection closed %s", label,
                describe_error(event.error) or "cleanly")
    elif t is ConnectionFailed:
        log.debug("%s: closing for the peer's fault: %s", label, describe_error(event.error))
    # 2.5.1 / 2.6.3: refuse what the peer still waits on; a session or link it ended
    # in the same read (the core answered that end or detach) needs nothing more.
    elif t is RemoteBegin and event.session.state is SessionState.BEGIN_RCVD:
        event.session.end(_NO_INCOMING_SESSION)
    elif t is RemoteAttach and event.link.state is LinkState.ATTACH_RCVD:
        event.link.refuse(_NO_INCOMING_LINK)


def receive_bytes(core: Connection, data: bytes, label: str,
                  tracer: FrameTracer | None) -> None:
    """Hand bytes an adapter read (``b""``: the peer closed) to ``core``, traced first if
    ``tracer`` (a FrameTracer) is set. Nothing is raised, so the pump goes on: the
    peer's protocol error is logged (the core queued our close with its condition
    already, 2.4.3); any other exception is ours, closed with amqp:internal-error."""
    if tracer is not None and data:
        tracer.feed(data)
    try:
        core.receive_data(data)
    except RemoteProtocolError as exc:
        log.warning("%s: the peer broke the protocol: %s", label, exc)
    except Exception as exc:
        log.exception("%s: internal error handling the peer's bytes", label)
        _close_with(core, label, ErrorCondition.INTERNAL_ERROR,
                    f"internal error in the client: {type(exc).__name__}")


def _close_with(core: Connection, label: str, condition: str, description: str) -> None:
    """Close the connection with ``condition`` (2.4.3), unless it is closing already (the
    core queued its own close first); if even that fails, end it as a lost transport."""
    try:
        core.close(Error(condition=condition, description=description))
    except Exception:
        log.exception("%s: closing with %s failed", label, condition)
        core.transport_failed(f"{condition}: {description}")


# DEFAULT and SaslOption are _clientconnect's, bound here with their comments: autodoc
# reads a name's comment from the module whose page documents it.

#: "Choose for me": SASL PLAIN when the URL has credentials, ANONYMOUS otherwise.
DEFAULT = _clientconnect.DEFAULT

#: What an adapter's ``sasl=`` takes: mechanisms to offer, None (no SASL layer), or DEFAULT.
SaslOption = _clientconnect.SaslOption


class SocketLike(Protocol):
    """A connected socket as :func:`socket_peer` reads it: a ``socket.socket``, an
    ``ssl.SSLSocket`` or a trio socket."""

    def getpeername(self) -> Any: ...


def socket_peer(sock: SocketLike) -> tuple[str, str] | None:
    """``(host, label)`` of a connected socket's peer (``label`` is ``host:port``), for an
    adapter's ``connect``; None if the socket cannot say (no longer connected)."""
    try:
        peer = sock.getpeername()
    except OSError:
        return None
    if isinstance(peer, tuple):
        return str(peer[0]), f"{peer[0]}:{peer[1]}"
    return "localhost", str(peer)  # a Unix socket


SettleMode = Literal["unsettled", "settled", "mixed"]
_SND_MODES = {"unsettled": SenderSettleMode.UNSETTLED, "settled": SenderSettleMode.SETTLED,
              "mixed": SenderSettleMode.MIXED}
_RCV_MODES = {"first": ReceiverSettleMode.FIRST, "second": ReceiverSettleMode.SECOND}
_DURABILITY = {None: TerminusDurability.NONE, False: TerminusDurability.NONE,
               True: TerminusDurability.UNSETTLED_STATE,
               "none": TerminusDurability.NONE, "configuration": TerminusDurability.CONFIGURATION,
               "unsettled-state": TerminusDurability.UNSETTLED_STATE}


_EXPIRY_POLICIES = ("link-detach", "session-end", "connection-close", "never")


def _mode(table: dict[str, Any], value: str, what: str) -> Any:
    mode = table.get(value) if isinstance(value, str) else None
    if mode is None:
        raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}")
    return mode


def _terminus(kind: Any, address: Any, durable: bool | str | None,
              expiry_policy: str | None, capabilities: list[str] | None) -> Any:
    """A Source or Target from the adapters' plain options (3.5.3, 3.5.4)."""
    if address is not None and not isinstance(address, str):
        raise TypeError(f"the address must be a str, a {kind.__name__} or None, "
                        f"not {type(address).__name__}")
    durability = _DURABILITY.get(durable) if isinstance(durable, (str, bool)) or \
        durable is None else None
    if durability is None:
        raise ValueError(f"durable must be a bool or one of none, configuration, "
                         f"unsettled-state; not {durable!r}")
    t = kind(address=address, durable=durability)
    if expiry_policy is not None:
        if expiry_policy not in _EXPIRY_POLICIES:
            raise ValueError(f"expiry_policy must be one of {', '.join(_EXPIRY_POLICIES)} "
                             f"(3.5.6), not {expiry_policy!r}")
        t.expiry_policy = Symbol(expiry_policy)
    check_symbols(capabilities, "capabilities")
    if capabilities is not None:
        t.capabilities = [Symbol(c) for c in capabilities]
    return t


def _check_options(source: Any, target: Any, core_options: dict[str, Any]) -> None:
    """The options passed on to the core's attach, checked before any wait or frame."""
    if "credit" in core_options:
        check_credit(core_options["credit"])
    check_link_options(
        source=source, target=target, name=core_options.get("name"),
        max_message_size=core_options.get("max_message_size"),
        properties=core_options.get("properties"),
        offered_capabilities=core_options.get("offered_capabilities"),
        desired_capabilities=core_options.get("desired_capabilities"))


def sender_attach_args(address: str | Target | None, *, settle_mode: SettleMode,
                       durable: bool | str | None, expiry_policy: str | None,
                       capabilities: list[str] | None,
                       rcv_settle_mode: Literal["first", "second"] = "first",
                       dynamic: bool = False, **core_options: Any) -> dict[str, Any]:
    """Keyword arguments for ``Session.attach_sender`` from an adapter's ``open_sender`` options.

    ``rcv_settle_mode`` "second" asks the receiver to keep each delivery until we have
    settled it after its outcome (2.8.3): with a durable target, a resumed link then
    neither loses nor duplicates what was in doubt (2.6.13). Raises TypeError or
    ValueError for any option it cannot send (an unknown settle mode, durability or
    expiry policy, a capability that is not a str, a Coordinator target ...), before
    anything is sent. ``dynamic=True`` asks the peer to make a node and name it (3.5.4):
    the sender's ``address`` is that name once attached.
    """
    # (A Coordinator is refused by the check below: it is for transaction controllers.)
    target = address if isinstance(address, (Target, Coordinator)) else _terminus(
        Target, address, durable, expiry_policy, capabilities)
    if not isinstance(dynamic, bool):
        raise TypeError(f"dynamic must be a bool, not {type(dynamic).__name__}")
    if dynamic:
        if not isinstance(target, Target) or target.address is not None:
            raise ValueError("a dynamic sender takes no address: the peer names the node "
                             "(3.5.4); pass None")
        target.dynamic = True
    source = core_options.get("source")
    _check_options(Source(address=source) if isinstance(source, str) else source, target,
                   core_options)
    return {"target": target, "snd_settle_mode": _mode(_SND_MODES, settle_mode, "settle_mode"),
            "rcv_settle_mode": _mode(_RCV_MODES, rcv_settle_mode, "rcv_settle_mode"),
            **core_options}


def receiver_attach_args(address: str | Source | None, *, dynamic: bool,
                         filters: dict[Any, Any] | None, settle_mode: SettleMode,
                         rcv_settle_mode: Literal["first", "second"],
                         durable: bool | str | None, expiry_policy: str | None,
                         capabilities: list[str] | None, **core_options: Any) -> dict[str, Any]:
    """Keyword arguments for ``Session.attach_receiver`` from an adapter's ``open_receiver``.

    String filter keys become symbols (3.5.1, filter-set). Raises TypeError or
    ValueError for any option it cannot send, before anything is sent.
    """
    if isinstance(address, Source):
        source = address
    else:
        source = _terminus(Source, address, durable, expiry_policy, capabilities)
        if not isinstance(dynamic, bool):
            raise TypeError(f"dynamic must be a bool, not {type(dynamic).__name__}")
        source.dynamic = dynamic
        if filters is not None:
            if not isinstance(filters, dict):
                raise TypeError(f"filters must be a dict, not {type(filters).__name__}")
            source.filter = {Symbol(k) if isinstance(k, str) else k: v
                             for k, v in filters.items()}
    target = core_options.get("target")
    _check_options(source, Target(address=target) if isinstance(target, str) else target,
                   core_options)
    return {"source": source, "snd_settle_mode": _mode(_SND_MODES, settle_mode, "settle_mode"),
            "rcv_settle_mode": _mode(_RCV_MODES, rcv_settle_mode, "rcv_settle_mode"),
            **core_options}


def closed_error(core: Connection, *, closed_by_user: bool, transport_error: str | None,
                 shut_down: str | None = None,
                 cause: BaseException | None = None) -> ConnectionClosedError:
    """The exception every pending and later call raises once ``core`` is over.

    AuthenticationError when SASL refused us (5.3.3.6: the server closes before
    any open); otherwise ConnectionClosedError with the peer's error, or the local
    reason (our own close, or the transport's failure, ``transport_error``).
    ``shut_down``: the text an adapter gave ``transport_failed`` when the user
    closed it, which is then no error. ``cause``: the typed error that broke the
    transport (a WebSocketError), the ``__cause__`` of a ConnectionClosedError that
    says it.
    """
    error = core.error
    if error is not None and error.condition == ErrorCondition.UNAUTHORIZED_ACCESS \
            and core.remote_open is None:
        reason = error.description or ""
        text = reason if reason.startswith("authentication failed") else (
            f"authentication failed: {describe_error(error)}")
        return AuthenticationError(text, error)
    if closed_by_user and (error is None or (shut_down and error.description == shut_down)):
        return ConnectionClosedError("the connection was closed", error)
    if error is not None:
        text = f"connection closed: {describe_error(error)}"
        if transport_error and transport_error not in text:
            text += f" ({transport_error})"
    else:
        text = "connection closed by the peer"
    closed = ConnectionClosedError(text, error)
    if cause is not None:
        closed.__cause__ = cause
    return closed


#: The receiver a message came from (an adapter's ``Receiver``).
R = TypeVar("R", default=Any)


class ReceivedSections(Generic[R]):
    """A received message with its delivery; the message's sections read directly.

    Each adapter's ``ReceivedMessage`` adds ``accept()``, ``reject()`` ... in its own
    style (blocking or async) on top of this; ``R`` is its receiver class.
    """

    __slots__ = ("delivery", "message", "receiver")

    def __init__(self, message: Message, delivery: Delivery, receiver: R) -> None:
        self.message = message
        self.delivery = delivery
        self.receiver = receiver

    @property
    def body(self) -> Any:
        """The body (3.2.5-3.2.7): any AMQP value; ``message.body_type`` says which."""
        return self.message.body

    @property
    def header(self) -> Header | None:
        """The header section (3.2.1): durable, priority, ttl ... or None if it had none."""
        return self.message.header

    @property
    def properties(self) -> Properties | None:
        """The properties section (3.2.4): message_id, to, subject ... or None."""
        return self.message.properties

    @property
    def application_properties(self) -> dict[str, Any] | None:
        return self.message.application_properties

    @property
    def message_annotations(self) -> dict[Any, Any] | None:
        return self.message.message_annotations

    @property
    def delivery_annotations(self) -> dict[Any, Any] | None:
        return self.message.delivery_annotations

    @property
    def footer(self) -> dict[Any, Any] | None:
        return self.message.footer

    @property
    def settled(self) -> bool:
        """True once settled (pre-settled by the sender, or by our accept/reject ...)."""
        return self.delivery.settled

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, delivery_id={self.delivery.id})"


#: An async adapter's receiver (what ``AsyncReceivedMessage.receiver`` is).
AR = TypeVar("AR", bound=AsyncReceiverBase[Any, Any], default=AsyncReceiverBase[Any, Any])


class AsyncReceivedMessage(ReceivedSections[AR]):
    """A received message whose settling calls are awaited (the asyncio and trio adapters).

    Each is its receiver's call for this message: ``await msg.accept()`` is
    ``await receiver.accept(msg)``.
    """

    __slots__ = ()

    # ``txn=`` (session.transaction()) gives the outcome in that transaction (4.4.2).
    async def accept(self, *, timeout: float | None = None,
                     txn: HasTxnId | None = None) -> None:
        """Accept this message (see the receiver's ``accept``)."""
        await self.receiver.accept(self, timeout=timeout, txn=txn)

    async def reject(self, error: Error | None = None, *, timeout: float | None = None,
                     txn: HasTxnId | None = None) -> None:
        """Reject this message (see the receiver's ``reject``)."""
        await self.receiver.reject(self, error, timeout=timeout, txn=txn)

    async def release(self, *, timeout: float | None = None,
                      txn: HasTxnId | None = None) -> None:
        """Release this message (see the receiver's ``release``)."""
        await self.receiver.release(self, timeout=timeout, txn=txn)

    async def modify(self, *, delivery_failed: bool = True, undeliverable_here: bool = False,
                     message_annotations: dict[Any, Any] | None = None,
                     timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Settle this message as modified (see the receiver's ``modify``)."""
        await self.receiver.modify(self, delivery_failed=delivery_failed,
                                   undeliverable_here=undeliverable_here,
                                   message_annotations=message_annotations, timeout=timeout,
                                   txn=txn)


class ConnectionInfo:
    """What the peer's open said, read from an adapter connection's core (``_core``)."""

    _core: Any

    @property
    def error(self) -> Error | None:
        """The peer's close error (or why we closed), once the connection ended."""
        value: Error | None = self._core.error
        return value

    @property
    def remote_open(self) -> Open | None:
        """The peer's open frame: its container id, properties, limits and capabilities."""
        value: Open | None = self._core.remote_open
        return value

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        """The peer's connection properties (2.7.1), e.g. its product and version."""
        o = self.remote_open
        return None if o is None else o.properties

    @property
    def remote_container_id(self) -> str | None:
        """The peer's container id (2.7.1), the broker's name for itself."""
        o = self.remote_open
        return None if o is None else o.container_id

    @property
    def remote_offered_capabilities(self) -> list[str] | None:
        """Extensions the peer offers on this connection (e.g. ANONYMOUS-RELAY)."""
        o = self.remote_open
        return None if o is None else o.offered_capabilities

    @property
    def remote_idle_timeout(self) -> float | None:
        """The peer's idle timeout in seconds; we send heartbeats at half of it (2.4.5)."""
        value: float | None = self._core.remote_idle_timeout
        return value

    @property
    def remote_max_frame_size(self) -> int:
        """The largest frame the peer takes; larger messages are split across transfers."""
        value: int = self._core.remote_max_frame_size
        return value
