"""Parse ``amqp://``, ``amqps://``, ``amqpws://`` and ``amqpwss://`` URLs into what a
connection needs (the last two: AMQP over WebSocket, the names Apache Qpid JMS uses)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["ParsedURL", "is_loopback", "parse_url"]

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "amqpws": 80, "amqpwss": 443}
#: The schemes that carry AMQP in WebSocket binary messages (OASIS AMQP WebSocket Binding).
WS_SCHEMES = frozenset({"amqpws", "amqpwss"})


@dataclass(frozen=True)
class ParsedURL:
    """The parts of an AMQP URL: where to connect, whether TLS, the credentials, and the
    virtual host its path names (None without one); for ``amqpws``/``amqpwss`` the path
    is instead the WebSocket upgrade's request target (``path``, ``/`` by default)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    vhost: str | None = None
    #: The WebSocket request target (path and query, as written) of a ws URL; else None.
    path: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme in ("amqps", "amqpwss")

    @property
    def ws(self) -> bool:
        """Whether AMQP travels over WebSocket (``amqpws://``, ``amqpwss://``)."""
        return self.scheme in WS_SCHEMES

    @property
    def ws_host(self) -> str:
        """The upgrade request's Host header (RFC 6455 4.1): the host, ``:port`` unless it
        is the scheme's default (80 or 443), an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS.get(self.scheme) else f"{host}:{self.port}"

    @property
    def where(self) -> str:
        """``host:port``, an IPv6 host in brackets (``[::1]:5672``)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def open_hostname(self) -> str:
        """The open's hostname (2.7.1): ``vhost:NAME`` for a path's virtual host (the form
        RabbitMQ reads), else the host."""
        return self.host if self.vhost is None else f"vhost:{self.vhost}"

    def __repr__(self) -> str:  # never show the password
        user = "" if self.username is None else f"{self.username}:***@"
        path = "" if self.vhost is None else f"/{self.vhost}"
        if self.path is not None:
            path = self.path
        return f"ParsedURL('{self.scheme}://{user}{self.where}{path}')"


def parse_url(url: str) -> ParsedURL:
    """``amqp[s]://[user[:password]@]host[:port][/vhost]``, user, password and vhost
    percent-decoded; an IPv6 host in brackets (``amqp://[::1]:5672``).

    A path names a virtual host (``/`` or none: the broker's default), sent as the
    open's hostname ``vhost:NAME`` as RabbitMQ expects. Raises ValueError, saying why,
    for anything it would otherwise ignore: a query (options are keyword arguments), a
    fragment, a path of more than one segment, a bad host or port.

    ``amqpws[s]://[user[:password]@]host[:port][/any/path[?query]]`` (default ports 80
    and 443) is AMQP over WebSocket: the path and query, as written, are the upgrade's
    request target (``path``; ``/`` when none), e.g. Azure's ``/$servicebus/websocket``.
    """
    if not isinstance(url, str):
        raise TypeError(f"a URL is a str, not {type(url).__name__}")
    shown = _redact(url)
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if netloc.count(":") > 1 and not netloc.startswith("["):
        raise ValueError(f"bad URL {shown!r}: an IPv6 host goes in brackets, "
                         f"e.g. {scheme}://[::1]:{DEFAULT_PORTS.get(scheme.lower(), 5672)}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad URL {shown!r}: {_why(exc)}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {shown!r}: "
                         "use amqp://, amqps://, amqpws:// or amqpwss://")
    if not host:
        raise ValueError(f"no host in URL {shown!r}")
    if "[" in parts.netloc:
        address = unquote(host)
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise ValueError(f"bad URL {shown!r}: {host!r} in brackets is not an IPv6 "
                             "address") from None
        host = address  # a zone (fe80::1%25eth0) percent-decoded for the socket
    if port == 0:
        raise ValueError(f"bad port in URL {shown!r}: 0 (leave the port out for the default "
                         f"{DEFAULT_PORTS[scheme]})")
    if parts.fragment:
        raise ValueError(f"URL {shown!r} has a fragment ({parts.fragment!r}): remove it")
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    port = port or DEFAULT_PORTS[scheme]
    if scheme in WS_SCHEMES:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not target.startswith("/") or not all("!" <= c <= "~" for c in target):
            raise ValueError(f"URL {shown!r}: the WebSocket path {target!r} must be printable "
                             "ASCII without spaces: percent-encode the rest (%20)")
        return ParsedURL(scheme, host, port, username, password, None, target)
    if parts.query:
        raise ValueError(f"URL {shown!r} has a query ({parts.query!r}) that this client does "
                         "not read: give options as keyword arguments (idle_timeout=..., "
                         "hostname=...)")
    vhost = None
    path = parts.path
    if path not in ("", "/"):
        name = path[1:]
        if "/" in name:
            raise ValueError(f"URL {shown!r}: the path names one virtual host; write a "
                             "'/' inside its name as %2F")
        vhost = unquote(name)
    return ParsedURL(scheme, host, port, username, password, vhost)


def _why(exc: ValueError) -> str:
    text = str(exc)
    if "Invalid IPv6 URL" in text:
        return "a '[' without its ']': an IPv6 host is written in brackets, e.g. [::1]:5672"
    if "appear to be an IPv4 or IPv6" in text:
        return f"{text}: only an IPv6 address goes in brackets"
    if "Port" in text or "port" in text:
        return f"bad port: {text}"
    return text


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (where PLAIN without TLS is harmless)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _redact(url: str) -> str:
    """The URL with its password (if any) as ``***``, even when it does not parse."""
    head, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.partition("@")
    if not sep or not at or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{head}://{userinfo.partition(':')[0]}:***@{hostpart}"
