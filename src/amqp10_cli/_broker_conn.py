"""One accepted connection of the embedded broker: an asyncio protocol pumping a server core.

Bytes from the socket go into the core (``role="server"``); its events are
answered here (sessions begun, links attached or refused, messages queued,
outcomes applied) and ``data_to_send()`` goes back to the transport. ``tick``
runs from a timer at the deadline the core returns (heartbeats, idle timeout).

Fairness and memory: the core is fed at most :data:`FEED_SIZE` bytes per loop
turn, and reading pauses while the rest waits, so one client's burst of frames
(thousands of begins in one write, say) never keeps the loop from the others.
When the transport's write buffer passes its high-water mark
(``pause_writing``) the connection's consumers stop taking messages, checked
before each message, and reading pauses too, so a client that sends without
reading cannot pile up our answers; both resume when the buffer drains.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from amqp10_proto import (
    Authenticated,
    ConnectionClosed,
    ConnectionOpened,
    Coordinator,
    CreditGranted,
    DeclareReceived,
    DeliveryUpdated,
    DischargeReceived,
    Error,
    ErrorCondition,
    LinkDetached,
    LinkResumed,
    LinkState,
    MessageReceived,
    RemoteAttach,
    RemoteBegin,
    RemoteProtocolError,
    SaslServer,
    Session,
    SessionEnded,
    SessionState,
    Symbol,
    TransactionAbandoned,
)
from amqp10_proto import Connection as CoreConnection
from amqp10_proto.client import describe_error

from ._broker_links import Incoming, Outgoing, answer_attach
from ._broker_txn import BrokerTransactions
from ._queues import Router

if TYPE_CHECKING:
    from ._broker import Broker

__all__ = ["FEED_SIZE", "FLUSH_SIZE", "HANDSHAKE_TIMEOUT", "ServerConnection"]

log = logging.getLogger("amqp10.broker")

#: Seconds a client has from connecting until both open frames are exchanged (the default).
HANDSHAKE_TIMEOUT = 30.0
#: The most bytes of one client's input given to its core per loop turn.
FEED_SIZE = 16 * 1024
#: Messages queued on a core past this many bytes are written out at once (back pressure).
FLUSH_SIZE = 64 * 1024
#: Offered in our open: a sender with no target address routes each message by its ``to``.
ANONYMOUS_RELAY = Symbol("ANONYMOUS-RELAY")


class ServerConnection(asyncio.Protocol):
    """The broker's end of one client connection (created per accepted socket)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.router: Router = broker.router
        self.max_message_size = broker.max_message_size
        self.link_store = broker.link_store
        self.label = "?"
        self.core: CoreConnection | None = None  # made once the protocol header says which
        self._head = b""
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._paused = False  # the transport's write buffer is full
        self._reading = True  # whether the transport reads for us
        self._inbox = b""  # input read but not yet given to the core (at most one read)
        self._inbox_at = 0
        self._eof = False  # the client shut its side while input still waited
        self._unflushed = 0  # bytes of messages queued on the core since the last write
        self._lost = False
        #: Over the broker's connection limit: told so (a close) right after the open.
        self.refused = False
        self._wake_pending = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._handshake: asyncio.TimerHandle | None = None
        self.links: set[Outgoing | Incoming] = set()
        self._links_in: Counter[Session] = Counter()  # live broker links per session
        self.gone: asyncio.Future[None] = self._loop.create_future()
        #: Local transactions (part 4) declared on this connection.
        self.transactions = BrokerTransactions(self)

    def __repr__(self) -> str:
        return f"<ServerConnection {self.label}>"

    # -- Host (what the links use) ----------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def wake(self) -> None:
        """Frames were queued on our core from elsewhere: write them on the next loop turn."""
        if not self._wake_pending and not self._lost:
            self._wake_pending = True
            self._loop.call_soon(self._after)

    def sent(self, size: int) -> None:
        """A message of ``size`` bytes was queued on our core: write soon, or now if many.

        Writing once :data:`FLUSH_SIZE` bytes wait lets the transport pause us
        (``pause_writing``) between two messages, so a consumer that does not read
        holds about one message here, never its whole credit's worth.
        """
        self._unflushed += size
        if self._unflushed >= FLUSH_SIZE:
            self._flush()
        else:
            self.wake()

    @property
    def peer_id(self) -> str:
        """The client's container-id (2.7.1): with a link's name, it names the link (2.6.1)."""
        o = None if self.core is None else self.core.remote_open
        return "" if o is None else str(o.container_id)

    def now(self) -> float:
        return self._loop.time()

    def forget_link(self, link: Outgoing | Incoming) -> None:
        if link in self.links:
            self.links.discard(link)
            session = link.link.session
            self._links_in[session] -= 1
            if self._links_in[session] <= 0:
                del self._links_in[session]

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.label = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        broker = self.broker
        limit = broker.max_connections
        if limit is not None:
            served = sum(not c.refused for c in broker.connections)
            if served >= limit:
                if len(broker.connections) - served >= limit:
                    # As many again are being told already: this one is dropped unanswered.
                    log.info("%s: dropped: the broker serves %d connections and is "
                             "refusing %d more", self.label, served, limit)
                    transport.abort()
                    return
                self.refused = True
        broker.connections.add(self)
        self._handshake = self._loop.call_later(broker.handshake_timeout,
                                                self._handshake_expired)
        log.debug("%s: connected", self.label)

    def data_received(self, data: bytes) -> None:
        if self._lost:
            return
        if self._inbox:  # a read that came while we still feed the last one
            self._inbox = self._inbox[self._inbox_at:] + data
            self._inbox_at = 0
            return
        if len(data) > FEED_SIZE:
            self._inbox, self._inbox_at = data, 0
            self._feed_more()
        else:
            self._give(data)

    def _feed_more(self) -> None:
        """Give the core the next FEED_SIZE bytes read; the rest after the loop served the others."""
        data, at = self._inbox, self._inbox_at
        if self._lost or not data:
            return
        end = at + FEED_SIZE
        if end < len(data):
            self._inbox_at = end
            self._loop.call_soon(self._feed_more)
        else:
            self._inbox, self._inbox_at = b"", 0
        self._update_reading()
        self._give(data[at:end])
        if not self._inbox and self._eof:
            self._give_eof()

    def _give(self, data: bytes) -> None:
        """Feed the core (made once the protocol header says which), then answer and write."""
        core = self.core
        if core is None:
            # 2.2 / 5.3.1: the header's protocol id says whether SASL comes first.
            self._head += data
            if len(self._head) < 5:
                return
            data, self._head = self._head, b""
            core = self.core = self._make_core(sasl=data[4] != 0)
        try:
            core.receive_data(data)
        except RemoteProtocolError as exc:
            log.info("%s: the client broke the protocol: %s", self.label, exc)
        self._tick()
        self._after()

    def _update_reading(self) -> None:
        """Read while nothing waits to be fed and the write buffer has room."""
        transport = self._transport
        want = not self._inbox and not self._paused
        if transport is None or want == self._reading:
            return
        self._reading = want
        if want:
            transport.resume_reading()
        else:
            transport.pause_reading()

    def eof_received(self) -> bool:
        if self._inbox:
            self._eof = True  # after the input still to feed
            return True  # keep the transport until then; _flush closes it
        self._give_eof()
        return False  # let the transport close

    def _give_eof(self) -> None:
        self._eof = False
        if self.core is not None and not self._lost:
            self.core.receive_data(b"")
            self._after()
        elif self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        core = self.core
        if core is not None and not core.ended:
            core.transport_failed(f"connection lost: {exc}" if exc else "the client went away")
        if core is not None:
            self._process()  # links end: what they held goes back to the queues
        self.transactions.connection_lost()  # 4.2: what was open is rolled back
        for timer in (self._timer, self._handshake):
            if timer is not None:
                timer.cancel()
        self._timer = self._handshake = None
        self.broker.connections.discard(self)
        if not self.gone.done():
            self.gone.set_result(None)
        log.debug("%s: disconnected", self.label)

    def pause_writing(self) -> None:
        # Consumers stop taking messages, and we stop reading, until the buffer drains.
        self._paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._paused = False
        self._update_reading()
        for link in list(self.links):
            if isinstance(link, Outgoing):
                link.queue.dispatch()
        self._after()

    # -- the pump ---------------------------------------------------------------------------------
    def _make_core(self, *, sasl: bool) -> CoreConnection:
        broker = self.broker
        server: SaslServer | None = None
        if sasl or not broker.anonymous:
            # Without anonymous access a client must authenticate: the SASL core answers
            # an AMQP header with ours and closes (5.3.1).
            server = broker.sasl_server()
        core = CoreConnection(role="server", sasl=server, container_id=broker.container_id,
                              idle_timeout=broker.idle_timeout,
                              max_frame_size=broker.max_frame_size,
                              # 2.7.1: channels 0 .. channel-max, one session each.
                              channel_max=broker.max_sessions - 1,
                              offered_capabilities=[ANONYMOUS_RELAY],
                              properties={Symbol("product"): "amqp10 embedded broker",
                                          Symbol("version"): broker.version})
        core.open()
        return core

    def _after(self) -> None:
        """After the core was called: answer its events, write its bytes, close when it ended."""
        self._wake_pending = False
        if self.core is None or self._lost:
            return
        self._process()
        self._flush()

    def _flush(self) -> None:
        core = self.core
        transport = self._transport
        if core is None or transport is None:
            return
        self._unflushed = 0
        data = core.data_to_send()
        if data and not transport.is_closing():
            transport.write(data)
        if core.ended and not transport.is_closing():
            transport.close()  # after our last frames (a close, or a SASL outcome)

    def _process(self) -> None:
        core = self.core
        assert core is not None
        while (event := core.next_event()) is not None:
            try:
                self._handle(event)
            except Exception:  # a broker bug: end this connection, keep the broker
                log.exception("%s: internal error handling %s", self.label, type(event).__name__)
                if not core.ended:
                    core.close(Error(condition=ErrorCondition.INTERNAL_ERROR,
                                     description="the broker failed handling a frame"))

    def _handle(self, event: Any) -> None:
        t = type(event)
        if self.refused and t is not ConnectionOpened and t is not ConnectionClosed:
            return  # closing at once (over the connection limit): nothing else is answered
        if t is MessageReceived:
            obj = event.link.context
            if isinstance(obj, Incoming):
                obj.on_message(event.delivery, event.message)
        elif t is DeliveryUpdated:
            obj = event.delivery.link.context
            if isinstance(obj, Outgoing):
                obj.on_update(event)
        elif t is CreditGranted:
            obj = event.link.context
            if isinstance(obj, Outgoing):
                obj.on_credit()
        elif t is RemoteAttach:
            self._on_remote_attach(event)
        elif t is DeclareReceived or t is DischargeReceived or t is TransactionAbandoned:
            self.transactions.handle(event)
        elif t is LinkResumed:
            obj = event.link.context
            if isinstance(obj, Outgoing):
                obj.on_resumed(event)
        elif t is LinkDetached:
            obj = event.link.context
            if isinstance(obj, (Outgoing, Incoming)):
                event.link.context = None
                obj.on_detached(event)
        elif t is RemoteBegin:
            if event.session.state is SessionState.BEGIN_RCVD:  # not ended already
                # 2.7.2: handles 0 .. handle-max, one link each (enforced in
                # _on_remote_attach too, for attaches that came before our begin).
                event.session.handle_max = self.broker.max_links - 1
                event.session.begin()
        elif t is ConnectionOpened:
            if self._handshake is not None:
                self._handshake.cancel()
                self._handshake = None
            if self.refused:
                self._refuse()
        elif t is Authenticated:
            log.debug("%s: authenticated (%s) as %s", self.label, event.mechanism,
                      event.identity)
        elif t is SessionEnded:
            if event.error is not None and not event.local:
                log.info("%s: session ended: %s", self.label, describe_error(event.error))
        elif t is ConnectionClosed:
            level = logging.DEBUG if event.error is None else logging.INFO
            log.log(level, "%s: connection closed %s", self.label,
                    describe_error(event.error) or "cleanly")

    def _on_remote_attach(self, event: RemoteAttach) -> None:
        link = event.link
        if link.state is not LinkState.ATTACH_RCVD:
            return  # the peer detached it already (the core answered that)
        limit = self.broker.max_links
        if self._links_in[link.session] >= limit:
            link.refuse(Error(condition=ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                              description=f"this session has its limit of {limit} link(s)"))
            made = None
        elif self.broker.nodes.wants(link):
            made = self.broker.nodes.attach(self, link)  # $cbs, $management
        elif (refusal := self.broker.nodes.refusal(self, link)) is not None:
            link.refuse(refusal)  # no token for it on this connection (require_tokens)
            made = None
        else:
            made = answer_attach(self, link, self.transactions)
        if made is not None:
            self.links.add(made)
            self._links_in[link.session] += 1
            log.debug("%s: attached %r", self.label, made)
        elif isinstance(link.remote_target, Coordinator) and link.local_error is None:
            log.debug("%s: attached transaction control link %r", self.label, link.name)
        else:
            log.info("%s: refused link %r: %s", self.label, link.name,
                     describe_error(link.local_error))

    def _refuse(self) -> None:
        """Over the connection limit: close right after the open (2.4.3), saying why."""
        core = self.core
        assert core is not None
        served = sum(not c.refused for c in self.broker.connections)
        log.warning("%s: refused: the broker serves its limit of %d connections", self.label,
                    served)
        core.close(Error(condition=ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                         description=f"the broker serves at most {self.broker.max_connections} "
                                     "connections; try again later"))

    def _tick(self) -> None:
        core = self.core
        if core is None:
            return
        deadline = core.tick(self._loop.time())
        timer = self._timer
        if deadline is None:
            if timer is not None:
                timer.cancel()
                self._timer = None
        elif timer is None or deadline < self._timer_at:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = None
        if not self._lost:
            self._tick()
            self._after()

    def _handshake_expired(self) -> None:
        self._handshake = None
        core = self.core
        if core is not None and core.opened:
            return
        log.info("%s: no AMQP open within %g s; dropping the connection", self.label,
                 self.broker.handshake_timeout)
        self.abort()

    # -- for the broker ----------------------------------------------------------------------------
    def close(self, error: Error | None) -> None:
        """Close the AMQP connection (a close frame with ``error``); the client answers."""
        core = self.core
        if core is None:
            self.abort()
            return
        if not core.ended and not self._lost:
            core.close(error)
            self._after()

    def abort(self) -> None:
        """Drop the transport now (no more waiting for the client)."""
        if self._transport is not None:
            self._transport.abort()

    async def wait_gone(self, timeout: float, then: Callable[[], None] | None = None) -> bool:
        """Wait until the transport is gone; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(asyncio.shield(self.gone), timeout)
            return True
        except asyncio.TimeoutError:
            if then is not None:
                then()
            return False
