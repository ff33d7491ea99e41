"""amqp10_trio reconnecting against real peers (issue 9): the stories of
tests.interop.reconnect_cases, each in its own trio.run."""

from __future__ import annotations

import pytest
import trio

import amqp10_trio as amqp

from .reconnect_cases import CASES, Case


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_trio_reconnecting_against_a_real_peer(story: Case) -> None:
    async def main() -> None:
        with trio.fail_after(90):  # a hang guard, far above every story's own bound
            await story(amqp)

    trio.run(main)
