"""What the core tells a reconnecting client when a transport ends (issue 9).

A client that reconnects must tell the sessions and links that ended *with the
connection* (to begin and attach again) from those the peer ended on purpose
(final), know who ended the connection, and the credit a receiver had granted.
"""

from __future__ import annotations

from amqp10_proto import Error, LinkDetached, Message, SessionEnded
from amqp10_proto._events import ConnectionClosed

from .corepair import linked_pair


def test_a_lost_transport_ends_sessions_and_links_with_the_connection() -> None:
    p, sender, receiver = linked_pair(credit=7)
    sender.send(Message(b"in doubt"))
    p.client.data_to_send()  # written, never delivered: the outcome is in doubt
    receiving = p.server.sessions[0].attach_receiver("r", name="back")
    p.pump()
    p.events("client")
    p.server.receive_data(b"")  # the client's socket went
    detached = p.events("server", LinkDetached)
    ended = p.events("server", SessionEnded)
    assert {d.link for d in detached} == {receiver, receiving}
    assert all(d.with_connection for d in detached) and all(e.with_connection for e in ended)
    by_link = {d.link: d for d in detached}
    assert by_link[receiver].credit == 7  # what it had granted, to grant again
    assert p.server.error_is_local is False
    assert p.server.error is not None and p.server.error.condition == "amqp:connection:forced"

    p.client.transport_failed("reset")
    (lost,) = [d for d in p.events("client", LinkDetached) if d.link is sender]
    assert lost.with_connection and lost.local
    assert [d.id for d in lost.unsettled] == [0]  # the delivery whose outcome never came
    assert p.client.error_is_local is True


def test_a_detach_or_end_by_the_peer_is_not_with_the_connection() -> None:
    p, sender, receiver = linked_pair()
    receiver.detach(Error(condition="amqp:not-found", description="gone"))
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert det.link is sender and not det.with_connection
    assert det.error is not None and det.error.condition == "amqp:not-found"
    p.server.sessions[0].end()
    p.pump()
    (end,) = p.events("client", SessionEnded)
    assert not end.with_connection


def test_the_peers_close_is_not_ours() -> None:
    p, _, _ = linked_pair()
    p.server.close(Error(condition="amqp:connection:forced", description="shutdown"))
    p.pump()
    closed = p.events("client", ConnectionClosed)
    assert len(closed) == 1 and not closed[0].local
    assert p.client.error_is_local is False
    assert p.client.error is not None and p.client.error.description == "shutdown"
    # The link ended with its session, which ended with the connection: no detach frame.
    assert all(d.with_connection for d in p.events("client", LinkDetached))
