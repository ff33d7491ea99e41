"""amqp10_asyncio against hostile peers (issue 10): the stories of tests.hostile.async_cases,
each on a fresh event loop."""

from __future__ import annotations

import pytest

import amqp10_asyncio as amqp
from tests.asyncio_.helpers import no_other_tasks, run

from .async_cases import CASES, Case
from .servers import Serve


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_asyncio_against_a_hostile_peer(story: Case, serve: Serve,
                                        monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        await story(amqp, serve, monkeypatch, caplog)
        assert await no_other_tasks()  # nothing left running after the story

    run(main(), timeout=60)
