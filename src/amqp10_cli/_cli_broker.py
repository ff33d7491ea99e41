"""``amqp10 broker``: the embedded in-memory broker on a port, until Ctrl-C or SIGTERM.

It prints one line with its URL once it listens (so a script can wait for that
line; with ``--ws-port`` a second line follows with its ``amqpws://`` URL), serves on asyncio, and stops cleanly on SIGINT (exit 130) or SIGTERM
(exit 0). Its limits (message size, connections, sessions, links, queue depth,
handshake timeout) are options; 0 turns off those that may be off.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
import threading
from typing import Any

from ._broker import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_LINKS,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_QUEUE_DEPTH,
    DEFAULT_MAX_SESSIONS,
)
from ._broker_conn import HANDSHAKE_TIMEOUT
from ._cli_common import CliError, ExitCode, add_subcommand, seconds, whole_number

__all__ = ["add_broker_parser", "broker_options", "broker_url", "parse_user", "run_broker"]


def add_broker_parser(subparsers: Any) -> None:
    p = add_subcommand(
        subparsers, "broker", help="run the embedded in-memory broker (for trying things out and tests)",
        description="Run the embedded AMQP 1.0 broker: in-memory queues by address, "
                    "created on first use; SASL ANONYMOUS and PLAIN; optional TLS. It "
                    "prints its URL once it listens and runs until Ctrl-C or SIGTERM. It "
                    "is not a production broker: use RabbitMQ, ActiveMQ Artemis, Qpid "
                    "Dispatch Router or Azure Service Bus for that.",
        exit_codes={ExitCode.OK: "stopped by SIGTERM", ExitCode.UNEXPECTED: None,
                    ExitCode.USAGE: "bad arguments, or --tls-cert/--tls-key unreadable",
                    ExitCode.CONNECTION: "cannot listen: the port is taken, or the host is "
                                         "not this machine's",
                    ExitCode.INTERRUPTED: "stopped by Ctrl-C (SIGINT)"})
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=whole_number(0, 65535, "a port number"), default=5672,
                   help="port to listen on (default: 5672; 0 picks a free one)")
    p.add_argument("--ws-port", type=whole_number(0, 65535, "a port number"), metavar="PORT",
                   help="also serve AMQP over WebSocket on this port (amqpws://, or "
                        "amqpwss:// with --tls-cert; any path; subprotocol amqp or "
                        "AMQPWSB10); needs wsproto: pip install 'amqp10[ws]'")
    p.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                   help="a user for SASL PLAIN (repeatable); with users, ANONYMOUS is "
                        "refused unless --allow-anonymous")
    p.add_argument("--allow-anonymous", action="store_true",
                   help="accept SASL ANONYMOUS even when --user is given")
    p.add_argument("--tls-cert", metavar="FILE",
                   help="serve amqps with this PEM certificate (chain); needs --tls-key")
    p.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    p.add_argument("--idle-timeout", type=seconds, metavar="S",
                   help="close connections silent for S seconds (default: none)")
    p.add_argument("--container-id", help="the broker's container id (default: amqp10-broker)")
    p.add_argument("--sas-key", action="append", default=[], metavar="NAME=KEY",
                   help="serve $cbs: accept SAS tokens signed with this shared access key "
                        "(repeatable), as Azure Service Bus does")
    limits = p.add_argument_group(
        "limits", "Each is enforced with an AMQP error the client sees "
                  "(docs: 'The embedded broker's limits'); 0 means none where allowed.")
    limits.add_argument("--max-message-size", type=whole_number(0), metavar="BYTES",
                        default=DEFAULT_MAX_MESSAGE_SIZE,
                        help="refuse bigger messages, amqp:link:message-size-exceeded "
                             "(default: 104857600, 100 MiB; 0: no limit)")
    limits.add_argument("--max-connections", type=whole_number(0), metavar="N",
                        default=DEFAULT_MAX_CONNECTIONS,
                        help="close further clients with amqp:resource-limit-exceeded "
                             f"(default: {DEFAULT_MAX_CONNECTIONS}; 0: no limit)")
    limits.add_argument("--max-sessions", type=whole_number(1, 65536), metavar="N",
                        default=DEFAULT_MAX_SESSIONS,
                        help="sessions per connection, our channel-max + 1 "
                             f"(default: {DEFAULT_MAX_SESSIONS})")
    limits.add_argument("--max-links", type=whole_number(1, 2**32), metavar="N",
                        default=DEFAULT_MAX_LINKS,
                        help="links per session, our handle-max + 1; more are refused with "
                             f"amqp:resource-limit-exceeded (default: {DEFAULT_MAX_LINKS})")
    limits.add_argument("--max-queue-depth", type=whole_number(0), metavar="N",
                        default=DEFAULT_MAX_QUEUE_DEPTH,
                        help="messages per queue; a message for a full queue is rejected with "
                             f"amqp:resource-limit-exceeded (default: {DEFAULT_MAX_QUEUE_DEPTH}; "
                             "0: no limit)")
    limits.add_argument("--handshake-timeout", type=seconds, metavar="S",
                        default=HANDSHAKE_TIMEOUT,
                        help="drop a client that has not opened within S seconds "
                             f"(default: {HANDSHAKE_TIMEOUT:g})")
    p.set_defaults(run=run_broker)


def broker_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~amqp10_cli.Broker` limits the options ask for (0 turns a limit off)."""
    return {"max_message_size": args.max_message_size or None,
            "max_connections": args.max_connections or None,
            "max_sessions": args.max_sessions, "max_links": args.max_links,
            "max_queue_depth": args.max_queue_depth or None,
            "handshake_timeout": args.handshake_timeout,
            "sas_keys": dict(parse_sas_key(k) for k in args.sas_key) or None}


def parse_sas_key(text: str) -> tuple[str, str]:
    """``NAME=KEY`` (the key may hold '='); raises CliError if malformed."""
    name, sep, key = text.partition("=")
    if not sep or not name or not key:
        raise CliError(ExitCode.USAGE, f"--sas-key {text!r}: use NAME=KEY")
    return name, key


def parse_user(text: str) -> tuple[str, str]:
    """``name:password`` (the password may hold colons); raises CliError if malformed."""
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise CliError(ExitCode.USAGE, f"--user {text!r}: use NAME:PASSWORD")
    return name, password


def broker_url(host: str, port: int, tls: bool, *, ws: bool = False) -> str:
    """The URL a client uses to reach a broker listening on ``host:port`` (its WebSocket
    listener with ``ws``: ``amqpws://host:port/``)."""
    shown = f"[{host}]" if ":" in host else host
    if ws:
        return f"{'amqpwss' if tls else 'amqpws'}://{shown}:{port}/"
    return f"{'amqps' if tls else 'amqp'}://{shown}:{port}"


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_cert is None and args.tls_key is None:
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise CliError(ExitCode.USAGE, "--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(ExitCode.USAGE, f"cannot load --tls-cert/--tls-key: {exc}") from None
    return context


def run_broker(args: argparse.Namespace) -> int:
    """Serve until a signal; the exit code says which one."""
    from . import Broker  # the embedded broker (amqp10_cli._broker*)

    users = dict(parse_user(u) for u in args.user)
    context = _ssl_context(args)
    broker = Broker(users=users or None, allow_anonymous=args.allow_anonymous or not users,
                    ssl_context=context, idle_timeout=args.idle_timeout,
                    container_id=args.container_id, **broker_options(args))
    stopped_by: list[int] = []

    def ready(host: str, port: int) -> None:
        sys.stdout.write(f"amqp10 broker listening on {broker_url(host, port, context is not None)}"
                         f" (Ctrl-C to stop)\n")
        if broker.ws_address is not None:
            sys.stdout.write("amqp10 broker listening for AMQP over WebSocket on "
                             f"{broker_url(*broker.ws_address, context is not None, ws=True)}\n")
        sys.stdout.flush()

    async def serve() -> None:
        task = asyncio.current_task()
        assert task is not None
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                def stop(signum: int = signum) -> None:
                    stopped_by.append(signum)
                    task.cancel()
                with contextlib.suppress(NotImplementedError):  # no signals on this loop
                    loop.add_signal_handler(signum, stop)
        with contextlib.suppress(asyncio.CancelledError):
            await broker.serve(args.host, args.port, ws_port=args.ws_port, ready=ready)

    try:
        asyncio.run(serve())
    except OSError as exc:  # the port is taken, the address is not ours ...
        ports = str(args.port) if args.ws_port is None else f"{args.port} (or {args.ws_port})"
        raise CliError(ExitCode.CONNECTION, f"cannot listen on {args.host}:{ports}: "
                                            f"{exc.strerror or exc}") from None
    except ImportError as exc:  # --ws-port without wsproto
        raise CliError(ExitCode.USAGE, str(exc)) from None
    if stopped_by and stopped_by[0] == signal.SIGINT:
        return ExitCode.INTERRUPTED
    sys.stderr.write("amqp10 broker stopped\n")
    return ExitCode.OK
