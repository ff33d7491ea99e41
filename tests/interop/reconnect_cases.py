"""Reconnecting against real peers (issue 9) for the two async adapters, written once.

amqp10_asyncio and amqp10_trio share one API, so each story is an async function of the
adapter's module (``amqp``); test_reconnect_peers_asyncio and test_reconnect_peers_trio run
every one on their own event loop, as tests/hostile/async_cases does for hostile peers.
test_reconnect_peers tells the same stories in the blocking API.

The Qpid C broker accepts and settles each message as it arrives and delivers to
consumers pre-settled (at-most-once), so the counting is done on the sending side:
every message whose send returned Accepted must be in the queue afterwards (read back
over a connection without faults), a duplicate may only be a resend of a message in
doubt at a fault, and the link still works after the faults (the sends after them
returned Accepted too). Blocking work (starting or stopping a broker) runs in a thread
so the loop keeps serving the connection meanwhile.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from amqp10_cli import start_broker
from amqp10_proto import Message, Properties
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    LinkDetachedError,
    SessionEndedError,
)

from ..faultproxy import FaultProxy
from ..resilience.loops import in_thread, sleep, together, until
from .peers import PEERS_DIR, start, start_own

__all__ = ["CASES", "FAULTS", "QPID_OWN_PORT", "Case", "check_counts", "fast"]

Case = Callable[[Any], Awaitable[None]]
CASES: list[Case] = []

#: The faults of tests/faultproxy.py a sender rides out, each applied twice mid-stream.
FAULTS = ["cut", "reset", "cut_mid_frame", "half_close", "delay", "blackhole"]
#: A Qpid C broker of these stories' own, stopped and started again mid-test.
QPID_OWN_PORT = 35841
PRODUCERS = 4  # concurrent senders on one link: several transfers in doubt at a fault


def case(fn: Case) -> Case:
    CASES.append(fn)
    return fn


def fast(amqp: Any) -> Any:
    """A quick reconnect policy (the one test_reconnect_peers uses), bounded at 30 s."""
    return amqp.Reconnect(initial_delay=0.05, max_delay=0.3, max_duration=30)


def _numbered(i: int) -> Message:
    return Message(b"x", properties=Properties(message_id=f"m{i}"))


def check_counts(got: list[str], accepted: set[str], resent: int) -> None:
    """Issue 9's count: every message whose send returned Accepted is in the queue,
    nothing else is, and a duplicate is a resend of a message in doubt."""
    assert set(got) == accepted, (sorted(accepted - set(got)), sorted(set(got) - accepted))
    assert len(got) - len(set(got)) <= resent, (len(got), len(set(got)), resent)


async def _drain(amqp: Any, port: int, address: str, expect: int) -> list[str]:
    """Every message of ``address``, read over a fresh connection without reconnecting,
    until ``expect`` distinct ones came and the queue stays quiet for 0.5 s."""
    got: list[str] = []
    async with amqp.open_connection(f"amqp://127.0.0.1:{port}", reconnect=False,
                                    timeout=10) as conn:
        receiver = await (await conn.open_session()).open_receiver(address, credit=50)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                msg = await receiver.receive(timeout=0.5 if len(set(got)) >= expect else 5)
            except TimeoutError:
                if len(set(got)) >= expect:
                    break
                continue
            got.append(str(msg.properties.message_id))
    return got


def _through_a_fault(fault: str) -> Case:
    async def story(amqp: Any) -> None:
        peer = await in_thread(amqp, lambda: start("qpid-broker"))
        address = f"reconnect-{fault}-{uuid.uuid4().hex[:8]}"
        n = 300
        accepted: set[str] = set()
        with FaultProxy(peer.port) as proxy:
            # "delay" (3 s of latency) and "blackhole" (silence, no FIN) are found by our
            # idle timeout (2.4.5: twice 0.5 s without a frame); the next connection is sound.
            async with amqp.open_connection(proxy.url, reconnect=fast(amqp), idle_timeout=0.5,
                                            timeout=30) as conn:
                sender = await (await conn.open_session()).open_sender(address)
                todo = iter(range(n))

                async def produce() -> None:
                    for i in todo:  # shared: each number is sent by one producer
                        if i in (60, 180):
                            if fault == "delay":
                                proxy.delay(3.0)
                            else:
                                getattr(proxy, fault)()
                        outcome = await sender.send(_numbered(i), timeout=30)
                        assert type(outcome).__name__ == "Accepted", outcome
                        accepted.add(f"m{i}")

                await together(amqp, *[produce] * PRODUCERS)
                assert conn.reconnects == 2 and conn.state == "open", conn.reconnects
                resent = sender.resent
            assert proxy.stats().accepted == 3
        assert len(accepted) == n
        check_counts(await _drain(amqp, peer.port, address, n), accepted, resent)

    story.__name__ = f"qpid_broker_sender_through_{fault}"
    return story


for _fault in FAULTS:
    case(_through_a_fault(_fault))


@case
async def qpid_broker_restarted_on_its_port_gets_the_sender_back(amqp: Any) -> None:
    """Senders stream while the broker is stopped and started again on its port: sends
    made during the outage wait and then proceed, those in doubt at the stop are resent.
    The restarted broker's queues are new, so it holds exactly the messages whose send
    returned after the reconnect."""
    peer = await in_thread(amqp, lambda: start_own("qpid-broker", QPID_OWN_PORT))
    address = f"restart-{uuid.uuid4().hex[:8]}"
    issued: list[int] = []  # the numbers given out, in order
    after: set[str] = set()  # sends that returned Accepted once reconnected
    started_after: set[str] = set()  # sends begun once reconnected
    async with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", reconnect=fast(amqp),
                                    timeout=30) as conn:
        sender = await (await conn.open_session()).open_sender(address)

        async def produce() -> None:
            while len(after) < 100:
                i = len(issued)
                issued.append(i)
                if conn.reconnects:
                    started_after.add(f"m{i}")
                await sender.send(_numbered(i), timeout=30)
                if conn.reconnects:
                    after.add(f"m{i}")
                else:
                    await sleep(amqp, 0.005)  # a steady stream for the stop to cut into

        async def restart() -> None:
            await until(amqp, lambda: len(issued) >= 40)
            await in_thread(amqp, lambda: _qpid_script("stop", peer.port))
            await until(amqp, lambda: conn.state == "reconnecting")
            await sleep(amqp, 0.3)  # the sends keep coming: they wait
            await in_thread(amqp, lambda: _qpid_script("start", peer.port))

        await together(amqp, restart, *[produce] * PRODUCERS)
        assert conn.reconnects == 1 and conn.state == "open"
        resent = sender.resent
    # Sends begun before the stop (in doubt, or waiting) returned after the reconnect.
    assert after - started_after, "no send outlived the outage"
    check_counts(await _drain(amqp, peer.port, address, len(after)), after, resent)


def _qpid_script(verb: str, port: int) -> None:
    """Run ``start-qpid-broker PORT`` or ``stop-qpid-broker PORT``; raise if it fails."""
    subprocess.run(["bash", str(PEERS_DIR / f"{verb}-qpid-broker"), str(port)], check=True,
                   timeout=120, capture_output=True)


@case
async def rabbitmq_refusing_a_link_is_not_a_reason_to_reconnect(amqp: Any) -> None:
    """2.6.3: RabbitMQ refuses the attach (amqp:not-found); the connection stays, on its
    one TCP connection, and another session works."""
    peer = await in_thread(amqp, lambda: start("rabbitmq"))
    with FaultProxy(peer.port) as proxy:
        async with amqp.open_connection(proxy.url, reconnect=fast(amqp),
                                        timeout=10) as conn:
            session = await conn.open_session()
            with pytest.raises((SessionEndedError, LinkDetachedError)) as info:
                await session.open_receiver(f"/amq/queue/missing-{uuid.uuid4().hex[:8]}")
            assert info.value.condition == "amqp:not-found"
            await sleep(amqp, 0.3)
            assert conn.state == "open" and conn.reconnects == 0
            q = f"after-refusal-{uuid.uuid4().hex[:8]}"
            other = await conn.open_session()
            await (await other.open_sender(q)).send(Message(b"still here"))
            receiver = await other.open_receiver(q)
            assert (await receiver.receive(timeout=10)).body == b"still here"
        assert proxy.stats().accepted == 1


@case
async def rhea_refusing_the_password_fails_at_once(amqp: Any) -> None:
    """5.3.3.6: a refused SASL outcome is final: one try, no reconnect loop. (The rhea
    broker answers at once; RabbitMQ holds a refusal back 3 s, which would only slow
    this down.)"""
    peer = await in_thread(amqp, lambda: start("rhea-broker"))
    with FaultProxy(peer.port) as proxy:
        t0 = time.monotonic()
        with pytest.raises(AuthenticationError):
            async with amqp.open_connection(f"amqp://guest:wrong@127.0.0.1:{proxy.port}",
                                            reconnect=fast(amqp), timeout=10):
                pass
        assert time.monotonic() - t0 < 5  # a hang guard; the policy would try for 30 s
        await sleep(amqp, 0.3)
        assert proxy.stats().accepted == 1


@case
async def a_password_refused_on_reconnecting_ends_it_at_once(amqp: Any) -> None:
    """The rhea broker goes away; the broker now behind its address (the embedded one)
    refuses the password: reconnecting gives up on that first refusal, and waits fail."""
    peer = await in_thread(amqp, lambda: start("rhea-broker"))
    other = await in_thread(amqp, lambda: start_broker(users={"guest": "changed"}))
    try:
        with FaultProxy(peer.port) as proxy:
            async with amqp.open_connection(f"amqp://guest:guest@127.0.0.1:{proxy.port}",
                                            reconnect=fast(amqp), timeout=10) as conn:
                q = f"auth-{uuid.uuid4().hex[:8]}"
                receiver = await (await conn.open_session()).open_receiver(q)
                proxy.upstream = ("127.0.0.1", other.port)  # read at each accept
                proxy.cut()
                t0 = time.monotonic()
                with pytest.raises(ConnectionClosedError, match="authentication failed"):
                    await receiver.receive(timeout=20)
                assert time.monotonic() - t0 < 5  # a hang guard; the policy allows 30 s
                assert conn.state == "closed" and conn.reconnects == 0
            await sleep(amqp, 0.3)
            assert proxy.stats().accepted == 2  # the first connection and one try
    finally:
        await in_thread(amqp, other.stop)
