"""Parse ``amqp://`` and ``amqps://`` URLs into what a connection needs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["ParsedURL", "is_loopback", "parse_url"]

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}


@dataclass(frozen=True)
class ParsedURL:
    """The parts of an AMQP URL: where to connect, whether TLS, the credentials, and the
    virtual host its path names (None without one)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    vhost: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "amqps"

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
        return f"ParsedURL('{self.scheme}://{user}{self.where}{path}')"


def parse_url(url: str) -> ParsedURL:
    """``amqp[s]://[user[:password]@]host[:port][/vhost]``, user, password and vhost
    percent-decoded; an IPv6 host in brackets (``amqp://[::1]:5672``).

    A path names a virtual host (``/`` or none: the broker's default), sent as the
    open's hostname ``vhost:NAME`` as RabbitMQ expects. Raises ValueError, saying why,
    for anything it would otherwise ignore: a query (options are keyword arguments), a
    fragment, a path of more than one segment, a bad host or port.
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
                         "use amqp:// or amqps://")
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
    if parts.query:
        raise ValueError(f"URL {shown!r} has a query ({parts.query!r}) that this client does "
                         "not read: give options as keyword arguments (idle_timeout=..., "
                         "hostname=...)")
    if parts.fragment:
        raise ValueError(f"URL {shown!r} has a fragment ({parts.fragment!r}): remove it")
    vhost = None
    path = parts.path
    if path not in ("", "/"):
        name = path[1:]
        if "/" in name:
            raise ValueError(f"URL {shown!r}: the path names one virtual host; write a "
                             "'/' inside its name as %2F")
        vhost = unquote(name)
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return ParsedURL(scheme, host, port or DEFAULT_PORTS[scheme], username, password, vhost)


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
