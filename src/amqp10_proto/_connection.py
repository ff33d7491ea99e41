"""The connection (2.4): the engine's top, where bytes come in and go out.

``Connection`` is the sans-IO protocol core: ``receive_data(bytes)`` parses
headers and frames and drives SASL, the connection, its sessions and links;
``next_event()`` hands out what happened; ``data_to_send()`` returns the bytes
to write; ``tick(now)`` sends heartbeats and notices a silent peer. It reads no
clock and does no I/O. One class serves both roles; only the SASL side and who
speaks first differ.
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any, Literal

from ._defaults import (
    DEFAULT_CHANNEL_MAX,
    DEFAULT_HANDLE_MAX,
    DEFAULT_INCOMING_WINDOW,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_OUTGOING_WINDOW,
)
from ._definitions import Error, ErrorCondition
from ._encoder import encode
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    Authenticated,
    ConnectionClosed,
    ConnectionFailed,
    ConnectionOpened,
    Event,
    RemoteBegin,
)
from ._framing import (
    AMQP_HEADER,
    EMPTY_FRAME,
    FRAME_AMQP,
    FRAME_SASL,
    MIN_MAX_FRAME_SIZE,
    SASL_HEADER,
    FrameReader,
    describe_header,
    frame_header,
)
from ._performatives import (
    Attach,
    Begin,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Open,
    SaslChallenge,
    SaslInit,
    SaslMechanisms,
    SaslOutcome,
    SaslResponse,
    Transfer,
)
from ._sasl import SaslClient, SaslCredentials, SaslError, SaslServer
from ._session import NumberPool, Session
from ._state import CONNECTION_TABLE, ConnectionState, Input, transition

__all__ = ["Connection"]

_C = ConnectionState
#: States in which the peer's open has been received and ours sent.
_OPEN = frozenset((_C.OPENED,))
#: States in which frames other than open may still arrive and be acted on.
_LIVE = frozenset((_C.OPENED, _C.CLOSE_SENT, _C.OPEN_SENT, _C.OPEN_RCVD))
#: States in which our close has gone out: nothing else may follow it (2.4.3).
_CLOSING = frozenset((_C.CLOSE_SENT, _C.CLOSE_PIPE, _C.OC_PIPE, _C.END))
_SASL_TYPES = (SaslMechanisms, SaslInit, SaslChallenge, SaslResponse, SaslOutcome)


class Connection:
    """An AMQP 1.0 connection endpoint, initiating (``role="client"``) or accepting.

    ``sasl`` is, for a client, credentials (``SaslPlain(...)``, ``SaslAnonymous()``
    ...) or a list of them in order of preference; for a server, a
    ``SaslServer``. ``None`` means no SASL layer (2.2: the AMQP header first).
    ``idle_timeout`` is ours in seconds, advertised to the peer, which must send
    within it; we give up after twice that silence (2.4.5);
    ``max_frame_size`` and ``channel_max`` are the limits we accept.
    """

    def __init__(
        self,
        *,
        container_id: str | None = None,
        hostname: str | None = None,
        sasl: SaslCredentials | list[SaslCredentials] | SaslServer | None = None,
        role: Literal["client", "server"] = "client",
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        channel_max: int = DEFAULT_CHANNEL_MAX,
        idle_timeout: float | None = None,
        properties: dict[str, Any] | None = None,
        offered_capabilities: list[str] | None = None,
        desired_capabilities: list[str] | None = None,
    ) -> None:
        if role not in ("client", "server"):
            raise LocalProtocolError(f"role must be 'client' or 'server', not {role!r}")
        if not MIN_MAX_FRAME_SIZE <= max_frame_size <= 0xFFFFFFFF:
            raise LocalProtocolError(f"max_frame_size must be 512 to 2**32-1 (2.7.1), not {max_frame_size}")
        if not 0 <= channel_max <= 0xFFFF:
            raise LocalProtocolError(f"channel_max must be a ushort, not {channel_max}")
        if idle_timeout is not None and not 0 < idle_timeout * 1000 <= 0xFFFFFFFF:
            raise LocalProtocolError(f"idle_timeout {idle_timeout!r} is not a positive uint of ms")
        self.role = role
        self.container_id = container_id or f"amqp10-{uuid.uuid4()}"
        self.hostname = hostname
        self.max_frame_size = max_frame_size
        self.channel_max = channel_max
        self.idle_timeout = idle_timeout
        self.properties = properties
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        self.state = ConnectionState.START
        #: The peer's open (2.7.1), once it arrived.
        self.remote_open: Open | None = None
        #: The peer's close error, or ours, once the connection ended.
        self.error: Error | None = None
        #: Once ended: True if ``error`` is ours (our close, our transport's failure, or our
        #: answer to the peer's protocol violation), False if the peer closed.
        self.error_is_local = False
        self._sasl_client: SaslClient | None = None
        self._sasl_server: SaslServer | None = None
        if isinstance(sasl, SaslServer):
            if role != "server":
                raise LocalProtocolError("a SaslServer belongs to a server-role connection")
            self._sasl_server = sasl
        elif sasl is not None:
            if role != "client":
                raise LocalProtocolError("client credentials belong to a client-role connection")
            self._sasl_client = SaslClient(sasl, hostname=hostname)
        self._sasl_phase = sasl is not None
        self._reader = FrameReader(max_frame_size)
        # The engine copies what it needs out of each transfer and keeps none of
        # them, so the reader may reuse one object for the usual ones.
        self._reader.scratch = Transfer(handle=0)
        self._out: list[Any] = []
        self._deferred: list[bytes] = []  # AMQP frames queued while SASL runs
        self._events: deque[Event] = deque()
        self._sessions: dict[int, Session] = {}
        self._remote_sessions: dict[int, Session] = {}
        self._channels = NumberPool()
        #: Sessions that queued dispositions since the last data_to_send() (some twice).
        self._disposing: list[Session] = []
        self._open_requested = False
        self._ended = False
        self._peer_max_frame = MIN_MAX_FRAME_SIZE  # 2.7.1: until the peer's open says more
        #: The most payload a sender's usual transfer frame holds (its head 28-29 bytes).
        self._usual_payload_max = MIN_MAX_FRAME_SIZE - 29
        # Idle-timeout bookkeeping (2.4.5), in the caller's clock.
        self._frames_out = 0
        self._seen_in = 0
        self._seen_out = 0
        self._last_in: float | None = None
        self._last_out: float | None = None
        self._last_tick: float | None = None

    # -- the peer's limits ----------------------------------------------------------
    @property
    def remote_max_frame_size(self) -> int:
        """The largest frame we may send: the peer's max-frame-size (512 until it opened)."""
        return self._peer_max_frame

    @property
    def remote_idle_timeout(self) -> float | None:
        o = self.remote_open
        return None if o is None or not o.idle_time_out else o.idle_time_out / 1000

    @property
    def opened(self) -> bool:
        return self.state is _C.OPENED

    @property
    def ended(self) -> bool:
        """True once the connection is over (closed, failed, or the socket went)."""
        return self._ended

    # -- the sans-IO interface --------------------------------------------------------
    def open(self) -> None:
        """Start the connection: queue our protocol header(s) and open (2.4.1).

        A client speaks first; a server answers the peer's header. Both call
        ``open()`` once, at the start.
        """
        if self._open_requested:
            raise LocalProtocolError("open() was already called")
        self._open_requested = True
        if self.role == "client":
            if self._sasl_phase:
                self._out.append(SASL_HEADER)
            else:
                self._send_amqp_header()
                self._send_open()
        elif self.state is _C.HDR_EXCH:
            self._send_open()

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer (``b""`` when it closed the socket).

        Raises :class:`RemoteProtocolError` (or its subclass ``DecodeError``)
        when the peer broke the protocol, after queueing our close with the
        matching error condition.
        """
        if self._ended:
            return
        if not data:
            self._transport_closed()
            return
        self._reader.feed(data)
        sessions = self._remote_sessions
        try:
            for item in self._reader.frames():
                perf = item[2]
                t = type(perf)
                if (t is Transfer or t is Flow or t is Disposition) and item[0] == FRAME_AMQP \
                        and not self._sasl_phase:
                    # The hot path: a transfer, flow or disposition (with no payload) on a
                    # known session goes straight there; anything else is checked below.
                    session = sessions.get(item[1])
                    if session is not None and (t is Transfer or not item[3]):
                        if t is Transfer:
                            session._on_transfer(perf, item[3])
                        elif t is Flow:
                            session._on_flow(perf)
                        else:
                            session._on_disposition(perf)
                        if self._ended:
                            break
                        continue
                if item[0] == "header":
                    self._on_header(item[1])
                else:
                    self._on_frame(*item)
                if self._ended:
                    break
        except RemoteProtocolError as exc:
            self._fail(exc.condition, str(exc))
            raise

    def transport_failed(self, description: str) -> None:
        """The transport broke on our side (a reset, a write error, a timeout we enforce).

        Like ``receive_data(b"")``, every session and link ends and the events
        report it, but the error says what happened: ``amqp:connection:forced``
        with ``description``, raised locally.
        """
        if self._ended:
            return
        self._end(Error(condition=ErrorCondition.CONNECTION_FORCED, description=description),
                  local=True)

    def next_event(self) -> Event | None:
        """The next event, or None when there is none."""
        events = self._events
        return events.popleft() if events else None

    def data_to_send(self) -> bytes:
        """All bytes queued for the peer, coalesced (dispositions ranged first)."""
        if self._disposing:
            disposing = self._disposing
            self._disposing = []
            for session in disposing:
                session._flush_dispositions()
        out = self._out
        if not out:
            return b""
        self._out = []
        self._frames_out += 1
        return out[0] if len(out) == 1 and type(out[0]) is bytes else b"".join(out)

    def tick(self, now: float) -> float | None:
        """Heartbeats and idle detection (2.4.5) at time ``now``; the next deadline.

        Call it at the deadline it returned, and whenever it is cheap to (after
        reads and writes): ``now`` is any monotonic clock in seconds.
        """
        if self._ended:
            return None
        if self._reader.bytes_received != self._seen_in or self._last_in is None:
            self._seen_in = self._reader.bytes_received
            self._last_in = now
        if self._frames_out != self._seen_out or self._last_out is None:
            # Written some time since the last tick: assume the earliest, so a
            # heartbeat is never late (the peer's timer is the one at stake).
            self._seen_out = self._frames_out
            self._last_out = now if self._last_tick is None else self._last_tick
        self._last_tick = now
        if self.state not in _LIVE:
            return None
        deadline: float | None = None
        local = self.idle_timeout
        if local is not None and self.state in _OPEN:
            # 2.4.5: the advertised idle-time-out SHOULD be half the real threshold, so a
            # peer that sends just within what we advertised is never dropped. We
            # advertise ``idle_timeout`` (sub-second halves round to 0 at some peers) and
            # give up on the peer after twice that silence.
            limit = 2 * local
            if now - self._last_in >= limit:
                self._fail(ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                           f"idle timeout: nothing received for {limit:g} s "
                           f"(twice the {local:g} s we advertised, 2.4.5)")
                return None
            deadline = self._last_in + limit
        remote = self.remote_idle_timeout
        if remote is not None:
            # 2.4.5: keep the peer's timer from expiring, at half its timeout.
            if now - self._last_out >= remote / 2:
                self._out.append(EMPTY_FRAME)
                self._last_out = now
            beat = self._last_out + remote / 2
            deadline = beat if deadline is None else min(deadline, beat)
        return deadline

    def close(self, error: Error | None = None) -> None:
        """Close the connection (2.4.3); every session and link ends with it."""
        if self._ended or self.state in (_C.CLOSE_SENT, _C.CLOSE_PIPE, _C.OC_PIPE):
            return
        self.error = error
        if self.state is _C.OPEN_RCVD:
            self._send_open()
        if self.state in (_C.OPENED, _C.OPEN_SENT, _C.OPEN_PIPE, _C.CLOSE_RCVD):
            for session in self._sessions.values():
                session._flush_dispositions()
            new = self._move(Input.SEND_CLOSE)
            self._send_frame(0, Close(error=error))
            if new is _C.END:
                self._end(self.error, local=False)
            return
        # Nothing to close on the wire yet (before the headers or during SASL).
        self._end(error, local=True)

    def begin_session(self, *, incoming_window: int = DEFAULT_INCOMING_WINDOW,
                      outgoing_window: int = DEFAULT_OUTGOING_WINDOW,
                      handle_max: int = DEFAULT_HANDLE_MAX,
                      properties: dict[str, Any] | None = None,
                      offered_capabilities: list[str] | None = None,
                      desired_capabilities: list[str] | None = None) -> Session:
        """Begin a session on the lowest free channel (2.5.1)."""
        if self.state not in (_C.OPENED, _C.OPEN_SENT, _C.OPEN_PIPE, _C.HDR_SENT, _C.START) \
                or self._ended or not self._open_requested:
            raise LocalProtocolError(f"cannot begin a session on a connection in state {self.state.value}")
        session = Session(self, self._free_channel(), incoming_window=incoming_window,
                          outgoing_window=outgoing_window, handle_max=handle_max,
                          properties=properties, offered_capabilities=offered_capabilities,
                          desired_capabilities=desired_capabilities)
        self._sessions[session.channel] = session
        session._send_begin()
        return session

    @property
    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    # -- sending ---------------------------------------------------------------------
    def _free_channel(self) -> int:
        limit = self.channel_max
        if self.remote_open is not None:
            limit = min(limit, self.remote_open.channel_max)
        channel = self._channels.take(limit)
        if channel is None:
            raise LocalProtocolError(f"no free channel (channel-max {limit}, 2.7.1)")
        return channel

    def _send_frame(self, channel: int, performative: Any) -> None:
        if self.state in _CLOSING and type(performative) is not Close:
            return  # 2.4.3: after our close nothing more goes out
        body = encode(performative)
        size = 8 + len(body)
        if size > self.remote_max_frame_size and self.remote_open is not None:
            body = self._shrink_error(performative, size - self.remote_max_frame_size) or body
            size = 8 + len(body)
        if size > self.remote_max_frame_size and self.remote_open is not None:
            raise LocalProtocolError(f"a {type(performative).__name__.lower()} frame of {size} bytes "
                                     f"exceeds the peer's max-frame-size {self.remote_max_frame_size}")
        frame = frame_header(size, FRAME_AMQP, channel) + body
        if self._sasl_phase:
            # 5.3.1: AMQP frames follow the AMQP header, which follows SASL. A
            # session begun early waits here until then.
            self._deferred.append(frame)
        else:
            self._out.append(frame)

    @staticmethod
    def _shrink_error(performative: Any, excess: int) -> bytes | None:
        """An end, detach or close whose error text is too long for the peer: cut the text."""
        error = getattr(performative, "error", None)
        if not isinstance(error, Error) or not error.description:
            return None
        text = error.description.encode()
        keep = max(0, len(text) - excess - 8)
        info = error.info if error.info is None or len(encode(error.info)) <= 64 else None
        # A new Error on our own frame: the caller's object stays as they made it.
        performative.error = Error(condition=error.condition, info=info,
                                   description=text[:keep].decode(errors="ignore") + "...")
        return encode(performative)

    def _send_sasl(self, frame: Any) -> None:
        body = encode(frame)
        self._out.append(frame_header(8 + len(body), FRAME_SASL, 0) + body)

    def _send_amqp_header(self) -> None:
        self._move(Input.SEND_HEADER)
        self._out.append(AMQP_HEADER)

    def _send_open(self) -> None:
        self._move(Input.SEND_OPEN)
        self._send_frame(0, Open(
            container_id=self.container_id, hostname=self.hostname,
            max_frame_size=self.max_frame_size, channel_max=self.channel_max,
            idle_time_out=None if self.idle_timeout is None else int(self.idle_timeout * 1000),
            offered_capabilities=self.offered_capabilities,
            desired_capabilities=self.desired_capabilities, properties=self.properties))
        if self.state is _C.OPENED:
            self._opened()

    def _move(self, event: Input) -> ConnectionState:
        self.state = transition(CONNECTION_TABLE, "connection", self.state, event)
        return self.state

    # -- receiving ---------------------------------------------------------------------
    def _on_header(self, header: bytes) -> None:
        if self._sasl_phase:
            if header != SASL_HEADER:
                self._out.append(SASL_HEADER)
                raise RemoteProtocolError(
                    f"expected the SASL protocol header, got {describe_header(header)}; "
                    "this end requires SASL", condition=ErrorCondition.NOT_ALLOWED)
            if self._sasl_server is not None:
                self._out.append(SASL_HEADER)
                self._send_sasl(self._sasl_server.start())
            return
        if header != AMQP_HEADER:
            if self.state in (_C.START,):
                self._out.append(AMQP_HEADER)
            what = describe_header(header)
            hint = " (the peer wants SASL; configure sasl=...)" if header == SASL_HEADER else ""
            raise RemoteProtocolError(f"expected the AMQP protocol header, got {what}{hint}",
                                      condition=ErrorCondition.NOT_ALLOWED)
        self._move(Input.RECV_HEADER)
        if self.role == "server":
            self._send_amqp_header()
            if self._open_requested:
                self._send_open()

    def _on_frame(self, ftype: int, channel: int, perf: Any, payload: bytes) -> None:
        if ftype == FRAME_SASL:
            if not self._sasl_phase or perf is None:
                raise RemoteProtocolError("a SASL frame outside SASL negotiation",
                                          condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
            self._on_sasl(perf)
            return
        if ftype != FRAME_AMQP or self._sasl_phase:
            raise RemoteProtocolError(f"unexpected frame type {ftype} here",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
        if perf is None:
            return  # 2.3.2: an empty frame keeps the connection alive, nothing more
        t = type(perf)
        if t is Transfer:
            self._session_for(channel, "transfer")._on_transfer(perf, payload)
            return
        if payload:
            raise RemoteProtocolError(f"payload after a {t.__name__.lower()} performative",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
        if t is Disposition:
            self._session_for(channel, "disposition")._on_disposition(perf)
        elif t is Flow:
            self._session_for(channel, "flow")._on_flow(perf)
        elif t is Attach:
            self._session_for(channel, "attach")._on_attach(perf)
        elif t is Detach:
            self._session_for(channel, "detach")._on_detach(perf)
        elif t is Begin:
            self._on_begin(perf, channel)
        elif t is End:
            self._session_for(channel, "end")._on_end(perf)
        elif t is Open:
            self._on_open(perf)
        elif t is Close:
            self._on_close(perf)
        else:
            raise RemoteProtocolError(f"{perf!r:.80} is not a performative",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)

    def _on_sasl(self, frame: Any) -> None:
        if not isinstance(frame, _SASL_TYPES):
            raise RemoteProtocolError(f"{frame!r:.80} is not a SASL frame",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
        if self._sasl_client is not None:
            try:
                replies = self._sasl_client.receive(frame)
            except SaslError as exc:
                self._auth_failed(str(exc))
                return
            for reply in replies:
                self._send_sasl(reply)
            if self._sasl_client.succeeded:
                self._sasl_done(self._sasl_client.mechanism or "", None)
        else:
            server = self._sasl_server
            assert server is not None
            for reply in server.receive(frame):
                self._send_sasl(reply)
            if server.done:
                if server.succeeded:
                    self._sasl_done(server.mechanism or "", server.identity)
                else:
                    # 5.3.2: after a failed outcome the server closes the socket.
                    self._auth_failed("the client failed to authenticate")

    def _sasl_done(self, mechanism: str, identity: str | None) -> None:
        # 5.3.1: after the outcome, the AMQP header starts over on the same socket.
        self._sasl_phase = False
        self._reader.expect_header()
        self._events.append(Authenticated(mechanism=mechanism, identity=identity))
        if self.role == "client":
            self._send_amqp_header()
            self._send_open()
        self._out.extend(self._deferred)
        self._deferred.clear()

    def _auth_failed(self, description: str) -> None:
        self._end(Error(condition=ErrorCondition.UNAUTHORIZED_ACCESS, description=description),
                  local=False)

    def _on_open(self, frame: Open) -> None:
        self._move(Input.RECV_OPEN)
        self.remote_open = frame
        self._peer_max_frame = max(MIN_MAX_FRAME_SIZE, frame.max_frame_size)
        self._usual_payload_max = self._peer_max_frame - 29
        if self.state is _C.OPEN_RCVD and self._open_requested:
            self._send_open()
        elif self.state is _C.OPENED:
            self._opened()

    def _opened(self) -> None:
        assert self.remote_open is not None
        self._events.append(ConnectionOpened(remote=self.remote_open))

    def _on_close(self, frame: Close) -> None:
        self._move(Input.RECV_CLOSE)
        if self.state is _C.CLOSE_RCVD:
            # 2.4.3: answer the peer's close with ours.
            self._move(Input.SEND_CLOSE)
            self._send_frame(0, Close())
            self._end(frame.error, local=False)
        else:
            self._end(frame.error or self.error, local=True)

    def _on_begin(self, begin: Begin, channel: int) -> None:
        if self.state not in _LIVE:
            raise RemoteProtocolError(f"begin on a connection in state {self.state.value}",
                                      condition=ErrorCondition.ILLEGAL_STATE)
        if channel in self._remote_sessions:
            raise RemoteProtocolError(f"begin on channel {channel}, which is in use",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
        if channel > self.channel_max:
            raise RemoteProtocolError(f"channel {channel} exceeds our channel-max {self.channel_max}",
                                      condition=ErrorCondition.CONNECTION_FRAMING_ERROR)
        if begin.remote_channel is not None:
            session = self._sessions.get(begin.remote_channel)
            if session is None or session.remote_channel is not None:
                raise RemoteProtocolError(
                    f"begin answers channel {begin.remote_channel}, where we began no session",
                    condition=ErrorCondition.ILLEGAL_STATE)
            self._remote_sessions[channel] = session
            session._on_begin(begin, channel)
            return
        # Peer-initiated (2.5.2): the application answers with session.begin().
        try:
            channel_ours = self._free_channel()
        except LocalProtocolError:
            raise RemoteProtocolError(
                "the peer began a session but its channel-max leaves us no channel to answer on",
                condition=ErrorCondition.RESOURCE_LIMIT_EXCEEDED) from None
        session = Session(self, channel_ours, incoming_window=DEFAULT_INCOMING_WINDOW,
                          outgoing_window=DEFAULT_OUTGOING_WINDOW, handle_max=DEFAULT_HANDLE_MAX,
                          properties=None)
        self._sessions[session.channel] = session
        self._remote_sessions[channel] = session
        session._on_begin(begin, channel)
        self._events.append(RemoteBegin(session=session))

    def _session_for(self, channel: int, what: str) -> Session:
        session = self._remote_sessions.get(channel)
        if session is None:
            raise RemoteProtocolError(f"{what} on channel {channel}, where no session began",
                                      condition=ErrorCondition.ILLEGAL_STATE)
        return session

    def _session_gone(self, session: Session) -> None:
        if self._sessions.get(session.channel) is session:
            del self._sessions[session.channel]
            self._channels.release(session.channel)
        if session.remote_channel is not None:
            self._remote_sessions.pop(session.remote_channel, None)

    # -- the end ---------------------------------------------------------------------
    def _fail(self, condition: str, description: str) -> None:
        """The peer broke the protocol (or went silent): close with the condition (2.4.3)."""
        if self._ended:
            return
        error = Error(condition=condition, description=description)
        if not self._sasl_phase:
            try:
                if self.state in (_C.HDR_EXCH, _C.OPEN_RCVD):
                    self._send_open()  # 2.4.3: a close goes after an open
                if self.state in (_C.OPEN_SENT, _C.OPENED, _C.CLOSE_RCVD, _C.OPEN_PIPE):
                    self._move(Input.SEND_CLOSE)
                    self._send_frame(0, Close(error=error))
            except LocalProtocolError:
                pass  # a frame too large for the peer: just end
        self._events.append(ConnectionFailed(error=error))
        self._end(error, local=True)

    def _transport_closed(self) -> None:
        error = self.error
        if self.state is not _C.END:
            error = Error(condition=ErrorCondition.CONNECTION_FORCED,
                          description="the peer closed the socket without closing the connection")
        self._end(error, local=False)

    def _end(self, error: Error | None, local: bool) -> None:
        if self._ended:
            return
        self._ended = True
        self.state = _C.END
        self.error = error
        self.error_is_local = local
        for session in list(self._sessions.values()):
            session._abandon(error, local)
        self._sessions.clear()
        self._remote_sessions.clear()
        self._events.append(ConnectionClosed(error=error, local=local))
