"""The asyncio adapter resumes durable links after a lost transport (2.6.13, issue 9):
the stories of tests.resume.async_cases, each on a fresh event loop, no task left."""

from __future__ import annotations

import pytest

import amqp10_asyncio as amqp
from amqp10_cli import RunningBroker
from tests.asyncio_.helpers import no_other_tasks, run

from ..faultproxy import FaultProxy
from .async_cases import CASES, Case


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_asyncio_resumes(story: Case, proxy: FaultProxy, broker: RunningBroker) -> None:
    async def main() -> None:
        await story(amqp, proxy, broker)
        assert await no_other_tasks()  # nothing left running after the story

    run(main(), timeout=90)
