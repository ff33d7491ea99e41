"""The ``amqp10`` console command: ``send``, ``receive``, ``broker`` and ``demo``.

``main(argv)`` parses the arguments, runs one subcommand and returns its exit
status. Expected failures print one ``amqp10: error: ...`` line (no traceback)
and exit with the small code documented in ``--help``; Ctrl-C exits 130 quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from importlib import metadata

from amqp10_proto.trace import trace_enabled

from ._cli_broker import add_broker_parser
from ._cli_common import EXIT_CODES_HELP, CliError, ExitCode, write_error
from ._cli_receive import add_receive_parser
from ._cli_send import add_send_parser
from ._demo import add_demo_parser

__all__ = ["build_parser", "main"]

_log_handlers: list[tuple[logging.Logger, logging.Handler]] = []


def _version() -> str:
    try:
        return metadata.version("amqp10")
    except metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``amqp10`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="amqp10",
        description="AMQP 1.0 from the command line: send and receive messages, run the\n"
                    "embedded broker, or see the adapters at work with 'amqp10 demo'.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"amqp10 {_version()}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connection events on stderr (-vv: debug; set "
                             "AMQP10_TRACE=1 to see every frame)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (add_send_parser, add_receive_parser, add_broker_parser, add_demo_parser):
        add(subparsers)
    return parser


def _configure_logging(verbosity: int) -> None:
    """Adapter warnings are the error line's business: shown only with -v (or a trace)."""
    for logger, old in _log_handlers:  # main() may run more than once in a process
        logger.removeHandler(old)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    _log_handlers.clear()
    base = logging.getLogger("amqp10")
    handler: logging.Handler
    if verbosity > 0:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("amqp10: %(levelname)s: %(message)s"))
        base.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    else:
        handler = logging.NullHandler()  # no "last resort" printing of warnings
    base.addHandler(handler)
    _log_handlers.append((base, handler))
    if trace_enabled():  # AMQP10_TRACE: every frame on stderr, whatever -v says
        trace = logging.getLogger("amqp10.trace")
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(message)s"))
        trace.addHandler(stream)
        trace.setLevel(logging.DEBUG)
        trace.propagate = False
        _log_handlers.append((trace, stream))


def _quiet_stdout() -> None:
    """stdout's reader is gone: point the descriptor at /dev/null so exit does not complain."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run ``amqp10`` with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    _configure_logging(args.verbose)
    try:
        return int(args.run(args))
    except CliError as exc:
        write_error(exc.text)
        return exc.code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return ExitCode.BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
