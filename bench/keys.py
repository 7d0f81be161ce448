"""Fresh keys and a fresh CA for each run: nothing here outlives the bench's temporary folder.

RSA-2048 as PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) and Ed25519 as PKCS#8 PEM, as Kalshi
hands them out. The CA (trustme) signs the server's certificate for 127.0.0.1 and
localhost; every client is told to trust ca.pem, each through its own configuration.
ca.pem is certifi's bundle plus that CA, so a client that loads it when it connects pays
what it pays in production (some 140 certificates, ~20 ms here), not a one-line file's cost.
"""

from __future__ import annotations

from pathlib import Path

import certifi
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bench.common import CA_FILE, KEY_FILES, SERVER_CERT_FILE


def write_keys(folder: Path) -> None:
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
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
    ca = trustme.CA()
    (folder / CA_FILE).write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca.cert_pem.bytes())
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(folder / SERVER_CERT_FILE)
    )
