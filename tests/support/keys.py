"""Test keys, made once per session (RSA key generation is slow) and written as PEM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PASSWORD = b"correct horse battery staple"


@dataclass(frozen=True)
class KeyFiles:
    """One test key: its private PEM on disk (mode 0600), and its public PEM."""

    name: str
    path: Path
    pem: bytes
    public_pem: bytes
    password: bytes | None = None


def _write(directory: Path, name: str, pem: bytes) -> Path:
    path = directory / f"{name}.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


def make_key_files(directory: Path) -> dict[str, KeyFiles]:
    """PKCS#1 RSA, PKCS#8 RSA, PKCS#8 Ed25519 and an encrypted PKCS#8 RSA key."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    rsa_public = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ed_public = ed_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pems = {
        "rsa_pkcs1": (
            rsa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
            rsa_public,
            None,
        ),
        "rsa_pkcs8": (
            rsa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            rsa_public,
            None,
        ),
        "ed25519": (
            ed_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            ed_public,
            None,
        ),
        "rsa_encrypted": (
            rsa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSWORD),
            ),
            rsa_public,
            PASSWORD,
        ),
    }
    return {
        name: KeyFiles(name, _write(directory, name, pem), pem, public, password)
        for name, (pem, public, password) in pems.items()
    }
