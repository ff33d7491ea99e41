"""``amqp10 receive``: messages from one address to stdout, each accepted once written.

At-least-once: a message is accepted only after its line reached stdout (flushed),
so a crash or Ctrl-C in between leaves it unsettled and the broker sends it
again. With ``--count`` the credit granted never exceeds what is still wanted,
so no message is taken from the queue only to be handed back.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from amqp10_proto import Error, ErrorCondition
from amqp10_proto.errors import DecodeError

from ._cli_common import (
    CLIENT_EXIT_CODES,
    CliError,
    ExitCode,
    Target,
    add_connection_options,
    add_subcommand,
    connect,
    explain,
    prepare_connection,
    seconds,
    whole_number,
)
from ._cli_json import body_text, message_json
from ._progress import Progress, messages, summary

__all__ = ["add_receive_parser", "run_receive"]

#: Lines written before stdout is flushed and their messages accepted, at most.
ACCEPT_BATCH = 100


def add_receive_parser(subparsers: Any) -> None:
    p = add_subcommand(
        subparsers, "receive", help="receive messages from an address",
        description="Receive messages from ADDRESS and write them to stdout, one per line: "
                    "the body as text (data bytes as they are, an amqp-value string as "
                    "UTF-8, other values as JSON), or with --json every section as one JSON "
                    "object. Each message is accepted after its line is written. Stops "
                    "after --count messages, or when none arrived for --timeout seconds. "
                    "Without --count that timeout is the normal end (exit 0, even with no "
                    "message); with --count, fewer than N messages is a timeout (exit 7). "
                    "On a terminal, a body that is not printable text is shown as JSON, "
                    "never raw.",
        exit_codes={**CLIENT_EXIT_CODES,
                    ExitCode.TIMEOUT: "timed out, or fewer than --count messages came",
                    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (e.g. | head); "
                                          "unwritten messages stay queued"})
    p.add_argument("url", help="amqp://[user:password@]host[:port] or amqps://...; "
                                  "several, separated by commas, are a failover list")
    p.add_argument("address", help="the node to receive from (a queue name)")
    p.add_argument("--count", type=whole_number(0), metavar="N",
                   help="stop after N messages (default, or 0: no limit, until --timeout)")
    p.add_argument("--timeout", type=lambda t: seconds(t, infinite=True), default=10.0,
                   metavar="S", help="stop when no message arrived for S seconds "
                                     "(default: 10; 'inf' waits for ever)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per message: header, delivery_annotations, "
                        "message_annotations, properties, application_properties, "
                        "body_type, body, footer (binary as {\"$binary\": base64}, "
                        "uuid, timestamp, described values likewise tagged)")
    p.add_argument("--credit", type=whole_number(1), default=100, metavar="N",
                   help="messages the peer may send ahead (default: 100)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_connection_options(p)
    p.set_defaults(run=run_receive)


def _render(msg: Any, as_json: bool, terminal: bool) -> bytes:
    if as_json:
        text = json.dumps(message_json(msg.message), ensure_ascii=terminal)
        return text.encode("utf-8") + b"\n"
    return body_text(msg.message, terminal=terminal) + b"\n"


class _Output:
    """stdout as bytes, with the messages written since the last flush still unaccepted."""

    def __init__(self) -> None:
        self.stream: Any = getattr(sys.stdout, "buffer", None) or sys.stdout
        isatty = getattr(sys.stdout, "isatty", None)
        #: A terminal gets no raw binary (nor control characters) from a body.
        self.terminal = bool(isatty()) if isatty is not None else False
        self.unaccepted: list[Any] = []
        self.accepted = 0

    def write(self, msg: Any, data: bytes) -> None:
        if self.stream is sys.stdout:  # a text stream without .buffer (rare)
            self.stream.write(data.decode("utf-8", errors="replace"))
        else:
            self.stream.write(data)
        self.unaccepted.append(msg)

    def commit(self) -> None:
        """Flush stdout, then accept what it now holds (at least once: never before)."""
        if not self.unaccepted:
            return
        self.stream.flush()
        for msg in self.unaccepted:
            msg.accept()
            self.accepted += 1
        self.unaccepted.clear()


def _top_up(receiver: Any, window: int, wanted: int) -> None:
    """Manual credit for --count: never more outstanding than still wanted (2.6.7)."""
    outstanding = receiver.credit + receiver.buffered
    target = min(window, wanted)
    if outstanding <= target // 2 and target > outstanding:
        receiver.add_credit(target - outstanding)


def _interrupted(args: argparse.Namespace, out: _Output) -> str:
    text = f"interrupted: received {messages(out.accepted)} from {args.address!r}"
    if out.unaccepted:
        text += (f"; {messages(len(out.unaccepted))} more written but not accepted go back "
                 "to the queue")
    return text


def run_receive(args: argparse.Namespace) -> int:
    """Receive until --count or the idle --timeout; write, flush, accept; report."""
    count: int | None = args.count or None  # 0: no limit, as in send
    target = prepare_connection(args)
    progress = Progress("received", count, sys.stderr)
    out = _Output()
    try:
        received, last_at = _receive(args, target, count, progress, out)
    except KeyboardInterrupt:
        progress.close()
        if not args.quiet:
            sys.stderr.write(f"amqp10: {_interrupted(args, out)}\n")
        raise
    if count is not None and received < count:
        raise CliError(ExitCode.TIMEOUT, f"timed out: received {received} of {count} "
                                         f"message{'s' * (count != 1)} from "
                                         f"{args.address!r} (none for {args.timeout:g} s)")
    if not args.quiet:
        sys.stderr.write(summary(f"received ... from {args.address!r}", received,
                                 last_at - progress.started) + "\n")
    return ExitCode.OK


def _receive(args: argparse.Namespace, target: Target, count: int | None, progress: Progress,
             out: _Output) -> tuple[int, float]:
    """The receive loop: how many messages were written, and when the last came."""
    received = 0
    last_at = progress.started
    conn = connect(args, target, timeout=max(args.connect_timeout, 10.0))
    try:
        session = conn.open_session()
        receiver = session.open_receiver(args.address,
                                         credit=args.credit if count is None else 0)
        if count is not None:
            _top_up(receiver, args.credit, count)
        idle_end = time.monotonic() + args.timeout
        slice_ = 0.1 if progress.enabled else 1.0
        while count is None or received < count:
            remaining = idle_end - time.monotonic()
            if remaining <= 0:
                break
            try:
                msg = receiver.receive(timeout=min(remaining, slice_))
            except TimeoutError:
                out.commit()
                progress.idle()
                continue
            try:
                data = _render(msg, args.json, out.terminal)
            except DecodeError as exc:  # a malformed section: say so, refuse it, go on
                sys.stderr.write(f"amqp10: warning: cannot decode a message: {exc}\n")
                msg.reject(Error(condition=ErrorCondition.DECODE_ERROR, description=str(exc)))
                continue
            out.write(msg, data)
            received += 1
            last_at = time.monotonic()
            idle_end = last_at + args.timeout
            if receiver.buffered == 0 or len(out.unaccepted) >= ACCEPT_BATCH:
                out.commit()
            if count is not None:
                _top_up(receiver, args.credit, count - received)
            progress.update(received)
        out.commit()
    except BrokenPipeError:
        # The reader went away (``| head``): what it did not take stays unaccepted and
        # goes back to the queue when we close; main() ends quietly.
        raise
    except Exception as exc:
        error = explain(exc, where=target.where, address=args.address)
        if error is None:
            raise
        raise error from None
    finally:
        progress.close()
        conn.close(timeout=5.0)
    return received, last_at
