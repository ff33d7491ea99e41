"""RabbitMQ 3.10 does not coordinate transactions: it refuses the control link, and the
controller says so with a typed error, never a hang."""

from __future__ import annotations

import pytest

from amqp10_proto import LinkDetached, LocalProtocolError, SaslPlain, attach_controller

from ..interop.peers import PEERS, answers_amqp, start
from .coreclient import CoreClient


def test_rabbitmq_refuses_the_coordinator_clearly() -> None:
    # One already answering on its port (another test session's) is used as it is.
    peer = PEERS["rabbitmq"] if answers_amqp(PEERS["rabbitmq"].port) else start("rabbitmq")
    assert peer.plain is not None
    c = CoreClient(peer.port, SaslPlain(*peer.plain))
    try:
        session = c.core.begin_session()
        controller = attach_controller(session)
        detached = c.until(lambda e: isinstance(e, LinkDetached) and e.link is controller.link)
        # Refused: no Coordinator came back, and the detach says why (RabbitMQ 3.10 answers
        # with the detach alone: amqp:not-implemented, "Transactions not supported").
        assert controller.capabilities is None
        assert detached.error is not None
        assert detached.error.condition == "amqp:not-implemented"
        assert "ransaction" in str(detached.error.description)
        with pytest.raises(LocalProtocolError):
            controller.declare()
        assert controller.transactions == []
    finally:
        c.close()
