"""Self-signed node certificates and the described system's thumbprints (SHA-1 of DER, upper hex).

Trust is by pinned thumbprint, never by a CA, so the certificate only needs to be stable and unique.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class NodeCertificate:
    cert_path: Path
    key_path: Path
    thumbprint: str
    subject: str
    not_after: dt.datetime


def thumbprint_of_der(der: bytes) -> str:
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def load_or_create_certificate(folder: Path, common_name: str) -> NodeCertificate:
    cert_path, key_path = folder / "certificate.pem", folder / "certificate.key"
    if not cert_path.exists() or not key_path.exists():
        _create(cert_path, key_path, common_name)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return NodeCertificate(
        cert_path=cert_path,
        key_path=key_path,
        thumbprint=thumbprint_of_der(cert.public_bytes(serialization.Encoding.DER)),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def _create(cert_path: Path, key_path: Path, common_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * 100))
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
