"""The trio adapter resumes durable links after a lost transport (2.6.13, issue 9):
the stories of tests.resume.async_cases, each in its own trio.run, no task left."""

from __future__ import annotations

import pytest

import amqp10_trio as amqp
from amqp10_cli import RunningBroker

from ..faultproxy import FaultProxy
from ..resilience.test_reconnect_trio import adapter_tasks, run
from .async_cases import CASES, Case


@pytest.mark.parametrize("story", CASES, ids=lambda story: story.__name__)
def test_trio_resumes(story: Case, proxy: FaultProxy, broker: RunningBroker) -> None:
    async def main() -> None:
        await story(amqp, proxy, broker)
        assert adapter_tasks() == []  # the connection's nursery ended with its block

    run(main)
