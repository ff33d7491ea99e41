"""Fixtures of the link-recovery stories: the embedded broker behind a fault proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message, Properties

from ..faultproxy import FaultProxy

#: What makes a link resumable (2.6.13): a durable terminus that never expires, and
#: rcv-settle-mode second so that each side keeps a delivery until the other settled it.
DURABLE: dict[str, Any] = dict(durable="unsettled-state", expiry_policy="never",
                               rcv_settle_mode="second")


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True) as running:
        yield running


@pytest.fixture
def proxy(broker: RunningBroker) -> Iterator[FaultProxy]:
    with FaultProxy(broker.port) as p:
        yield p


def queue() -> str:
    return f"resume-{uuid.uuid4().hex[:8]}"


def numbered(i: int) -> Message:
    return Message(b"m%d" % i, properties=Properties(message_id=f"m{i}"))
