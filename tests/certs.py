"""A test-made PKI for TLS tests: a CA, a server certificate and client certificates.

Made with the ``openssl`` command (EC P-256 keys: quick to generate), valid one day.
``client`` is signed by the CA; ``rogue_client`` has the same subject but signs
itself, so a server that trusts only the CA must refuse it.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CLIENT_CN", "Pki", "make_pki"]

CLIENT_CN = "amqp10-client"
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: tuple[Path, Path]  # certificate, key
    client: tuple[Path, Path]
    rogue_client: tuple[Path, Path]

    def server_context(self, require_client_cert: bool = True) -> ssl.SSLContext:
        """The server's context: its certificate, and (by default) a client one required."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.server[0]), str(self.server[1]))
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(self.ca))
        return ctx

    def client_context(self, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        """A client's context trusting the CA, presenting ``cert`` if given."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _issue(d: Path, name: str, subject: str, ca: tuple[Path, Path] | None,
           extensions: str) -> tuple[Path, Path]:
    key, crt, csr, ext = (d / f"{name}.key", d / f"{name}.pem", d / f"{name}.csr",
                          d / f"{name}.ext")
    ext.write_text(extensions + "\nsubjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid,issuer\n")
    _run("req", *_KEY, "-keyout", str(key), "-out", str(csr), "-subj", subject)
    signer = ["-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial"] if ca else \
        ["-signkey", str(key)]
    _run("x509", "-req", "-in", str(csr), *signer, "-out", str(crt), "-days", "1",
         "-extfile", str(ext))
    return crt, key


def make_pki(d: Path) -> Pki:
    ca_key, ca_crt = d / "ca.key", d / "ca.pem"
    _run("req", "-x509", *_KEY, "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "1",
         "-subj", "/CN=amqp10 test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ca = (ca_crt, ca_key)
    leaf = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    server = _issue(d, "server", "/CN=localhost", ca, leaf + "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1")
    client = _issue(d, "client", f"/CN={CLIENT_CN}", ca, leaf + "extendedKeyUsage=clientAuth")
    rogue = _issue(d, "rogue", f"/CN={CLIENT_CN}", None, leaf + "extendedKeyUsage=clientAuth")
    return Pki(ca_crt, server, client, rogue)
