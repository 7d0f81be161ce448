"""Kalshi request signing, verified the way Kalshi does it.

Signed text: timestamp + METHOD + path, where the path is the raw request path as sent
(percent-encoding preserved, `/trade-api/v2` included, no query string). RSA keys:
RSA-PSS with SHA-256, MGF1(SHA-256) and a salt of exactly 32 bytes. Ed25519: plain.

Only public keys live here; nothing secret is ever handled or logged.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .errors import AuthenticationFailed

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"

# Kalshi's salt is the digest length. MAX_LENGTH/AUTO would also verify some signatures
# Kalshi rejects, hiding a client bug, so the exact length is pinned.
PSS_SALT_LENGTH = 32

_MILLIS = re.compile(r"[0-9]{1,16}")  # ASCII digits only; str.isdigit() accepts "²"

PublicKey = RSAPublicKey | Ed25519PublicKey


@dataclass(frozen=True)
class ApiKey:
    """A registered API key: who owns it and how to check its signatures."""

    key_id: str
    account: str
    public_key: PublicKey
    read_only: bool = False


def load_public_key(pem: str | bytes) -> PublicKey:
    """Parses an RSA or Ed25519 public key (SPKI or PKCS#1 PEM).

    A private key is refused: the exchange must never hold private material.
    """
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    if b"PRIVATE KEY" in data:
        raise ValueError("expected a PUBLIC key PEM, got a private key; register the public half")
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, RSAPublicKey | Ed25519PublicKey):
        raise ValueError(f"unsupported key type {type(key).__name__}: use RSA or Ed25519")
    return key


def signed_text(timestamp: str, method: str, raw_path: bytes) -> bytes:
    return timestamp.encode("ascii") + method.upper().encode("ascii") + raw_path


def signature_is_valid(public_key: PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        # validate=True: standard base64 only; a URL-safe alphabet is a client bug.
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        if isinstance(public_key, Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            public_key.verify(
                signature,
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return False
    return True


def authenticate(
    headers: Mapping[str, str],
    method: str,
    raw_path: bytes,
    *,
    find_key: Callable[[str], ApiKey | None],
    now_ms: int,
    window_ms: int,
) -> ApiKey:
    """Returns the key that signed the request, or raises a 401 `AuthenticationFailed`.

    Checks run cheapest first: headers, key id, timestamp window, then the signature.
    """
    missing = [h for h in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if not headers.get(h)]
    if missing:
        raise AuthenticationFailed(f"missing header(s): {', '.join(missing)}", details="missing_header")
    key_id = headers[KEY_HEADER]
    timestamp = headers[TIMESTAMP_HEADER]
    key = find_key(key_id)
    if key is None:
        raise AuthenticationFailed("unknown API key id", details="INVALID_API_KEY")
    if not _MILLIS.fullmatch(timestamp):
        raise AuthenticationFailed(
            f"{TIMESTAMP_HEADER} must be milliseconds since the epoch, as decimal digits",
            details="INVALID_TIMESTAMP",
        )
    if abs(now_ms - int(timestamp)) > window_ms:
        raise AuthenticationFailed(
            "request timestamp is outside the accepted window", code="header_timestamp_expired"
        )
    message = signed_text(timestamp, method, raw_path)
    if not signature_is_valid(key.public_key, message, headers[SIGNATURE_HEADER]):
        raise AuthenticationFailed("authentication failed", details="INCORRECT_API_KEY_SIGNATURE")
    return key
