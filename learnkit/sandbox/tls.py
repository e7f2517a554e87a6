"""Certificates: the sandbox's own CA and server certificate (trustme), and the demo app's client certificate.

Example: ``tls = make_server_tls(folder, ["127.0.0.1", "localhost"]); requests.get(url, verify=tls.ca_cert)``
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = [
    "ClientCertificate",
    "ServerTLS",
    "make_client_certificate",
    "make_server_tls",
    "private_dir",
    "thumbprints",
    "write_client_certificate",
    "write_private",
]


@dataclass(frozen=True)
class ServerTLS:
    """Paths of the CA certificate (trust it) and of the server's certificate chain and key."""

    ca_cert: Path
    certfile: Path
    keyfile: Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner may read (0600), whatever the umask or the file's old mode.

    Certificates are public, but every file of the sandbox's state is kept the same way: one rule, no exceptions.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.chmod(path, 0o600)
        f.write(data)


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a directory only its owner may enter (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def make_server_tls(folder: Path, hosts: list[str]) -> ServerTLS:
    """A fresh CA and a server certificate for ``hosts``, written into ``folder``.

    Example: ``make_server_tls(Path("/tmp/x"), ["127.0.0.1"]).ca_cert``
    """
    private_dir(folder)
    ca = trustme.CA(organization_name="learnkit sandbox")
    leaf = ca.issue_cert(*hosts)
    tls = ServerTLS(folder / "ca.pem", folder / "server-cert.pem", folder / "server-key.pem")
    write_private(tls.ca_cert, ca.cert_pem.bytes())
    write_private(tls.certfile, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    write_private(tls.keyfile, leaf.private_key_pem.bytes())
    return tls


def make_client_certificate(common_name: str) -> tuple[bytes, bytes]:
    """A self-signed RSA certificate for an app registration: (private key PEM, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def thumbprints(cert_pem: bytes) -> tuple[str, str]:
    """(SHA-1, SHA-256) thumbprints of a certificate, upper-case hex as the Azure portal shows them."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper()


@dataclass(frozen=True)
class ClientCertificate:
    """Where an app's certificate files are, and its thumbprint; the passphrase stays out of repr."""

    private_key_path: str
    certificate_path: str
    pfx_path: str
    thumbprint: str
    thumbprint_sha256: str
    pfx_passphrase: str = ""

    def __repr__(self) -> str:
        return f"ClientCertificate(thumbprint={self.thumbprint!r}, pfx_path={self.pfx_path!r})"

    def to_json(self) -> dict[str, str]:
        """The ``certificate`` entry of ``Sandbox.to_json()["apps"]`` (passphrase included)."""
        return {
            "private_key_path": self.private_key_path,
            "certificate_path": self.certificate_path,
            "pfx_path": self.pfx_path,
            "pfx_passphrase": self.pfx_passphrase,
            "thumbprint": self.thumbprint,
        }


def write_client_certificate(
    folder: Path, name: str, key_pem: bytes, cert_pem: bytes, passphrase: str
) -> ClientCertificate:
    """Write an app's key (PEM), certificate (PEM) and PFX (with passphrase) into ``folder``."""
    private_dir(folder)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = x509.load_pem_x509_certificate(cert_pem)
    pfx = pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, None, serialization.BestAvailableEncryption(passphrase.encode())
    )
    key_path, cert_path, pfx_path = (folder / f"{name}{ext}" for ext in (".key.pem", ".cert.pem", ".pfx"))
    write_private(key_path, key_pem)
    write_private(cert_path, cert_pem)
    write_private(pfx_path, pfx)
    sha1, sha256 = thumbprints(cert_pem)
    return ClientCertificate(str(key_path), str(cert_path), str(pfx_path), sha1, sha256, passphrase)
