"""The embedded broker applies selector filters (3.5.1, issue 14) end to end.

Consumers with selectors on one queue get only the messages their selector matches;
the rest stay queued for the others; the broker's attach echoes the filter it applies;
a selector it cannot parse is refused with amqp:invalid-field, never ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_cli._selector import SELECTOR_FILTER
from amqp10_proto import Described, Message, Source, Symbol
from amqp10_proto.errors import LinkDetachedError


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


def selector(text: str) -> dict[str, Described]:
    return {"sel": Described(SELECTOR_FILTER, text)}


def bodies(receiver: amqp.Receiver) -> list[bytes]:
    got: list[bytes] = []
    while True:
        try:
            msg = receiver.receive(timeout=0.3)
        except TimeoutError:
            return got
        got.append(msg.body)
        msg.accept()


def test_each_consumer_gets_what_its_selector_matches(broker: RunningBroker) -> None:
    q = f"paints-{uuid.uuid4().hex[:6]}"
    paints = [("red", 3000), ("blue", 3000), ("red", 1000), ("green", 5000), ("red", 2600)]
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        sender = s.open_sender(q)
        for color, weight in paints:
            sender.send(Message(f"{color} {weight}".encode(),
                                application_properties={"color": color, "weight": weight}))
        heavy_red = s.open_receiver(q, filters=selector("color = 'red' AND weight > 2500"))
        source = heavy_red.remote_source
        assert isinstance(source, Source) and source.filter is not None
        assert source.filter[Symbol("sel")] == Described(SELECTOR_FILTER,
                                                         "color = 'red' AND weight > 2500")
        assert bodies(heavy_red) == [b"red 3000", b"red 2600"]
        not_red = s.open_receiver(q, filters=selector("color NOT IN ('red') OR color IS NULL"))
        assert bodies(not_red) == [b"blue 3000", b"green 5000"]
        everyone = s.open_receiver(q)  # no filter: what nobody else took
        assert isinstance(everyone.remote_source, Source)
        assert everyone.remote_source.filter is None
        assert bodies(everyone) == [b"red 1000"]


def test_a_selector_the_broker_cannot_parse_is_refused(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            pytest.raises(LinkDetachedError) as info:
        s.open_receiver("q", filters=selector("color = 'red"))
    assert info.value.condition == "amqp:invalid-field"
    assert "selector filter" in str(info.value)
