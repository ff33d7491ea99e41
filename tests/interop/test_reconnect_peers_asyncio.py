"""amqp10_asyncio reconnecting against real peers (issue 9): the stories of
tests.interop.reconnect_cases, each on a fresh event loop, leaving no task behind."""

from __future__ import annotations

import pytest

import amqp10_asyncio as amqp
from tests.asyncio_.helpers import no_other_tasks, run

from .reconnect_cases import CASES, Case


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_asyncio_reconnecting_against_a_real_peer(story: Case) -> None:
    async def main() -> None:
        await story(amqp)
        assert await no_other_tasks()  # nothing left running after the story

    run(main(), timeout=90)
