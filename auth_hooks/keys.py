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
        return
    except (InvalidSignature, ValueError):
        pass
    # Raised outside the except block: nothing chained.
    raise KalshiKeyError("RSA private key failed its self-check: the key file is damaged")


def load_private_key(
    source: str | bytes | os.PathLike[str],
    password: str | bytes | None = None,
) -> SigningKey:
    """Loads an RSA (2048+ bits) or Ed25519 private key from a PEM file path or PEM text.

    ``source`` is PEM text when it is ``bytes`` or a ``str`` that could not be a file
    path (it has a line break, a ``BEGIN`` or ``PRIVATE KEY`` marker, dashes, or is
    longer than any sane path), and a file path otherwise; ``~`` is expanded. PEM text
    may have its line breaks written as literal ``\\n`` (the usual ``.env`` form).
    Encrypted keys need ``password``; a password for a key that is not encrypted is
    refused (it would hide a mix-up of keys).

    Every problem raises :class:`KalshiKeyError` with a message that names it. The
    message never quotes the key, and the error chains nothing (no ``__cause__``,
    no ``__context__``): the exceptions raised on the way may hold the key text.
    """
    problem: str | None = None
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | None = None
    try:
        key = _parse_pem(_pem_of(source), password)
    except _KeyProblem as exc:
        problem = exc.problem
    if key is None:
        # Raised here, outside the except block, so nothing is chained to it.
        raise KalshiKeyError(problem or "the private key could not be loaded")
    return SigningKey(key)


class _KeyProblem(Exception):
    """Internal: what is wrong with the key, in words that quote none of it."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# A path longer than this is not a path (Linux PATH_MAX is 4096; nobody keeps a key
# that deep): it is key text pasted where a path belongs.
_MAX_PATH_CHARS = 1024
# Markers no file path has and key text has. A str holding any of them is never
# handed to the filesystem, whose errors would quote it (FileNotFoundError.filename).
_TEXT_MARKERS = ("\n", "\r", "\x00", "----", "BEGIN", "PRIVATE KEY")
# A run this long of base64 characters is key material (a path has separators).
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{40,}")
# In a path shown in a message, a run this long of base64 characters that looks random
# (mixed case and digits, or + or =) could be a piece of a key: it is replaced by its length.
_PATH_RUN = re.compile(r"[A-Za-z0-9+/=]{16,}")
_NOT_A_PATH_NOR_PEM = (
    "the private key source is neither a readable file nor a PEM block; it looks like key material "
    "without its '-----BEGIN ... PRIVATE KEY-----' line: pass the whole PEM"
)


def _pem_of(source: object) -> bytes:
    """The PEM bytes of ``source``, reading the file when it is a path."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str):
        if _is_key_text(source):
            return source.encode("utf-8", "replace")
        return _read_key_file(source)
    if isinstance(source, os.PathLike):
        text = os.fspath(source)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if _is_key_text(text):  # a Path made of key text would still be quoted by OSError
            raise _KeyProblem(_NOT_A_PATH_NOR_PEM)
        return _read_key_file(text)
    raise _KeyProblem(
        f"unsupported private key source of type {type(source).__name__}: "
        "pass a file path, PEM text (str or bytes) or a loaded key"
    )


def _is_key_text(text: str) -> bool:
    return len(text) > _MAX_PATH_CHARS or any(marker in text for marker in _TEXT_MARKERS)


def _read_key_file(text: str) -> bytes:
    path = Path(text).expanduser()
    failure: OSError | ValueError | None = None
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a name the OS cannot take (NUL, surrogates)
        failure = exc
    if failure is not None:
        # Raised outside the except block: the OSError (which quotes the name) is not chained.
        raise _KeyProblem(_unreadable(text, failure))
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        # What ssh says about an unprotected key; we warn rather than refuse.
        warnings.warn(
            f"private key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
            InsecureKeyFileWarning,
            stacklevel=4,
        )
    return data


def _unreadable(text: str, exc: OSError | ValueError) -> str:
    if _looks_like_key_material(text):
        # Never echo it: this is probably the key itself, pasted where a path belongs.
        return _NOT_A_PATH_NOR_PEM
    shown = _path_for_message(text)
    if isinstance(exc, FileNotFoundError):
        return f"private key file not found: {shown}"
    if isinstance(exc, IsADirectoryError):
        return f"private key path is a directory, not a file: {shown}"
    if isinstance(exc, PermissionError):
        return f"private key file is not readable (permission denied): {shown}"
    if isinstance(exc, OSError):
        return f"private key file cannot be read ({exc.strerror}): {shown}"  # name too long, ...
    return f"private key path is not a valid file name: {shown}"


def _looks_like_key_material(text: str) -> bool:
    """A long run of base64 that looks random: key material, not a name anyone typed."""
    return any(_random_looking(run) for run in _BASE64_RUN.findall(text.replace("\\n", "")))


def _random_looking(text: str) -> bool:
    return (
        any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)
    )


def _path_for_message(text: str) -> str:
    """The path as typed, with any run that could be a piece of a key replaced by its length."""
    shown = _PATH_RUN.sub(_hide_if_random, text)
    if len(shown) > 120:
        shown = f"{shown[:60]}... ({len(text)} characters)"
    return shown


def _hide_if_random(match: re.Match[str]) -> str:
    run = match.group(0)
    for piece in run.split("/"):
        if "+" in piece or "=" in piece or (len(piece) >= 8 and _random_looking(piece)):
            return f"<{len(run)} characters not shown>"
    return run


_BEGIN_LINE = re.compile(rb"^-----BEGIN ([A-Z0-9 ]{1,40})-----[ \t]*\r?$", re.MULTILINE)
# A BEGIN or END marker however mangled (dashes miscounted, lower case), but with its
# dashes: base64 key material holds "begin" or "end" by chance often enough.
_DASHED_BEGIN = re.compile(rb"-{2,}[ \t]*BEGIN", re.IGNORECASE)
_DASHED_END = re.compile(rb"-{2,}[ \t]*END", re.IGNORECASE)


def _normalized(pem: bytes) -> bytes:
    """PEM text as pasted into an env var: quotes, surrounding blanks and literal ``\\n`` undone."""
    pem = pem.strip()
    if len(pem) >= 2 and pem[:1] == pem[-1:] and pem[:1] in (b'"', b"'"):
        pem = pem[1:-1].strip()
    if b"\n" not in pem and b"\\n" in pem:
        pem = pem.replace(b"\\r\\n", b"\n").replace(b"\\n", b"\n")
    return pem + b"\n"


def _structure_problem(pem: bytes) -> str | None:
    """What is wrong with the PEM's framing, named without quoting it; None if it looks right."""
    begin = _BEGIN_LINE.search(pem)
    if begin is None:
        if _DASHED_BEGIN.search(pem):
            return (
                "the PEM's BEGIN line is malformed: it must read exactly "
                "'-----BEGIN <TYPE> PRIVATE KEY-----' (five dashes each side) on a line of its own"
            )
        if _DASHED_END.search(pem):
            return "no BEGIN line: the PEM's first line ('-----BEGIN ... PRIVATE KEY-----') is missing"
        if _looks_like_key_material(pem.decode("ascii", "replace")):
            return _NOT_A_PATH_NOR_PEM
        return "not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)"
    label = begin.group(1)
    if b"PUBLIC KEY" in label:
        return "not a PEM private key: this is a PUBLIC key; sign with the private key Kalshi gave you"
    if label == b"CERTIFICATE" or label.endswith(b" CERTIFICATE"):
        return "not a PEM private key: this is a certificate"
    if label == b"OPENSSH PRIVATE KEY":
        return (
            "wrong key format: an OpenSSH private key; convert it to PKCS#8 with "
            "'ssh-keygen -p -m PKCS8 -f FILE'"
        )
    if not label.endswith(b"PRIVATE KEY"):
        return f"not a PEM private key: the PEM block is a {label.decode()}"
    if re.search(rb"^-----END " + re.escape(label) + rb"-----[ \t]*\r?$", pem, re.MULTILINE) is None:
        return "no END line matching the BEGIN line: the PEM was cut short or damaged"
    return None


def _parse_pem(pem: bytes, password: str | bytes | None) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    pem = _normalized(pem)
    problem = _structure_problem(pem)
    if problem is not None:
        raise _KeyProblem(problem)
    secret = password.encode("utf-8") if isinstance(password, str) else password
    encrypted = b"ENCRYPTED PRIVATE KEY" in pem or b"Proc-Type: 4,ENCRYPTED" in pem
    if encrypted and not secret:
        raise _KeyProblem("private key is encrypted: a password is needed (KALSHI_PRIVATE_KEY_PASSWORD)")
    if secret and not encrypted:
        raise _KeyProblem(
            "private key is not encrypted; no password needed (unset KALSHI_PRIVATE_KEY_PASSWORD "
            "or pass password=None)"
        )
    key: object = None
    failure: Exception | None = None
    try:
        # cryptography's RSA validation tests p and q for primality: ~37 ms, a fifth of a
        # bot's start to first amend. The key is the user's own file, OpenSSL checks each
        # CRT signature before releasing it, and SigningKey signs and verifies once on
        # load, so a key that cannot sign correctly is still refused.
        key = serialization.load_pem_private_key(
            pem, password=secret if encrypted else None, unsafe_skip_rsa_key_validation=True
        )
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        failure = exc  # named below, outside the except block, so nothing is chained
    if isinstance(failure, UnsupportedAlgorithm):
        raise _KeyProblem("unsupported private key algorithm: Kalshi accepts RSA and Ed25519")
    if failure is not None:
        if encrypted:
            raise _KeyProblem("wrong password for the encrypted private key")
        raise _KeyProblem("not a valid PEM private key (the PEM block could not be parsed: damaged or cut)")
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise _KeyProblem(_unsupported(key))


def _unsupported(key: object) -> str:
    kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "") or "unknown"
    return f"unsupported key type {kind}: Kalshi accepts RSA (2048 bits or more) and Ed25519 keys"
