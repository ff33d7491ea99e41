"""The filter helpers on the wire, end to end: the embedded broker applies a selector made
by ``selector_filter`` (by name or by go-amqp's numeric descriptor), answers with only the
filters it applies, and the answer reads back with ``filter_value``. RabbitMQ 3.10, by
contrast, echoes every filter it is given and applies none (so its echo proves nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import (
    LEGACY_TOPIC_BINDING_FILTER,
    SELECTOR_FILTER,
    Message,
    Properties,
    combine_filters,
    filter_value,
    legacy_topic_filter,
    no_local_filter,
    selector_filter,
)
from amqp10_proto.errors import LinkDetachedError

from ..broker.test_broker_selector import bodies
from ..interop.peers import PEERS, answers_amqp, start


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


PAINTS = [("red", 3000), ("blue", 3000), ("red", 1000), ("red", 2600)]


def fill(session: amqp.Session, address: str) -> None:
    with session.open_sender(address) as sender:
        for color, weight in PAINTS:
            sender.send(Message(f"{color} {weight}".encode(),
                                application_properties={"color": color, "weight": weight}))


@pytest.mark.parametrize("numeric", [False, True])
def test_the_embedded_broker_applies_the_helpers_selector(broker: RunningBroker,
                                                          numeric: bool) -> None:
    q = f"paints-{uuid.uuid4().hex[:6]}"
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        fill(s, q)
        wanted = "color = 'red' AND weight > 2500"
        # A filter the broker does not apply rides along: its answer leaves it out.
        filters = combine_filters(selector_filter(wanted, numeric=numeric), no_local_filter())
        with s.open_receiver(q, filters=filters) as heavy_red:
            assert filter_value(heavy_red.remote_source, SELECTOR_FILTER) == wanted
            assert filter_value(heavy_red.remote_source,
                                "apache.org:no-local-filter:list") is None
            assert bodies(heavy_red) == [b"red 3000", b"red 2600"]
        with s.open_receiver(q) as rest:
            assert filter_value(rest.remote_source, SELECTOR_FILTER) is None
            assert bodies(rest) == [b"blue 3000", b"red 1000"]


def test_a_helper_selector_the_broker_cannot_parse_is_refused(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            pytest.raises(LinkDetachedError) as info:
        s.open_receiver("q", filters=selector_filter("weight >"))
    assert info.value.condition == "amqp:invalid-field"


def test_rabbitmq_310_echoes_a_legacy_topic_filter_without_applying_it() -> None:
    # RabbitMQ 3.10's AMQP 1.0 plugin binds /exchange/X/KEY by the address's KEY; a
    # legacy topic filter comes back in its attach, but every message bound by the
    # address still arrives (the docs' RabbitMQ section says to filter by address).
    peer = PEERS["rabbitmq"] if answers_amqp(PEERS["rabbitmq"].port) else start("rabbitmq")
    assert peer.plain is not None
    url = f"amqp://{peer.plain[0]}:{peer.plain[1]}@127.0.0.1:{peer.port}/"
    subjects = ["colors.red.big", "colors.blue.big", "colors.red.small"]
    key = uuid.uuid4().hex[:8]
    with amqp.open_connection(url, timeout=10, reconnect=False) as conn, \
            conn.open_session() as s:
        filtered = s.open_receiver(f"/exchange/amq.topic/{key}.#",
                                   filters=legacy_topic_filter(f"{key}.colors.red.*"))
        assert filter_value(filtered.remote_source, LEGACY_TOPIC_BINDING_FILTER) \
            == f"{key}.colors.red.*"
        by_address = s.open_receiver(f"/exchange/amq.topic/{key}.colors.red.*")
        with s.open_sender("/exchange/amq.topic") as sender:
            for subject in subjects:
                sender.send(Message(subject.encode(),
                                    properties=Properties(subject=f"{key}.{subject}")))
        assert bodies(filtered) == [subject.encode() for subject in subjects]
        assert bodies(by_address) == [b"colors.red.big", b"colors.red.small"]
