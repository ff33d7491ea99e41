"""HTTP CONNECT proxies (RFC 9110 9.3.6), sans-IO: which proxy a URL goes through, the
request that opens the tunnel, and the reading of the proxy's answer.

An adapter connects its socket to the proxy, writes :meth:`ProxyHandshake.data_to_send`,
feeds what it reads to :meth:`ProxyHandshake.receive_data` until ``done``, and then
speaks through the tunnel as if connected to the broker: TLS (``amqps``, ``amqpwss``),
the WebSocket upgrade (``amqpws``) and AMQP all go inside it, so TLS verifies the
broker, never the proxy. A refusal (407, 403, 502 ...) is a :class:`ProxyError` naming
the proxy and its status; a proxy that answers something other than HTTP, or an endless
header, is one too, never a hang nor unbounded memory.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn
from urllib.parse import unquote, urlsplit

from ._errors import ProxyAuthenticationError, ProxyError
from ._url import ParsedURL

# ProxyError and ProxyAuthenticationError are amqp10_proto.errors', re-exported here.
__all__ = ["MAX_PROXY_RESPONSE", "ProxyAuthenticationError", "ProxyError", "ProxyHandshake",
           "ProxyOption", "ProxyURL", "bypass_proxy", "parse_proxy_url", "proxy_for",
           "proxy_unreachable"]

#: The most bytes of a proxy's answer (status line and headers) read before giving up.
MAX_PROXY_RESPONSE = 16 * 1024

#: ``http_proxy=`` of ``open_connection``: None reads the environment (``HTTPS_PROXY``
#: for TLS URLs, ``HTTP_PROXY`` for ``amqpws://``, each with ``NO_PROXY``), False never
#: uses a proxy, a URL ``http://[user:password@]host[:port]`` always uses that one.
ProxyOption = str | Literal[False] | None


@dataclass(frozen=True)
class ProxyURL:
    """An HTTP proxy: where it listens and the basic credentials to give it, if any."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def where(self) -> str:
        """``host:port``, an IPv6 host in brackets."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never show the password
        user = "" if self.username is None else f"{self.username}:***@"
        return f"ProxyURL('http://{user}{self.where}')"


def parse_proxy_url(url: str) -> ProxyURL:
    """``http://[user[:password]@]host[:port]`` (port 8080 by default; a bare
    ``host:port`` as the environment variables often hold is taken as http). Raises
    ValueError for another scheme (an ``https://`` proxy is not supported) or no host."""
    if not isinstance(url, str):
        raise TypeError(f"a proxy URL is a str, not {type(url).__name__}")
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"malformed proxy URL {_hide(url)!r}: {exc}") from None
    if parts.scheme.lower() != "http":
        raise ValueError(f"proxy URL {_hide(url)!r}: only http:// proxies are supported "
                         "(the tunnel itself carries TLS)")
    if not parts.hostname:
        raise ValueError(f"proxy URL {_hide(url)!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"proxy URL {_hide(url)!r}: a path, query or fragment means nothing")
    return ProxyURL(parts.hostname, 8080 if port is None else port,
                    None if parts.username is None else unquote(parts.username),
                    None if parts.password is None else unquote(parts.password))


def _hide(url: str) -> str:
    """``url`` with any password replaced, for error messages."""
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, sep2, userinfo = head.rpartition("://")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep2}{user}:***@{tail}" if ":" in userinfo else url


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """The variable in lower case first (curl's rule), then upper case; empty is unset."""
    for key in (name.lower(), name.upper()):
        value = environ.get(key)
        if value:
            return value
    return None


def bypass_proxy(host: str, port: int, no_proxy: str | None) -> bool:
    """Whether ``NO_PROXY`` exempts ``host:port``: ``*``; a name matching the host or a
    parent domain (``example.com`` and ``.example.com`` both cover ``a.example.com``);
    an IP address or network (``10.0.0.0/8``); any entry may end in ``:port``."""
    if not no_proxy:
        return False
    name = host.lower().strip("[]").rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.startswith("["):  # [v6]:port or [v6]
            inside, _, rest = entry[1:].partition("]")
            entry, rest = inside, rest.lstrip(":")
            entry_port = int(rest) if rest.isdigit() else None
        elif entry.count(":") == 1:
            entry, _, text = entry.partition(":")
            entry_port = int(text) if text.isdigit() else None
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip("*").lstrip(".").rstrip(".")
        if entry and (name == entry or name.endswith("." + entry)):
            return True
    return False


def proxy_for(url: ParsedURL, http_proxy: ProxyOption = None,
              environ: Mapping[str, str] | None = None) -> ProxyURL | None:
    """The proxy to reach ``url`` through, or None for a direct connection.

    ``http_proxy`` a URL: that proxy, always. False: none. None: the environment
    (``environ``, the adapters pass ``os.environ``): ``HTTPS_PROXY`` for TLS URLs
    (``amqps``, ``amqpwss``), ``HTTP_PROXY`` for ``amqpws``, nothing for plain
    ``amqp://`` (an HTTP proxy variable is not meant for raw TCP to a plain port), and
    ``NO_PROXY`` exempts hosts. Raises ValueError for a malformed proxy URL.
    """
    if http_proxy is False:
        return None
    if http_proxy is not None:
        if http_proxy is True:  # type: ignore[comparison-overlap]  # a caller's slip
            raise TypeError("http_proxy is a proxy URL, False or None; not True")
        return parse_proxy_url(http_proxy)
    if environ is None:
        return None
    if url.tls:
        value = _env(environ, "https_proxy")
    elif url.ws:
        value = _env(environ, "http_proxy")
    else:
        return None
    if value is None or bypass_proxy(url.host, url.port, _env(environ, "no_proxy")):
        return None
    return parse_proxy_url(value)


def proxy_unreachable(proxy: ProxyURL, why: str) -> ProxyError:
    """What every adapter raises when the TCP connect to ``proxy`` fails (refused,
    unreachable, unknown host; ``why`` says which): a ProxyError with no status, never
    the OSError itself, which would read as the broker's refusal."""
    return ProxyError(f"cannot reach the HTTP proxy {proxy.where}: {why}", proxy=proxy.where)


class ProxyHandshake:
    """One HTTP CONNECT exchange with ``proxy`` for a tunnel to ``host:port``.

    ``data_to_send()`` is the request (once); ``receive_data(data)`` takes the proxy's
    bytes (``b""`` when it closed) until ``done``; ``trailing`` is what came after the
    answer's header block (the tunnel's first bytes, rarely any). A refusal or anything
    unexpected raises :class:`ProxyError`.
    """

    def __init__(self, proxy: ProxyURL, host: str, port: int, *,
                 max_response: int = MAX_PROXY_RESPONSE) -> None:
        if not host or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"no tunnel to {host!r}:{port!r}")
        self.proxy = proxy
        self.target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.done = False
        self.trailing = b""
        self._max = max_response
        self._buffer = bytearray()
        lines = [f"CONNECT {self.target} HTTP/1.1", f"Host: {self.target}"]
        if proxy.username is not None:
            pair = f"{proxy.username}:{proxy.password or ''}".encode()
            lines.append("Proxy-Authorization: Basic " + base64.b64encode(pair).decode("ascii"))
        self._request: bytes | None = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def data_to_send(self) -> bytes:
        """The CONNECT request the first time, then nothing."""
        request, self._request = self._request, None
        return request or b""

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Take bytes from the proxy; ``done`` once a 2xx answer's header block ended."""
        if self.done:
            raise ValueError("the tunnel is open: its bytes are the connection's, not the proxy's")
        if not data:
            raise ProxyError(f"the HTTP proxy {self.proxy.where} closed the connection before "
                             f"answering CONNECT {self.target}", proxy=self.proxy.where)
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > self._max:
                raise ProxyError(f"the HTTP proxy {self.proxy.where} sent more than "
                                 f"{self._max} bytes without ending its answer's headers",
                                 proxy=self.proxy.where)
            if not self._buffer.startswith(b"HTTP/"[:len(self._buffer)]):
                self._not_http()
            return
        head = bytes(self._buffer[:end])
        self.trailing = bytes(self._buffer[end + 4:])
        self._buffer = bytearray()
        status, reason = self._status(head)
        if 200 <= status < 300:
            self.done = True
            return
        where = self.proxy.where
        said = f"{status} {reason}".strip()
        if status in (401, 407):  # 407 is the rule (RFC 9110 15.5.8); tinyproxy says 401
            given = "the credentials given were refused" if self.proxy.username is not None \
                else "it asks for credentials: give them in the proxy URL (http://user:password@host:port)"
            raise ProxyAuthenticationError(
                f"the HTTP proxy {where} refused CONNECT {self.target} ({said}): {given}",
                proxy=where, status=status)
        raise ProxyError(f"the HTTP proxy {where} refused CONNECT {self.target} ({said})",
                         proxy=where, status=status)

    def _status(self, head: bytes) -> tuple[int, str]:
        line = head.split(b"\r\n", 1)[0]
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 \
                or not parts[1].isdigit():
            self._not_http()
        reason = parts[2].decode("latin-1", "replace") if len(parts) == 3 else ""
        return int(parts[1]), reason[:200]

    def _not_http(self) -> NoReturn:
        raise ProxyError(f"{self.proxy.where} did not answer as an HTTP proxy "
                         f"(first bytes {bytes(self._buffer[:16])!r})", proxy=self.proxy.where)
