"""tinyproxy (the Debian package) on loopback, as the HTTP CONNECT proxy of the proxy tests.

Two instances per test session: one open (``OPEN``), one that wants basic credentials
(``AUTH``, user ``alice``, password ``s3cret``). Both allow CONNECT to any port. A
missing tinyproxy fails the tests that need it (scripts/test.sh installs it), never
skips them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AUTH", "OPEN", "Proxy", "start_proxy", "stop_proxies"]

USER, PASSWORD = "alice", "s3cret"


@dataclass(frozen=True)
class Proxy:
    """A running tinyproxy: its port, and the URL to give ``http_proxy=``."""

    port: int
    auth: bool

    @property
    def url(self) -> str:
        """The proxy's URL, with the credentials when it wants them."""
        cred = f"{USER}:{PASSWORD}@" if self.auth else ""
        return f"http://{cred}127.0.0.1:{self.port}"

    @property
    def url_without_credentials(self) -> str:
        return f"http://127.0.0.1:{self.port}"


OPEN = Proxy(35861, auth=False)
AUTH = Proxy(35862, auth=True)

_running: dict[int, subprocess.Popen[bytes]] = {}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _is_tinyproxy(proxy: Proxy) -> bool:
    """Whether what listens on ``proxy.port`` answers like our tinyproxy: an unauthenticated
    CONNECT to a closed port gets tinyproxy's error (a 5xx; 401/407 when it wants credentials)."""
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as sock:
            sock.sendall(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n")
            answer = sock.recv(256)
    except OSError:
        return False
    status = answer[9:12]
    return b"Server: tinyproxy/" in answer and (status in (b"401", b"407") if proxy.auth
                                                else status.startswith(b"5"))


def start_proxy(proxy: Proxy, timeout: float = 10.0) -> Proxy:
    """Start ``proxy`` (once per process) and wait until it listens; RuntimeError if not."""
    if proxy.port in _running and _running[proxy.port].poll() is None:
        return proxy
    binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    if not Path(binary).exists():
        raise RuntimeError("tinyproxy is not installed (Debian: apt-get install tinyproxy; "
                           "scripts/test.sh installs it when run as root)")
    if _listening(proxy.port):
        if _is_tinyproxy(proxy):
            return proxy  # another test session's (a parallel run): the same configuration
        raise RuntimeError(f"port {proxy.port} is already in use, not by a tinyproxy: "
                           "stop what listens there")
    workdir = Path(tempfile.mkdtemp(prefix=f"amqp10-tinyproxy-{proxy.port}-"))
    lines = [f"Port {proxy.port}", "Listen 127.0.0.1", "Timeout 120", "MaxClients 200",
             "Allow 127.0.0.1", "LogLevel Connect", f"LogFile \"{workdir / 'log'}\""]
    if proxy.auth:
        lines.append(f"BasicAuth {USER} {PASSWORD}")
    (workdir / "tinyproxy.conf").write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([binary, "-d", "-c", str(workdir / "tinyproxy.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _running[proxy.port] = process
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"tinyproxy on port {proxy.port} exited with {process.returncode}"
                               f"; its log: {workdir / 'log'}")
        if _listening(proxy.port):
            return proxy
        time.sleep(0.05)
    raise RuntimeError(f"tinyproxy on port {proxy.port} did not listen within {timeout} s")


def closed_port() -> int:
    """A loopback port nobody listens on (bound a moment, never listening: refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop_proxies() -> None:
    """Stop every tinyproxy this process started."""
    for process in _running.values():
        process.terminate()
    for process in _running.values():
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
    _running.clear()
