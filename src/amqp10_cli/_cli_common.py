"""What the ``amqp10`` subcommands share: exit codes, one-line errors, connection options.

Expected failures (refused, authentication, TLS, unknown address, timeouts, a
rejected message) become a :class:`CliError` with one line of text and a small
exit code, so the command prints that line and no traceback.
"""

from __future__ import annotations

import argparse
import enum
import getpass
import math
import os
import socket
import ssl
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import amqp10_sync
from amqp10_proto import ErrorCondition, SaslAnonymous, SaslExternal, SaslPlain, parse_url
from amqp10_proto.client import describe_error
from amqp10_proto.errors import (
    AuthenticationError,
    ConnectionClosedError,
    DeliveryFailed,
    LinkDetachedError,
    SaslError,
    SessionEndedError,
)

__all__ = [
    "CLIENT_EXIT_CODES",
    "EXIT_CODES_HELP",
    "EXIT_MEANINGS",
    "CliError",
    "ExitCode",
    "add_connection_options",
    "add_subcommand",
    "connect",
    "exit_codes_help",
    "explain",
    "open_connection",
    "prepare_connection",
    "Target",
    "seconds",
    "whole_number",
    "write_error",
]


class ExitCode(enum.IntEnum):
    """The command's exit status; each expected failure has its own."""

    OK = 0
    UNEXPECTED = 1  # an exception nobody expected (with its traceback)
    USAGE = 2  # bad arguments or URL (argparse uses 2 as well)
    CONNECTION = 3  # refused, unreachable, unknown host, closed by the peer
    AUTHENTICATION = 4  # SASL failed (amqp:unauthorized-access)
    TLS = 5  # certificate verification or the TLS handshake failed
    ADDRESS = 6  # address not found (amqp:not-found) or the link refused
    TIMEOUT = 7  # the peer did not answer, or --count messages did not come, in time
    OUTCOME = 8  # the peer rejected, released or modified a message we sent
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # whoever read stdout went away (128 + SIGPIPE)


#: What each exit status means, for the tables in ``--help``.
EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.UNEXPECTED: "unexpected error (printed with a traceback)",
    ExitCode.USAGE: "bad arguments or URL",
    ExitCode.CONNECTION: "connection failed: refused, unreachable, unknown host, closed by "
                         "the peer",
    ExitCode.AUTHENTICATION: "authentication failed",
    ExitCode.TLS: "TLS failed: certificate verification or handshake",
    ExitCode.ADDRESS: "address not found, or the peer refused the link",
    ExitCode.TIMEOUT: "timed out",
    ExitCode.OUTCOME: "the peer did not accept a message we sent (rejected, released, "
                      "modified)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C), after saying how far it got",
    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (e.g. | head)",
}


def exit_codes_help(codes: dict[ExitCode, str | None]) -> str:
    """The ``exit status:`` table of a ``--help``: ``codes`` with their meaning.

    A None meaning is the usual one (:data:`EXIT_MEANINGS`); a text says what the
    code means for this command.
    """
    lines = ["exit status:"]
    for code in sorted(codes):
        lines.append(f"  {int(code):<4} {codes[code] or EXIT_MEANINGS[code]}")
    return "\n".join(lines) + "\n"


#: Every code, for ``amqp10 --help`` (each subcommand lists only its own).
EXIT_CODES_HELP = exit_codes_help(dict.fromkeys(ExitCode))

#: What connecting and opening a link can end in: the codes ``send`` and ``receive`` share.
CLIENT_EXIT_CODES: dict[ExitCode, str | None] = dict.fromkeys([
    ExitCode.OK, ExitCode.UNEXPECTED, ExitCode.USAGE, ExitCode.CONNECTION,
    ExitCode.AUTHENTICATION, ExitCode.TLS, ExitCode.ADDRESS, ExitCode.TIMEOUT,
    ExitCode.INTERRUPTED])


class CliError(Exception):
    """An expected failure: one line for stderr and the exit code that goes with it."""

    def __init__(self, code: ExitCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def write_error(text: str) -> None:
    """``amqp10: error: TEXT`` on stderr, one line."""
    line = " ".join(text.split())  # peers' descriptions may hold newlines
    try:
        sys.stderr.write(f"amqp10: error: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _peer_text(exc: Any) -> str:
    error = getattr(exc, "error", None)
    return describe_error(error) if error is not None else str(exc)


def _auth_text(exc: Any) -> str:
    """``authentication failed: WHY (CONDITION)``: the words said once, though the peer's
    description (and so the library's message) often begins with them too."""
    error = getattr(exc, "error", None)
    why = str((getattr(error, "description", None) if error is not None else None) or exc)
    why = why.removeprefix("authentication failed").lstrip(": ") or "no reason given"
    condition = getattr(error, "condition", None)
    return f"authentication failed: {why}" + (f" ({condition})" if condition else "")


def explain(exc: BaseException, *, where: str = "", address: str | None = None) -> CliError | None:
    """The one-line error for an expected failure, or None for anything else.

    ``where`` is ``host:port`` for connection errors; ``address`` the node a link
    was opened on. RabbitMQ 3.10 reports a refused link as its session's end, so
    SessionEndedError is read like LinkDetachedError.
    """
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return CliError(ExitCode.TLS, f"TLS certificate verification failed: {reason} ({where})")
    if isinstance(exc, ssl.SSLError):
        return CliError(ExitCode.TLS, f"TLS handshake failed: {exc.reason or exc} ({where})")
    if isinstance(exc, ConnectionRefusedError):
        return CliError(ExitCode.CONNECTION, f"connection refused: {where}")
    if isinstance(exc, socket.gaierror):
        return CliError(ExitCode.CONNECTION, f"cannot resolve host of {where}: {exc.strerror}")
    if isinstance(exc, TimeoutError):
        return CliError(ExitCode.TIMEOUT, f"timed out: {exc or 'no answer from ' + where}")
    if isinstance(exc, OSError):
        return CliError(ExitCode.CONNECTION, f"cannot connect to {where}: {exc.strerror or exc}")
    if isinstance(exc, AuthenticationError | SaslError):
        return CliError(ExitCode.AUTHENTICATION, _auth_text(exc))
    if isinstance(exc, LinkDetachedError | SessionEndedError):
        if getattr(exc, "condition", None) == ErrorCondition.NOT_FOUND:
            return CliError(ExitCode.ADDRESS, f"address not found: {address} ({_peer_text(exc)})")
        if getattr(exc, "error", None) is not None:
            return CliError(ExitCode.ADDRESS, f"link to {address!r} refused or ended by the "
                                              f"peer ({_peer_text(exc)})")
        return CliError(ExitCode.ADDRESS, str(exc))
    if isinstance(exc, ConnectionClosedError):
        return CliError(ExitCode.CONNECTION, f"{exc} ({where})")
    if isinstance(exc, DeliveryFailed):
        return CliError(ExitCode.OUTCOME, str(exc))
    return None


# -- parsers --------------------------------------------------------------------------

def add_subcommand(subparsers: Any, name: str, *, help: str, description: str,
                   exit_codes: dict[ExitCode, str | None]) -> argparse.ArgumentParser:
    """A subcommand's parser with what every one has: -v, and in its epilog the exit
    codes it can return (``exit_codes``, see :func:`exit_codes_help`)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, epilog=exit_codes_help(exit_codes),
        description=textwrap.fill(description, 78, break_on_hyphens=False),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    # SUPPRESS: a -v before the subcommand is not reset by this one's default.
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="log connection events on stderr (-vv: debug; set "
                             "AMQP10_TRACE=1 to see every frame)")
    return parser


# -- connection options ---------------------------------------------------------------

def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The options every client subcommand takes: SASL, credentials, TLS, connect timeout."""
    group = parser.add_argument_group("connection")
    group.add_argument("--sasl", choices=["anonymous", "plain", "external", "none"],
                       help="SASL mechanism (default: PLAIN with a user, else ANONYMOUS; "
                            "'none' skips the SASL layer)")
    group.add_argument("--user", help="user name for SASL PLAIN (or put user:password@ in "
                                      "the URL)")
    group.add_argument("--password", help="password for SASL PLAIN (default: the "
                                          "AMQP10_PASSWORD environment variable, else asked "
                                          "for on the terminal)")
    group.add_argument("--allow-plain-without-tls", action="store_true",
                       help="allow SASL PLAIN over amqp:// to a host that is not loopback "
                            "(sends the password in clear text)")
    group.add_argument("--ca", metavar="FILE",
                       help="amqps: trust the CA certificate(s) in this PEM file")
    group.add_argument("--no-verify", action="store_true",
                       help="amqps: do not verify the server's certificate or host name")
    group.add_argument("--cert", metavar="FILE",
                       help="amqps: present this PEM client certificate (for --sasl external)")
    group.add_argument("--key", metavar="FILE",
                       help="amqps: the PEM private key of --cert (if not in its file)")
    group.add_argument("--connect-timeout", type=seconds, default=10.0, metavar="S",
                       help="seconds to connect and open (default: 10)")
    group.add_argument("--container-id", help="our container id (default: random)")
    group.add_argument("--no-reconnect", action="store_true",
                       help="fail on a lost connection instead of reconnecting (by default "
                            "a lost connection is replaced, going round the URLs given)")


def whole_number(low: int, high: int | None = None, what: str = "a whole number"
                 ) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound if None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}: {text!r}")
        return value

    return parse


def seconds(text: str, *, infinite: bool = False) -> float:
    """A positive, finite number of seconds for argparse (``inf`` too if ``infinite``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or (value == math.inf and not infinite) or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0: {text!r}")
    return value


def _password(user: str) -> str:
    """Ask for ``user``'s password on the terminal (not echoed); refuse without one."""
    isatty = getattr(sys.stdin, "isatty", None)
    if isatty is None or not isatty():
        raise CliError(ExitCode.USAGE, f"no password for --user {user}: give --password, "
                                       "set AMQP10_PASSWORD or put user:password@ in the URL "
                                       "(there is no terminal to ask on)")
    try:
        return getpass.getpass(f"password for {user}: ")
    except EOFError:
        raise CliError(ExitCode.USAGE, f"no password for --user {user}") from None


def _sasl(args: argparse.Namespace, url_user: str | None, url_password: str | None) -> Any:
    user = args.user if args.user is not None else url_user
    password = args.password if args.password is not None else url_password
    if password is None and user is not None:
        password = os.environ.get("AMQP10_PASSWORD")
    mechanism = args.sasl or ("plain" if user is not None else "anonymous")
    if mechanism == "plain":
        if user is None:
            raise CliError(ExitCode.USAGE, "--sasl plain needs --user (or user:password@ in "
                                           "the URL)")
        return SaslPlain(user, password if password is not None else _password(user))
    if args.password is not None and args.user is None and url_user is None:
        raise CliError(ExitCode.USAGE, "--password needs --user")
    if mechanism == "external":
        if args.cert is None:
            raise CliError(ExitCode.USAGE, "--sasl external needs a client certificate: "
                                           "--cert FILE (and --key FILE) with an amqps:// URL")
        return SaslExternal()
    if mechanism == "none":
        return None
    return SaslAnonymous()


def _ssl_context(args: argparse.Namespace, tls: bool) -> ssl.SSLContext | None:
    if not tls:
        if args.ca or args.no_verify or args.cert or args.key:
            raise CliError(ExitCode.USAGE, "--ca, --no-verify, --cert and --key are for "
                                           "amqps:// URLs")
        return None
    if args.key is not None and args.cert is None:
        raise CliError(ExitCode.USAGE, "--key goes with --cert")
    try:
        context = ssl.create_default_context(cafile=args.ca)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(ExitCode.USAGE, f"cannot read CA file {args.ca}: {exc}") from None
    if args.no_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if args.cert is not None:
        try:
            context.load_cert_chain(args.cert, args.key)
        except (OSError, ssl.SSLError) as exc:
            raise CliError(ExitCode.USAGE, f"cannot load --cert/--key: {exc}") from None
    return context


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where and how to connect, every option checked (and the password asked for)."""

    urls: list[str]
    where: str  # host:port of the first URL, for errors
    sasl: Any
    ssl_context: ssl.SSLContext | None


def prepare_connection(args: argparse.Namespace) -> Target:
    """Check ``args.url`` (one URL, or several separated by commas: a failover list) and the
    connection options, before any input is read; CliError (usage) if they are wrong."""
    urls = [u.strip() for u in args.url.split(",") if u.strip()]
    try:
        if not urls:
            raise ValueError(f"no URL in {args.url!r}")
        parsed_urls = [parse_url(u) for u in urls]
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, str(exc)) from None
    if len({p.tls for p in parsed_urls}) > 1:
        raise CliError(ExitCode.USAGE, "the URLs of a failover list are all amqp:// or all "
                                       "amqps://")
    parsed = parsed_urls[0]
    context = _ssl_context(args, parsed.tls)
    sasl = _sasl(args, parsed.username, parsed.password)
    return Target(urls=urls, where=f"{parsed.host}:{parsed.port}", sasl=sasl,
                  ssl_context=context)


def connect(args: argparse.Namespace, target: Target, *, timeout: float
            ) -> amqp10_sync.Connection:
    """Open the connection :func:`prepare_connection` checked; CliError for every expected
    failure."""
    try:
        return amqp10_sync.open_connection(
            target.urls, sasl=target.sasl, ssl_context=target.ssl_context,
            connect_timeout=args.connect_timeout, timeout=timeout,
            container_id=args.container_id,
            allow_plain_without_tls=args.allow_plain_without_tls,
            reconnect=not args.no_reconnect)
    except Exception as exc:
        error = explain(exc, where=target.where)
        if error is None and isinstance(exc, ValueError):
            # The adapter refuses PLAIN in clear text to a remote host. (Checked after
            # explain: ssl.SSLCertVerificationError is a ValueError too.)
            error = CliError(ExitCode.USAGE, f"{exc} (option --allow-plain-without-tls)")
        if error is None:
            raise
        raise error from None


def open_connection(args: argparse.Namespace, *, timeout: float) -> tuple[
        amqp10_sync.Connection, str]:
    """:func:`prepare_connection` then :func:`connect`: the connection and ``host:port``."""
    target = prepare_connection(args)
    return connect(args, target, timeout=timeout), target.where
