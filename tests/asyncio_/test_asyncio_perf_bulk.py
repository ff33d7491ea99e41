"""The bulk send's cost per credit round on asyncio (issue 12 item 2), counted, not timed.

The peer here grants credit as the Qpid C broker does (5 at a time, topped up once the
last grant is used: examples/c/broker.c's WINDOW), so a ``send_many`` runs in rounds of
5. Per round the adapter should pump its queue once and write once; handing a
message over while the link waits for credit should not pump, nor look at the link's
state, once per message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import amqp10_asyncio as amqp
from amqp10_asyncio._sender import Sender
from amqp10_proto import Accepted, LinkState, Message

from .corepeer import CorePeer
from .helpers import run

WINDOW = 5


class WindowPeer(CorePeer):
    """A CorePeer that gives each sender link WINDOW credits again once it used them."""

    def _step(self) -> None:
        super()._step()
        topped = False
        for link in self.links:
            if link.credit == 0 and link.state is LinkState.ATTACHED:
                link.add_credit(WINDOW)
                topped = True
        if topped:
            super()._step()


def _counting(method: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return method(*args, **kwargs)
    return counted


def _instrument(sender: Sender, name: str) -> list[int]:
    """Count calls of ``sender``'s method ``name`` (the instance's own attribute: the
    adapter's calls through ``self`` go through it)."""
    calls = [0]
    setattr(sender, name, _counting(getattr(sender, name), calls))
    return calls


def _bulk(count: int, queue_size: int) -> tuple[list[Any], list[bytes], int, int, int, int]:
    async def main() -> tuple[list[Any], list[bytes], int, int, int, int]:
        async with WindowPeer(credit=WINDOW) as peer, \
                amqp.open_connection(peer.url, sasl=None) as conn, \
                conn.open_session() as session, \
                session.open_sender("q", queue_size=queue_size) as sender:
            assert isinstance(sender, Sender)
            pumps = _instrument(sender, "_pump")
            gone = _instrument(sender, "_gone")
            transport = conn._transport
            assert transport is not None
            writes = _instrument(transport, "write")  # type: ignore[arg-type]
            bodies = [b"m%d" % i for i in range(count)]
            outcomes = await sender.send_many([Message(b) for b in bodies], timeout=30)
            assert peer.received == bodies  # every one, in order
            return outcomes, peer.received, pumps[0], gone[0], writes[0], sender.queued
    return run(main())


def test_send_many_pumps_and_writes_once_per_credit_round() -> None:
    count = 600
    outcomes, received, pumps, gone, writes, queued = _bulk(count, queue_size=1000)
    assert len(outcomes) == count and all(type(o) is Accepted for o in outcomes)
    assert len(received) == count and queued == 0
    rounds = count // WINDOW
    # One pump per credit grant (before: one more per message queued, 715 here).
    assert pumps <= rounds + 5, pumps
    # The link's state is looked at per run of queued messages and per wait pass, not
    # per message (before: about two per message, 1 190 here).
    assert gone <= 20, gone
    # One write per round: the round's transfers go out together.
    assert writes <= rounds + 10, writes


def test_send_many_through_a_small_queue_keeps_order_and_bounds() -> None:
    count = 300
    outcomes, received, pumps, gone, writes, queued = _bulk(count, queue_size=7)
    assert len(outcomes) == count and all(type(o) is Accepted for o in outcomes)
    assert queued == 0
    rounds = count // WINDOW
    assert pumps <= rounds + 5, pumps
    assert writes <= rounds + 10, writes
    # Waiting for room (the queue holds 7; woken once it is half empty): the state is
    # looked at a few times per wait, fewer than once per message (before: 3 per message).
    assert gone < count, gone
