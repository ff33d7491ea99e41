"""The filter tests start a real peer (RabbitMQ) when one is not running: stop it at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..interop.peers import stop_all


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()
