"""Loading the account's private key, and the one object that signs with it.

The key is parsed once; :class:`SigningKey` then costs one signature per request.
The key type is read from the parsed key, never from the PEM header: Kalshi's RSA
keys come as PKCS#1 (``BEGIN RSA PRIVATE KEY``), its Ed25519 keys as PKCS#8
(``BEGIN PRIVATE KEY``), and PKCS#8 may hold either.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from .errors import KalshiKeyError

KeyType = Literal["rsa", "ed25519"]
MIN_RSA_BITS = 2048

# RSA-PSS exactly as Kalshi verifies it: SHA-256, MGF1(SHA-256), 32-byte salt (the
# digest length). PSS.DIGEST_LENGTH would do too; 32 is spelled out because it is the
# number Kalshi documents. Built once: a request should cost the signature only.
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_SHA256 = hashes.SHA256()


class InsecureKeyFileWarning(UserWarning):
    """The private key file can be read by users other than its owner."""


class SigningKey:
    """A parsed private key that signs Kalshi's text-to-sign. Its repr shows the type only."""

    __slots__ = ("_key", "description", "key_type")

    def __init__(self, private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> None:
        if isinstance(private_key, rsa.RSAPrivateKey):
            if private_key.key_size < MIN_RSA_BITS:
                raise KalshiKeyError(
                    f"RSA key is {private_key.key_size} bits; Kalshi needs at least {MIN_RSA_BITS}"
                )
            _self_check(private_key)
            self.key_type: KeyType = "rsa"
            self.description = f"rsa-{private_key.key_size}"
        elif isinstance(private_key, ed25519.Ed25519PrivateKey):
            self.key_type = "ed25519"
            self.description = "ed25519"
        else:
            raise KalshiKeyError(_unsupported(private_key))
        self._key = private_key

    def sign(self, message: bytes) -> bytes:
        """The raw signature of ``message`` (RSA-PSS/SHA-256 or Ed25519)."""
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(message, _PSS, _SHA256)
        return key.sign(message)

    def public_key_pem(self) -> bytes:
        """The public half, as SubjectPublicKeyInfo PEM (what Kalshi's key page shows)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:
        return f"SigningKey({self.description})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the private key wherever the pickle goes (a log, a cache).
        raise TypeError("SigningKey cannot be pickled")


def _self_check(key: rsa.RSAPrivateKey) -> None:
    """Signs and verifies once: a damaged key must fail here, not as 401s later."""
    message = b"kalshi key self-check"
    try:
        key.public_key().verify(key.sign(message, _PSS, _SHA256), message, _PSS, _SHA256)
    except (InvalidSignature, ValueError):
        raise KalshiKeyError("RSA private key failed its self-check: the key file is damaged") from None


def load_private_key(
    source: str | bytes | os.PathLike[str],
    password: str | bytes | None = None,
) -> SigningKey:
    """Loads an RSA (2048+ bits) or Ed25519 private key from a PEM file path or PEM text.

    ``source`` is PEM text when it is ``bytes`` or a ``str`` holding a ``-----BEGIN``
    line, and a file path otherwise. Encrypted keys need ``password``. Every problem
    raises :class:`KalshiKeyError` with a message that names it and never quotes the key.
    """
    if isinstance(source, bytes):
        pem = source
    elif isinstance(source, str) and "-----BEGIN" in source:
        pem = source.encode("utf-8")
    else:
        pem = _read_key_file(source)
    return SigningKey(_parse_pem(pem, password))


# Key material pasted where a path belongs (a PEM body without its BEGIN/END lines).
_LOOKS_LIKE_KEY = re.compile(r"[A-Za-z0-9+/=\s]{64,}")


def _read_key_file(source: str | os.PathLike[str]) -> bytes:
    text = os.fspath(source)
    path = Path(text)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KalshiKeyError(_unreadable(text, exc)) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        # What ssh says about an unprotected key; we warn rather than refuse.
        warnings.warn(
            f"private key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
            InsecureKeyFileWarning,
            stacklevel=3,
        )
    return data


def _unreadable(text: str, exc: OSError) -> str:
    if _LOOKS_LIKE_KEY.fullmatch(text):
        # Never echo it: this is probably the key itself, pasted where a path belongs.
        return (
            "the private key source is neither a readable file nor a PEM block; it looks like "
            "key material without its '-----BEGIN ... PRIVATE KEY-----' lines: pass the whole PEM"
        )
    shown = text if len(text) <= 120 else f"{text[:60]}... ({len(text)} characters)"
    if isinstance(exc, FileNotFoundError):
        return f"private key file not found: {shown}"
    if isinstance(exc, IsADirectoryError):
        return f"private key path is a directory, not a file: {shown}"
    if isinstance(exc, PermissionError):
        return f"private key file is not readable (permission denied): {shown}"
    return f"private key file cannot be read ({exc.strerror}): {shown}"  # name too long, ...


def _parse_pem(pem: bytes, password: str | bytes | None) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    if b"-----BEGIN" not in pem or b"PRIVATE KEY-----" not in pem:
        raise KalshiKeyError("not a PEM private key (expected a '-----BEGIN ... PRIVATE KEY-----' block)")
    secret = password.encode("utf-8") if isinstance(password, str) else password
    encrypted = b"ENCRYPTED" in pem.split(b"-----END", 1)[0][:200] or b"Proc-Type: 4,ENCRYPTED" in pem
    if encrypted and not secret:
        raise KalshiKeyError("private key is encrypted: a password is needed (KALSHI_PRIVATE_KEY_PASSWORD)")
    try:
        # cryptography's RSA validation tests p and q for primality: ~37 ms, a fifth of a
        # bot's start to first amend. The key is the user's own file, OpenSSL checks each
        # CRT signature before releasing it, and SigningKey signs and verifies once on
        # load, so a key that cannot sign correctly is still refused.
        key = serialization.load_pem_private_key(
            pem, password=secret if encrypted else None, unsafe_skip_rsa_key_validation=True
        )
    except UnsupportedAlgorithm:
        raise KalshiKeyError("unsupported private key algorithm: Kalshi accepts RSA and Ed25519") from None
    except (ValueError, TypeError):
        if encrypted:
            raise KalshiKeyError("wrong password for the encrypted private key") from None
        raise KalshiKeyError("not a valid PEM private key (the PEM block could not be parsed)") from None
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise KalshiKeyError(_unsupported(key))


def _unsupported(key: object) -> str:
    kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "") or "unknown"
    return f"unsupported key type {kind}: Kalshi accepts RSA (2048 bits or more) and Ed25519 keys"
