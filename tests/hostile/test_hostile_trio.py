"""amqp10_trio against hostile peers (issue 10): the stories of tests.hostile.async_cases,
each in its own trio.run."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import pytest
import trio

import amqp10_trio as amqp

from .async_cases import CASES, Case
from .servers import Serve

#: Stories about how a connection ends (today's drop semantics, issue 9): they run
#: with reconnect=False, as a reconnecting connection would not end there.
DROP_STORIES = {"silent_peer_given_up_after_the_idle_timeout"}


def without_reconnect() -> Any:
    """amqp10_trio whose open_connection defaults to reconnect=False."""
    module = SimpleNamespace(**{name: getattr(amqp, name) for name in dir(amqp)})
    module.open_connection = functools.partial(amqp.open_connection, reconnect=False)
    return module


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_trio_against_a_hostile_peer(story: Case, serve: Serve,
                                     monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    adapter = without_reconnect() if story.__name__ in DROP_STORIES else amqp

    async def main() -> None:
        with trio.fail_after(60):  # a hang guard, far above every story's own bound
            await story(adapter, serve, monkeypatch, caplog)

    trio.run(main)
