"""amqp10_asyncio against hostile peers (issue 10): the stories of tests.hostile.async_cases,
each on a fresh event loop."""

from __future__ import annotations

import types
from typing import Any

import pytest

import amqp10_asyncio as amqp
from tests.asyncio_.helpers import no_other_tasks, run

from .async_cases import CASES, Case
from .servers import Serve

#: Stories about a connection that is given up on (today's drop semantics): told with
#: reconnect=False, as a reconnecting connection rightly tries the silent peer again.
DROPPED = {"silent_peer_given_up_after_the_idle_timeout"}


def _without_reconnect() -> Any:
    """The adapter's namespace whose ``open_connection`` defaults to reconnect=False."""
    def open_connection(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("reconnect", False)
        return amqp.open_connection(*args, **kwargs)

    return types.SimpleNamespace(**{**vars(amqp), "open_connection": open_connection})


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_asyncio_against_a_hostile_peer(story: Case, serve: Serve,
                                        monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    adapter = _without_reconnect() if story.__name__ in DROPPED else amqp

    async def main() -> None:
        await story(adapter, serve, monkeypatch, caplog)
        assert await no_other_tasks()  # nothing left running after the story

    run(main(), timeout=60)
