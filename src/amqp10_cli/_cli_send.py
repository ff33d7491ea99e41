"""``amqp10 send``: messages from an option, a file or stdin lines, pipelined to one address.

Sends go out with ``send_nowait`` and their outcomes are collected in a bounded
window, so a large ``--count`` runs at the link's pace rather than one round
trip per message; the first message the peer does not accept stops the command.
With ``--json`` each message is a whole one, as ``receive --json`` prints it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from amqp10_proto import AmqpValue, Message, Properties, Symbol, UInt, ULong
from amqp10_proto.errors import LocalProtocolError
from amqp10_sync import Queued

from ._cli_common import (
    CLIENT_EXIT_CODES,
    CliError,
    ExitCode,
    add_connection_options,
    add_subcommand,
    connect,
    explain,
    prepare_connection,
    seconds,
    whole_number,
)
from ._cli_json import JsonFormError, parse_message
from ._progress import Progress, messages, summary

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
    """``key=value`` (a string) or ``key:TYPE=value``; raises CliError if malformed.

    A key that holds a colon itself is given with its type: ``a:b:str=value``.
    """
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CliError(ExitCode.USAGE, f"--property {text!r}: use key=value or key:TYPE=value")
    name, colon, kind = key.rpartition(":")
    if not colon:
        return key, value
    if kind not in PROPERTY_TYPES or not name:
        raise CliError(ExitCode.USAGE, f"--property {text!r}: unknown type {kind!r} (one of "
                                       f"{', '.join(PROPERTY_TYPES)}; a key with a colon is "
                                       f"given with its type, as in a:b:str=value)")
    try:
        return name, PROPERTY_TYPES[kind](value)
    except (ValueError, OverflowError) as exc:
        raise CliError(ExitCode.USAGE, f"--property {text!r}: not a {kind}: {exc}") from None


def add_send_parser(subparsers: Any) -> None:
    p = add_subcommand(
        subparsers, "send", help="send messages to an address",
        description="Send messages to ADDRESS: the --body text, the --file contents, or "
                    "one message per line of standard input. Each is a data section "
                    "(binary), unless --amqp-value; with --json each is a whole message as "
                    "'amqp10 receive --json' prints it. Waits until the peer accepts each "
                    "one (pipelined), then prints a summary on stderr.",
        exit_codes={**CLIENT_EXIT_CODES,
                    ExitCode.USAGE: "bad arguments or URL, or a --json line that is not a "
                                    "message",
                    ExitCode.OUTCOME: None})
    p.add_argument("url", help="amqp://[user:password@]host[:port] or amqps://...; "
                                  "several, separated by commas, are a failover list")
    p.add_argument("address", help="the node to send to (a queue or topic name)")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT", help="the message body (UTF-8); with --json "
                                                     "the message as a JSON object")
    body.add_argument("--file", metavar="FILE",
                      help="the message body: the file's bytes as one data section "
                           "('-' reads all of stdin as one message); with --json a file "
                           "of messages, one JSON object per line")
    p.add_argument("--count", type=whole_number(0), metavar="N",
                   help="send the body N times (default 1); with lines: at most N lines. "
                        "0: no limit (the body until Ctrl-C, every line)")
    p.add_argument("--json", action="store_true",
                   help="each message is a JSON object as 'amqp10 receive --json' prints "
                        "it: every section and AMQP type kept, so a pipe from receive "
                        "--json to send --json moves messages between brokers unchanged")
    p.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                   help="an application property (repeatable); a string, or typed as "
                        f"KEY:TYPE=VALUE with TYPE one of {', '.join(PROPERTY_TYPES)} "
                        "(int is a 64-bit long, float a double, timestamp ISO 8601 with "
                        "a zone, binary hex); another TYPE is an error")
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


def _stdin() -> Any:
    return sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin


def _on_terminal() -> bool:
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty()) if isatty is not None else False


def _lines(stream: Any, limit: int | None) -> Iterator[tuple[int, bytes]]:
    """Each line (numbered from 1) without its end of line (``\\n`` or ``\\r\\n``); at
    most ``limit`` of them."""
    for n, line in enumerate(stream, 1):
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        yield n, line
        if limit is not None and n >= limit:
            return


def _read_file(name: str) -> bytes:
    try:
        with open(name, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CliError(ExitCode.USAGE, f"cannot read {name}: {exc.strerror or exc}") from None


def _json_message(text: bytes, where: str) -> Message:
    try:
        return parse_message(text)
    except JsonFormError as exc:
        raise CliError(ExitCode.USAGE, f"{where} is not a message: {exc}") from None


class _Source:
    """The messages to send, as the options say; ``empty`` once it gave none."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        #: ``--count`` as a limit: None for none (0, or lines without --count).
        self.limit: int | None = args.count or None
        self.repeat = 1 if args.count is None else self.limit  # for one body: None is endless
        self.from_stdin = args.body is None and args.file in (None, "-")
        self.lines = args.body is None and (args.file is None or args.json)
        app = dict(parse_property(p) for p in args.property) or None
        self.app = app
        self.properties = None
        if args.subject is not None or args.content_type is not None:
            self.properties = Properties(subject=args.subject, content_type=args.content_type)
        if args.json and (app or self.properties or args.amqp_value):
            raise CliError(ExitCode.USAGE, "--json messages carry their own sections: "
                                           "--property, --subject, --content-type and "
                                           "--amqp-value do not go with it")

    @property
    def total(self) -> int | None:
        """How many messages, if known before reading them."""
        return None if self.lines else self.repeat

    def hint(self) -> str | None:
        """What to tell someone typing the input on a terminal."""
        if not self.from_stdin or not _on_terminal():
            return None
        if not self.lines:
            return "reading one message from standard input (Ctrl-D to end)"
        kind = "JSON messages" if self.args.json else "messages"
        return f"reading {kind} from standard input, one per line (Ctrl-D to end)"

    def _message(self, payload: bytes) -> Message:
        if self.args.amqp_value:
            body: Any = AmqpValue(payload if self.args.file is not None else
                                  payload.decode("utf-8", errors="surrogateescape"))
        else:
            body = payload
        return Message(body, properties=self.properties, application_properties=self.app)

    def __iter__(self) -> Iterator[Message]:
        args = self.args
        if self.lines:
            yield from self._from_lines()
            return
        if args.body is not None:
            text = args.body.encode("utf-8", errors="surrogateescape")
            message = _json_message(text, "--body") if args.json else self._message(text)
        elif args.file == "-":
            payload = _stdin().read()
            if not payload:
                return  # nothing on stdin, nothing to send (an empty body is --body '')
            message = self._message(payload)
        else:
            message = self._message(_read_file(args.file))
        yield from (itertools.repeat(message) if self.repeat is None else
                    itertools.repeat(message, self.repeat))

    def _from_lines(self) -> Iterator[Message]:
        args = self.args
        if args.file is None or args.file == "-":
            stream, opened = _stdin(), False
        else:
            try:
                stream, opened = open(args.file, "rb"), True  # noqa: SIM115 (closed below)
            except OSError as exc:
                raise CliError(ExitCode.USAGE, f"cannot read {args.file}: "
                                               f"{exc.strerror or exc}") from None
        try:
            for n, line in _lines(stream, self.limit):
                if not args.json:
                    yield self._message(line)
                elif line.strip():  # JSON lines: a blank line is no message
                    yield _json_message(line, f"line {n}")
        finally:
            if opened:
                stream.close()


def _settled(handle: Any) -> bool:
    """Whether the peer settled this send already (then waiting for it does not block)."""
    delivery = handle.delivery if isinstance(handle, Queued) else handle
    return delivery is not None and bool(delivery.remote_settled)


class _Pipeline:
    """Sends in flight, their outcomes collected in order, at most PIPELINE of them."""

    def __init__(self, sender: Any, progress: Progress) -> None:
        self.sender = sender
        self.progress = progress
        self.pending: deque[Any] = deque()
        self.sent = self.confirmed = 0

    def send(self, message: Message) -> None:
        try:
            self.pending.append(self.sender.send_nowait(message))
        except LocalProtocolError as exc:  # e.g. above the peer's max-message-size
            raise CliError(ExitCode.OUTCOME, f"message {self.sent + 1}: {exc}") from None
        self.sent += 1
        while self.pending and (len(self.pending) >= PIPELINE or _settled(self.pending[0])):
            self._confirm()

    def _confirm(self) -> None:
        self.sender.wait_settled(self.pending.popleft())
        self.confirmed += 1
        self.progress.update(self.confirmed)

    def finish(self) -> None:
        while self.pending:
            self._confirm()

    def settled_now(self) -> int:
        """Confirmed sends, and those the peer settled since (without waiting)."""
        return self.confirmed + sum(1 for h in self.pending if _settled(h))


def _interrupted(args: argparse.Namespace, pipeline: _Pipeline | None) -> str:
    sent = pipeline.sent if pipeline is not None else 0
    text = f"interrupted: sent {messages(sent)} to {args.address!r}"
    if pipeline is not None and sent and not args.settled:
        settled = pipeline.settled_now()
        text += f", {settled:,} of them accepted" if settled < sent else ", all accepted"
    return text


def run_send(args: argparse.Namespace) -> int:
    """Check, open, attach, send everything pipelined, wait for the last outcome, report."""
    source = _Source(args)
    target = prepare_connection(args)
    progress = Progress("sent", source.total, sys.stderr)
    pipeline: _Pipeline | None = None
    try:
        conn = connect(args, target, timeout=args.timeout)
        try:
            session = conn.open_session()
            sender = session.open_sender(
                args.address, settle_mode="settled" if args.settled else "unsettled")
            pipeline = _Pipeline(sender, progress)
            hint = source.hint()
            if hint is not None:
                sys.stderr.write(f"amqp10: {hint}\n")
                sys.stderr.flush()
            for message in source:
                pipeline.send(message)
            pipeline.finish()
        finally:
            progress.close()
            conn.close(timeout=min(args.timeout, 5.0))
    except KeyboardInterrupt:
        progress.close()
        if not args.quiet:
            sys.stderr.write(f"amqp10: {_interrupted(args, pipeline)}\n")
        raise
    except CliError as exc:
        if pipeline is not None and pipeline.sent and exc.code == ExitCode.USAGE:
            exc = CliError(exc.code, f"{exc.text} (after {messages(pipeline.sent)} sent)")
        raise exc from None
    except Exception as exc:
        error = explain(exc, where=target.where, address=args.address)
        if error is None:
            raise
        if error.code == ExitCode.OUTCOME and not error.text.startswith("message "):
            confirmed = pipeline.confirmed if pipeline is not None else 0
            error = CliError(error.code, f"message {confirmed + 1}: {error.text}")
        raise error from None
    if not args.quiet:
        if pipeline.sent == 0 and source.from_stdin:
            sys.stderr.write(f"sent nothing to {args.address!r}: standard input was empty\n")
        else:
            sys.stderr.write(summary(f"sent ... to {args.address!r}", pipeline.confirmed,
                                     progress.elapsed) + "\n")
    return ExitCode.OK
