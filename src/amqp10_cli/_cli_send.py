"""``amqp10 send``: messages from an option, a file or stdin lines, pipelined to one address.

Sends go out with ``send_nowait`` and their outcomes are collected in a bounded
window, so a large ``--count`` runs at the link's pace rather than one round
trip per message; the first message the peer does not accept stops the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from amqp10_proto import AmqpValue, Message, Properties, Symbol, UInt, ULong
from amqp10_proto.errors import LocalProtocolError

from ._cli_common import (
    CliError,
    ExitCode,
    add_connection_options,
    add_subcommand,
    explain,
    open_connection,
    seconds,
    whole_number,
)
from ._progress import Progress, format_rate

__all__ = ["add_send_parser", "parse_property", "run_send"]

#: Messages sent whose outcome we have not waited for yet, at most.
PIPELINE = 1000


def _timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a time zone (e.g. Z or +01:00)")
    return value


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError("not true or false")


#: ``--property key:TYPE=value``: how each TYPE turns the text into an AMQP value.
PROPERTY_TYPES: dict[str, Callable[[str], Any]] = {
    "str": str,
    "symbol": Symbol,
    "int": int,  # AMQP long (64-bit signed)
    "uint": lambda t: UInt(int(t)),
    "ulong": lambda t: ULong(int(t)),
    "float": float,  # AMQP double
    "bool": _bool,
    "uuid": uuid.UUID,
    "timestamp": _timestamp,
    "binary": bytes.fromhex,
}


def parse_property(text: str) -> tuple[str, Any]:
    """``key=value`` (a string) or ``key:TYPE=value``; raises CliError if malformed."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CliError(ExitCode.USAGE, f"--property {text!r}: use key=value or key:TYPE=value")
    name, colon, kind = key.rpartition(":")
    if not colon or kind not in PROPERTY_TYPES:
        return key, value
    try:
        return name, PROPERTY_TYPES[kind](value)
    except (ValueError, OverflowError) as exc:
        raise CliError(ExitCode.USAGE, f"--property {text!r}: not a {kind}: {exc}") from None


def add_send_parser(subparsers: Any) -> None:
    p = add_subcommand(
        subparsers, "send", help="send messages to an address",
        description="Send messages to ADDRESS: the --body text, the --file contents, or "
                    "one message per line of standard input. Each is a data section "
                    "(binary), unless --amqp-value. Waits until the peer accepts each one "
                    "(pipelined), then prints a summary on stderr.")
    p.add_argument("url", help="amqp://[user:password@]host[:port] or amqps://...; "
                                  "several, separated by commas, are a failover list")
    p.add_argument("address", help="the node to send to (a queue or topic name)")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT", help="the message body (UTF-8)")
    body.add_argument("--file", metavar="FILE",
                      help="the message body: the file's bytes as one data section "
                           "('-' reads all of stdin as one message)")
    p.add_argument("--count", type=whole_number(0), metavar="N",
                   help="send the body N times (default 1); with stdin lines: at most N lines")
    p.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                   help="an application property (repeatable); a string, or typed as "
                        f"KEY:TYPE=VALUE with TYPE one of {', '.join(PROPERTY_TYPES)} "
                        "(int is a 64-bit long, float a double, timestamp ISO 8601 with "
                        "a zone, binary hex)")
    p.add_argument("--subject", help="the subject property")
    p.add_argument("--content-type", help="the content-type property (e.g. text/plain)")
    p.add_argument("--amqp-value", action="store_true",
                   help="send the body as an amqp-value section (a string, or binary for "
                        "--file) instead of a data section")
    p.add_argument("--settled", action="store_true",
                   help="send pre-settled (at most once): do not wait for outcomes")
    p.add_argument("--timeout", type=seconds, default=30.0, metavar="S",
                   help="seconds to wait for the link, credit and each outcome (default: 30)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_connection_options(p)
    p.set_defaults(run=run_send)


def _message(args: argparse.Namespace, payload: bytes, app: dict[str, Any] | None,
             properties: Properties | None) -> bytes:
    """The encoded message for one body (encoded once: a repeated body is sent as bytes)."""
    if args.amqp_value:
        body: Any = AmqpValue(payload if args.file is not None else
                              payload.decode("utf-8", errors="surrogateescape"))
    else:
        body = payload
    return Message(body, properties=properties, application_properties=app).encode()


def _lines(stream: Any, limit: int | None) -> Iterator[bytes]:
    """Each line without its end of line (``\\n`` or ``\\r\\n``); at most ``limit`` of them."""
    if limit == 0:
        return
    for n, line in enumerate(stream, 1):
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        yield line
        if limit is not None and n >= limit:
            return


def _payloads(args: argparse.Namespace) -> tuple[Iterator[bytes], int | None]:
    """The bodies to send and how many (None when reading stdin lines)."""
    stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
    if args.body is not None or args.file is not None:
        if args.body is not None:
            payload = args.body.encode("utf-8", errors="surrogateescape")
        elif args.file == "-":
            payload = stdin.read()
        else:
            try:
                with open(args.file, "rb") as f:
                    payload = f.read()
            except OSError as exc:
                raise CliError(ExitCode.USAGE, f"cannot read {args.file}: "
                                               f"{exc.strerror or exc}") from None
        count = 1 if args.count is None else args.count
        return (payload for _ in range(count)), count
    return _lines(stdin, args.count), args.count


def run_send(args: argparse.Namespace) -> int:
    """Open, attach, send everything pipelined, wait for the last outcome, report."""
    app = dict(parse_property(p) for p in args.property) or None
    properties = None
    if args.subject is not None or args.content_type is not None:
        properties = Properties(subject=args.subject, content_type=args.content_type)
    payloads, total = _payloads(args)
    conn, where = open_connection(args, timeout=args.timeout)
    progress = Progress("sent", total, sys.stderr)
    sent = confirmed = 0
    try:
        session = conn.open_session()
        sender = session.open_sender(args.address,
                                     settle_mode="settled" if args.settled else "unsettled")
        pending: deque[Any] = deque()
        encoded = b""
        last: bytes | None = None
        for payload in payloads:
            if payload is not last:  # a repeated body is encoded once
                encoded, last = _message(args, payload, app, properties), payload
            try:
                pending.append(sender.send_nowait(encoded))
            except LocalProtocolError as exc:  # e.g. above the peer's max-message-size
                raise CliError(ExitCode.OUTCOME, f"message {sent + 1}: {exc}") from None
            sent += 1
            if len(pending) >= PIPELINE:
                sender.wait_settled(pending.popleft())
                confirmed += 1
                progress.update(confirmed)
        while pending:
            sender.wait_settled(pending.popleft())
            confirmed += 1
            progress.update(confirmed)
    except Exception as exc:
        error = explain(exc, where=where, address=args.address)
        if error is None:
            raise
        if error.code == ExitCode.OUTCOME and not error.text.startswith("message "):
            error = CliError(error.code, f"message {confirmed + 1}: {error.text}")
        raise error from None
    finally:
        progress.close()
        conn.close(timeout=min(args.timeout, 5.0))
    if not args.quiet:
        elapsed = progress.elapsed
        sys.stderr.write(f"sent {confirmed:,} message{'s' * (confirmed != 1)} to "
                         f"{args.address!r} in {elapsed:.2f} s "
                         f"({format_rate(confirmed, elapsed)})\n")
    return ExitCode.OK
