"""The asyncio adapter's Requester, ManagementClient and CbsClient against the embedded
broker (stories in async_cases, shared with trio)."""

from __future__ import annotations

import asyncio
from typing import Any

import amqp10_asyncio as amqp
import amqp10_asyncio._requests as req
from amqp10_cli import RunningBroker

from . import async_cases as cases
from .conftest import Responder


async def gather(*coros: Any) -> None:
    await asyncio.gather(*coros)


def test_many_requests_in_flight(broker: RunningBroker, responder: Responder) -> None:
    asyncio.run(cases.many_in_flight(amqp, req, gather, broker.url, responder.address))


def test_timeout_and_echo(broker: RunningBroker) -> None:
    asyncio.run(cases.timeout_and_echo(amqp, req, broker.url))


def test_put_token(broker: RunningBroker) -> None:
    asyncio.run(cases.put_token(amqp, req, broker.url))


def test_refresh(broker: RunningBroker) -> None:
    async def main() -> None:
        tasks: list[asyncio.Task[None]] = []
        await cases.refresh(amqp, req, broker.url,
                            lambda fn: tasks.append(asyncio.ensure_future(fn())), asyncio.sleep)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)  # run_refresh ends with the client

    asyncio.run(main())


def test_management(broker: RunningBroker) -> None:
    asyncio.run(cases.management(amqp, req, broker.url))


def test_close_ends_the_waits(broker: RunningBroker) -> None:
    asyncio.run(cases.close_ends_the_waits(amqp, req, gather, broker.url, asyncio.sleep))


def test_session_opens_a_requester(broker: RunningBroker, responder: Responder) -> None:
    asyncio.run(cases.session_opens_a_requester(amqp, broker.url, responder.address))
