"""``amqp10 demo``: the embedded broker on a free port, and each adapter telling its story.

Each adapter (blocking, asyncio, trio) connects, sends three orders, receives
them (accepting two, rejecting one to show outcomes), and makes one request
over a dynamic reply queue. Every step has a timeout, so the demo ends in a few
seconds whatever happens; trio, an optional extra, is skipped if absent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Callable
from typing import Any

from amqp10_proto import Error, Message, Properties, parse_url

from ._cli_common import CliError, ExitCode, add_subcommand, explain, seconds

__all__ = ["add_demo_parser", "run_demo"]

Say = Callable[[str], None]

#: The orders each adapter sends: body and application properties.
ORDERS: list[tuple[bytes, dict[str, Any]]] = [
    (b"order 1", {"item": "tea", "quantity": 2}),
    (b"order 2", {"item": "scones", "quantity": 6}),
    (b"order 3", {"item": "unicorn", "quantity": 1}),
]
#: What the receiver rejects the last order with (3.4.2: rejected carries an error).
REJECTION = Error(condition="amqp:precondition-failed", description="out of stock")


def add_demo_parser(subparsers: Any) -> None:
    p = add_subcommand(
        subparsers, "demo", help="see every adapter send and receive through the embedded "
                                 "broker",
        description="Start the embedded broker on a free port, then send and receive a few "
                    "messages through each adapter (blocking, asyncio, trio) and tell what "
                    "happened: outcomes, properties, and a request/response over a dynamic "
                    "reply queue. Ends in a few seconds and exits 0.",
        exit_codes={**dict.fromkeys(ExitCode),
                    ExitCode.OUTCOME: "the broker did not accept a message of the demo",
                    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (e.g. | head)"})
    p.add_argument("--url", help="use this running broker instead of the embedded one (it "
                                 "needs dynamic nodes for the request/response)")
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="S",
                   help="seconds each step may take (default: 5)")
    p.set_defaults(run=run_demo)


# -- what the stories say ----------------------------------------------------------------

def _orders(adapter: str) -> list[Message]:
    return [Message(body, properties=Properties(message_id=f"{adapter}-{i}", subject="order"),
                    application_properties=dict(props))
            for i, (body, props) in enumerate(ORDERS, 1)]


def _show(msg: Any) -> str:
    """``'order 1' {item=tea, quantity=2}`` for a message or a received one."""
    body = msg.body
    text = repr(body.decode("utf-8", errors="replace")) if isinstance(body, bytes) else repr(body)
    props = msg.application_properties
    if props:
        text += " {" + ", ".join(f"{k}={v}" for k, v in props.items()) + "}"
    return text


def _outcome(outcome: Any) -> str:
    return "settled" if outcome is None else type(outcome).__name__.lower()


def _shown(url: str) -> str:
    """The URL without credentials, for the story."""
    parsed = parse_url(url)
    return f"{'amqps' if parsed.tls else 'amqp'}://{parsed.host}:{parsed.port}"


def _queue(adapter: str) -> str:
    # Unique per run: a broker given with --url may keep queues from an earlier run.
    return f"demo-{adapter}-{uuid.uuid4().hex[:6]}"


def _received(msg: Any, i: int) -> str:
    if i < len(ORDERS) - 1:
        return f"received {_show(msg)} -> accepted"
    return (f"received {_show(msg)} -> rejected ({REJECTION.condition}: "
            f"{REJECTION.description}); the broker drops it")


def _answer(request: Any) -> Message:
    """The service's reply: to the request's reply-to, correlated by its message-id."""
    return Message(b"pong", properties=Properties(to=request.properties.reply_to,
                                                  correlation_id=request.properties.message_id))


def _reply_to(request: Any) -> str:
    """Where a request wants its answer (every request of the demo says)."""
    props = request.properties
    assert props is not None and props.reply_to is not None
    return str(props.reply_to)


def _request(adapter: str, reply_to: str | None) -> Message:
    return Message(b"ping", properties=Properties(message_id=f"{adapter}-request",
                                                  reply_to=reply_to))


def _exchange(reply_to: str | None, answer: Any) -> str:
    return (f"request/response: sent 'ping' with reply-to {reply_to!r} (a dynamic queue); the "
            f"service answered {_show(answer)} (correlation-id "
            f"{answer.properties.correlation_id!r})")


# -- the stories, one per I/O model --------------------------------------------------------

def _sync_story(url: str, say: Say, t: float) -> None:
    import amqp10_sync as amqp

    queue, service = _queue("sync"), _queue("sync-service")
    with amqp.open_connection(url, timeout=t, connect_timeout=t) as conn:
        say(f"connected to {_shown(url)} (the broker's container id: {conn.remote_container_id!r})")
        with conn.open_session() as session:
            with session.open_sender(queue) as sender:
                say(f"sending to the queue {queue!r}")
                for msg in _orders("sync"):
                    say(f"sent {_show(msg)} -> {_outcome(sender.send(msg))}")
            with session.open_receiver(queue, credit=10) as receiver:
                for i in range(len(ORDERS)):
                    got = receiver.receive(timeout=t)
                    if i < len(ORDERS) - 1:
                        got.accept()
                    else:
                        got.reject(REJECTION)
                    say(_received(got, i))
            with session.open_receiver(None, dynamic=True) as replies, \
                    session.open_receiver(service) as requests, \
                    session.open_sender(service) as client:
                client.send(_request("sync", replies.address))
                request = requests.receive(timeout=t)
                with session.open_sender(_reply_to(request)) as responder:
                    responder.send(_answer(request))
                request.accept()
                answer = replies.receive(timeout=t)
                answer.accept()
                say(_exchange(replies.address, answer))
    say("closed the connection")


async def _async_story(amqp: Any, adapter: str, url: str, say: Say, t: float) -> None:
    """The same story on ``amqp10_asyncio`` or ``amqp10_trio`` (one API, two loops)."""
    queue, service = _queue(adapter), _queue(f"{adapter}-service")
    async with amqp.open_connection(url, timeout=t, connect_timeout=t) as conn:
        say(f"connected to {_shown(url)} (the broker's container id: {conn.remote_container_id!r})")
        async with conn.open_session() as session:
            async with session.open_sender(queue) as sender:
                say(f"sending to the queue {queue!r}")
                for msg in _orders(adapter):
                    outcome = await sender.send(msg)
                    say(f"sent {_show(msg)} -> {_outcome(outcome)}")
            async with session.open_receiver(queue, credit=10) as receiver:
                for i in range(len(ORDERS)):
                    got = await receiver.receive(timeout=t)
                    if i < len(ORDERS) - 1:
                        await got.accept()
                    else:
                        await got.reject(REJECTION)
                    say(_received(got, i))
            async with session.open_receiver(None, dynamic=True) as replies, \
                    session.open_receiver(service) as requests, \
                    session.open_sender(service) as client:
                await client.send(_request(adapter, replies.address))
                request = await requests.receive(timeout=t)
                async with session.open_sender(_reply_to(request)) as responder:
                    await responder.send(_answer(request))
                await request.accept()
                answer = await replies.receive(timeout=t)
                await answer.accept()
                say(_exchange(replies.address, answer))
    say("closed the connection")


def _run_asyncio(url: str, say: Say, t: float) -> None:
    import amqp10_asyncio

    async def story() -> None:
        await asyncio.wait_for(_async_story(amqp10_asyncio, "asyncio", url, say, t), 6 * t)

    asyncio.run(story())


def _run_trio(url: str, say: Say, t: float) -> None:
    try:
        import trio

        import amqp10_trio
    except ImportError:
        say("skipped: trio is not installed (pip install 'amqp10[trio]')")
        return

    async def story() -> None:
        with trio.fail_after(6 * t):
            await _async_story(amqp10_trio, "trio", url, say, t)

    try:
        trio.run(story)
    except trio.TooSlowError:
        raise TimeoutError(f"the trio story took more than {6 * t:g} s") from None


STORIES: list[tuple[str, str, Callable[[str, Say, float], None]]] = [
    ("sync", "amqp10_sync: blocking sockets, one I/O thread per connection", _sync_story),
    ("asyncio", "amqp10_asyncio: asyncio.run", _run_asyncio),
    ("trio", "amqp10_trio: trio.run; the optional extra amqp10[trio]", _run_trio),
]


def _tell(url: str, t: float) -> None:
    def say(text: str) -> None:
        sys.stdout.write(f"  {text}\n")
        sys.stdout.flush()

    parsed = parse_url(url)
    for name, what, story in STORIES:
        sys.stdout.write(f"\n{name}  ({what})\n")
        try:
            story(url, say, t)
        except Exception as exc:
            error = explain(exc, where=f"{parsed.host}:{parsed.port}", address="the demo queue")
            if error is None:
                raise
            raise CliError(error.code, f"demo, {name}: {error.text}") from None


def run_demo(args: argparse.Namespace) -> int:
    """Start the broker (unless --url), tell each adapter's story, point to what's next."""
    if args.url is not None:
        try:
            parse_url(args.url)
        except ValueError as exc:
            raise CliError(ExitCode.USAGE, str(exc)) from None
        sys.stdout.write(f"amqp10 demo: using the broker at {args.url}\n")
        _tell(args.url, args.timeout)
    else:
        from . import start_broker  # the embedded broker (amqp10_cli._broker*)

        with start_broker(host="127.0.0.1", port=0) as running:
            sys.stdout.write(f"amqp10 demo: started the embedded broker at {running.url}\n")
            _tell(running.url, args.timeout)
        sys.stdout.write("\nstopped the embedded broker.")
    sys.stdout.write("\nNext: 'amqp10 broker' in one terminal; 'amqp10 send "
                     "amqp://127.0.0.1 q --body hi' and 'amqp10 receive amqp://127.0.0.1 q' "
                     "in another.\n")
    return ExitCode.OK
