"""Fresh keys for each run, in the formats Kalshi hands out.

RSA-2048 as PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) and Ed25519 as PKCS#8 PEM, unencrypted:
throwaway keys that only the loopback server ever sees.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bench.common import KEY_FILES


def write_keys(folder: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1
        serialization.NoEncryption(),
    )
    ed_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for kind, pem in (("rsa", rsa_pem), ("ed25519", ed_pem)):
        path = folder / KEY_FILES[kind]
        path.write_bytes(pem)
        path.chmod(0o600)
