"""amqp10_trio against hostile peers (issue 10): the stories of tests.hostile.async_cases,
each in its own trio.run."""

from __future__ import annotations

import pytest
import trio

import amqp10_trio as amqp

from .async_cases import CASES, Case
from .servers import Serve


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_trio_against_a_hostile_peer(story: Case, serve: Serve,
                                     monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        with trio.fail_after(60):  # a hang guard, far above every story's own bound
            await story(amqp, serve, monkeypatch, caplog)

    trio.run(main)
