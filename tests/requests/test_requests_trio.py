"""The trio adapter's Requester, ManagementClient and CbsClient against the embedded
broker (stories in async_cases, shared with asyncio)."""

from __future__ import annotations

from typing import Any

import trio

import amqp10_trio as amqp
import amqp10_trio._requests as req
from amqp10_cli import RunningBroker

from . import async_cases as cases
from .conftest import Responder


async def gather(*coros: Any) -> None:
    async with trio.open_nursery() as nursery:
        for c in coros:
            async def run(c: Any = c) -> None:
                await c
            nursery.start_soon(run)


def test_many_requests_in_flight(broker: RunningBroker, responder: Responder) -> None:
    trio.run(cases.many_in_flight, amqp, req, gather, broker.url, responder.address)


def test_timeout_and_echo(broker: RunningBroker) -> None:
    trio.run(cases.timeout_and_echo, amqp, req, broker.url)


def test_put_token(broker: RunningBroker) -> None:
    trio.run(cases.put_token, amqp, req, broker.url)


def test_refresh(broker: RunningBroker) -> None:
    async def main() -> None:
        with trio.fail_after(20):  # run_refresh ends with the client
            async with trio.open_nursery() as nursery:
                await cases.refresh(amqp, req, broker.url, nursery.start_soon, trio.sleep)

    trio.run(main)


def test_management(broker: RunningBroker) -> None:
    trio.run(cases.management, amqp, req, broker.url)


def test_close_ends_the_waits(broker: RunningBroker) -> None:
    trio.run(cases.close_ends_the_waits, amqp, req, gather, broker.url, trio.sleep)


def test_session_opens_a_requester(broker: RunningBroker, responder: Responder) -> None:
    trio.run(cases.session_opens_a_requester, amqp, broker.url, responder.address)
