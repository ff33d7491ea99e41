"""Fixtures for the embedded broker's tests: a broker in a thread, and unique addresses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from amqp10_cli import RunningBroker, start_broker


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    """One broker for a test module (PLAIN guest/guest, ANONYMOUS allowed)."""
    with start_broker(users={"guest": "guest"}, allow_anonymous=True) as running:
        yield running


@pytest.fixture
def q() -> str:
    """A fresh queue address for one test."""
    return f"test-{uuid.uuid4().hex[:10]}"
