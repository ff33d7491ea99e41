"""Choosing what an adapter connects to and with, and explaining a failed first connect.

The URL(s) of an adapter's ``open_connection`` parsed and checked, and the SASL
mechanisms for it or for its ``connect`` (``DEFAULT``: PLAIN with the URL's
credentials, ANONYMOUS without; never PLAIN in clear text to another host); and the
error a failed first connect raises, saying where it went and what to change.
``amqp10_proto.client`` re-exports these.
"""

from __future__ import annotations

import enum
import errno
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import ConnectionClosedError, ProxyError
from ._sasl import SaslAnonymous, SaslCredentials, SaslPlain
from ._url import ParsedURL, is_loopback, parse_url

if TYPE_CHECKING:
    import ssl

    from ._connection import Connection

__all__ = ["DEFAULT", "SaslOption", "connect_failure", "connect_sasl", "url_mechanisms",
           "url_sasl", "urls_sasl"]


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"


#: "Choose for me": SASL PLAIN when the URL has credentials, ANONYMOUS otherwise.
DEFAULT = _Default.DEFAULT

#: What an adapter's ``sasl=`` takes: mechanisms to offer, None (no SASL layer), or DEFAULT.
SaslOption = SaslCredentials | list[SaslCredentials] | None | _Default


def _check_plain(sasl: Any, tls: bool, host: str, allowed: bool) -> None:
    """Refuse SASL PLAIN in clear text to a host that is not this machine (5.3.3.1)."""
    items = sasl if isinstance(sasl, list) else [sasl]
    if any(isinstance(s, SaslPlain) for s in items) and not tls and not is_loopback(host) \
            and not allowed:
        raise ValueError(
            f"SASL PLAIN would send the password in clear text to {host}: use amqps://, "
            "or pass allow_plain_without_tls=True")


#: OpenSSL's words for a handshake answered by something that is not TLS (a plain AMQP
#: port answers our ClientHello with its protocol header, "AMQP...").
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "packet length too long", "unknown protocol", "http request")


def _refused(exc: BaseException) -> bool:
    """A refused TCP connect, alone or as every error of a group (trio, asyncio try each
    address of a host name)."""
    if isinstance(exc, ConnectionRefusedError):
        return True
    group: Any = getattr(exc.__cause__, "exceptions", None) or getattr(exc, "exceptions", None)
    return bool(group) and all(isinstance(e, ConnectionRefusedError) for e in group)


def connect_failure(exc: BaseException, url: ParsedURL,
                    core: Connection | None = None) -> BaseException:
    """What a first connect to ``url`` raises for its failure ``exc``: the same kind of
    error, saying where (host:port) and, when the port likely speaks the other protocol
    (amqps:// to a plain port, amqp:// to a TLS one; amqpwss:// and amqpws:// for a
    WebSocket URL), what to change. ``core`` is the connection the try opened, if it got
    that far. A ProxyError (the proxy unreachable, or refusing) is said of the proxy
    already, and is never the broker's refusal. Anything else is ``exc`` itself."""
    if isinstance(exc, ProxyError):
        return exc
    where = url.where
    plain, tls, tls_port, kind = (("amqpws", "amqpwss", "443", "WebSocket") if url.ws
                                  else ("amqp", "amqps", "5671", "AMQP"))  # the URL's pair
    if _refused(exc):
        new: BaseException = ConnectionRefusedError(
            errno.ECONNREFUSED, f"connection refused by {where}: nothing listens there "
                                "(is the broker running, and on that port?)")
    elif (tls_error := _ssl_error(exc)) is not None:
        import ssl  # loaded already: there is an SSLError

        said = getattr(tls_error, "reason", None) or tls_error  # (one made by hand has none)
        new = ssl.SSLError(tls_error.errno, f"{where} did not answer in TLS ({said}): is it "
                                            f"a plain {kind} port? Use {plain}:// for a plain "
                                            f"port, {tls}:// for a TLS one ({tls_port} by "
                                            "default)")
    elif isinstance(exc, ConnectionClosedError) and core is not None and not url.tls \
            and not url.ws and core.remote_open is None and _silent_or_tls(core):
        # (Not over WebSocket: a server that took the upgrade speaks no TLS.)
        new = ConnectionClosedError(f"{exc}; {where} never answered in AMQP: if it is a TLS "
                                    "port (5671 by default), use amqps://", exc.error)
    else:
        return exc
    new.__cause__ = exc
    return new


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS handshake error that says the peer does not speak TLS (trio wraps it)."""
    module = sys.modules.get("ssl")  # the core imports no ssl; an SSLError means it is loaded
    if module is None:
        return None
    for e in (exc, exc.__cause__):
        if isinstance(e, module.SSLError) and not isinstance(e, module.SSLCertVerificationError) \
                and any(word in str(e) for word in _NOT_TLS):
            found: ssl.SSLError = e
            return found
    return None


def _silent_or_tls(core: Connection) -> bool:
    """The peer closed before a byte of AMQP (a TLS port drops a plain AMQP header), or
    what it sent began like TLS (a handshake or alert record, 5.2's bytes 0x16 / 0x15)."""
    if core._reader.bytes_received == 0:
        return True
    text = getattr(core.error, "description", None) or ""
    return "protocol header" in text and ("TLS" in text or "bytes 15 03" in text)


def url_sasl(url: str, sasl: SaslOption, *, ssl_context: ssl.SSLContext | None,
             allow_plain_without_tls: bool,
             websocket: bool = False) -> tuple[ParsedURL, SaslCredentials | list[SaslCredentials] | None]:
    """The parsed URL and the SASL mechanisms for an adapter's ``open_connection``.

    DEFAULT means PLAIN with the URL's (percent-decoded) credentials, ANONYMOUS
    without. Raises ValueError for a bad URL, an ``ssl_context`` with amqp://, or
    PLAIN in clear text to another host without the opt-in. ``websocket``: whether the
    adapter's transport speaks ``amqpws://``/``amqpwss://``.
    """
    parsed = parse_url(url)
    if parsed.ws and not websocket:
        # The broker serves AMQP over WebSocket (amqp10_ws); the adapters' transports do
        # not speak it yet: refuse, rather than send plain AMQP to an HTTP port.
        raise ValueError(f"{parsed.scheme}:// is not supported by the adapters yet "
                         "(docs/howto/websocket.md); use amqp:// or amqps://")
    if sasl is DEFAULT:
        if parsed.username is not None:
            sasl = SaslPlain(parsed.username, parsed.password or "")
        else:
            sasl = SaslAnonymous()
    if ssl_context is not None and not parsed.tls:
        raise ValueError("ssl_context given for an amqp:// URL: use amqps:// for TLS")
    _check_plain(sasl, parsed.tls, parsed.host, allow_plain_without_tls)
    return parsed, sasl


def url_mechanisms(parsed: ParsedURL, sasl: SaslOption) -> SaslCredentials | list[SaslCredentials] | None:
    """The SASL mechanisms for one URL of a (failover) list: DEFAULT is PLAIN with its
    credentials, ANONYMOUS without; anything else is the caller's choice as given."""
    if sasl is DEFAULT:
        if parsed.username is not None:
            return SaslPlain(parsed.username, parsed.password or "")
        return SaslAnonymous()
    return sasl


def urls_sasl(urls: str | Sequence[str], sasl: SaslOption, *,
              ssl_context: ssl.SSLContext | None,
              allow_plain_without_tls: bool, websocket: bool = False) -> list[ParsedURL]:
    """Each URL of an adapter's ``open_connection`` (one, or a failover list) parsed and
    checked as :func:`url_sasl` checks one; raises ValueError before anything connects."""
    items = [urls] if isinstance(urls, str) else list(urls)
    if not items:
        raise ValueError("no URL to connect to")
    parsed = []
    for url in items:
        if not isinstance(url, str):
            raise TypeError(f"a URL is a str, not {type(url).__name__}")
        parsed.append(url_sasl(url, sasl, ssl_context=ssl_context,
                               allow_plain_without_tls=allow_plain_without_tls,
                               websocket=websocket)[0])
    return parsed


def connect_sasl(sasl: SaslOption, *, tls: bool, host: str,
                 allow_plain_without_tls: bool) -> SaslCredentials | list[SaslCredentials] | None:
    """The SASL mechanisms for an adapter's ``connect`` over a given stream (DEFAULT: ANONYMOUS)."""
    if sasl is DEFAULT:
        sasl = SaslAnonymous()
    _check_plain(sasl, tls, host, allow_plain_without_tls)
    return sasl
