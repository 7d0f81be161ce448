"""No key material in any error: malformed variants of real PEMs, however they are passed.

For each variant the loader either loads a key or raises our key error; either way no
16-character piece of the key's base64 body may appear in str() or repr() of the error
or of anything chained to it (``__cause__``, ``__context__``, an OSError's filename),
in its formatted traceback, in a warning, or in any log record.
"""

from __future__ import annotations

import logging
import os
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth_hooks import KalshiAuth, KalshiConfigError, KalshiKeyError, SigningKey, load_private_key
from tests.support.keys import KeyFiles

WINDOW = 16
KEY_NAMES = ("rsa_pkcs1", "rsa_pkcs8", "ed25519", "rsa_encrypted")
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def _windows(body: str) -> frozenset[str]:
    return frozenset(body[i : i + WINDOW] for i in range(len(body) - WINDOW + 1))


def _leak(text: str, secret: frozenset[str]) -> str | None:
    flat = "".join(text.replace("\\n", "").replace("\\r", "").split())
    for i in range(len(flat) - WINDOW + 1):
        if flat[i : i + WINDOW] in secret:
            return flat[i : i + WINDOW]
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _texts_of(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc))]
    for link in _chain(exc):
        texts += [str(link), repr(link), repr(link.args)]
        texts += [repr(getattr(link, name, None)) for name in ("filename", "filename2", "problem")]
    return texts


# -- malformations, each a function of the PEM's lines ---------------------------------


def _lines(pem: str) -> list[str]:
    return pem.splitlines()


MUTATIONS: dict[str, Callable[[str, int], str]] = {
    "no BEGIN line": lambda pem, _: "\n".join(_lines(pem)[1:]),
    "no END line": lambda pem, _: "\n".join(_lines(pem)[:-1]),
    "no BEGIN nor END": lambda pem, _: "\n".join(_lines(pem)[1:-1]),
    "4-dash BEGIN": lambda pem, _: pem.replace("-----BEGIN", "----BEGIN", 1),
    "6-dash BEGIN": lambda pem, _: pem.replace("-----BEGIN", "------BEGIN", 1),
    "4-dash END": lambda pem, _: pem.replace("-----END", "----END", 1),
    "BEGIN without trailing dashes": lambda pem, _: pem.replace("KEY-----\n", "KEY\n", 1),
    "lower-case BEGIN": lambda pem, _: pem.replace("BEGIN", "begin", 1),
    "one line": lambda pem, _: pem.replace("\n", ""),
    "one line with spaces": lambda pem, _: pem.replace("\n", " "),
    "literal backslash-n": lambda pem, _: pem.replace("\n", "\\n"),
    "CRLF": lambda pem, _: pem.replace("\n", "\r\n"),
    "body only, one line": lambda pem, _: "".join(_lines(pem)[1:-1]),
    "body only, literal backslash-n": lambda pem, _: "\\n".join(_lines(pem)[1:-1]),
    "first body line only": lambda pem, _: _lines(pem)[1],
    "cut short": lambda pem, n: pem[: max(20, len(pem) * (n % 97 + 1) // 100)],
    "head cut off": lambda pem, n: pem[len(pem) * (n % 90 + 5) // 100 :],
    "a body line dropped": lambda pem, n: "\n".join(
        line for i, line in enumerate(_lines(pem)) if i != 1 + n % max(1, len(_lines(pem)) - 2)
    ),
    "a character changed": lambda pem, n: _changed(pem, n),
    "a character deleted": lambda pem, n: _deleted(pem, n),
    "public label": lambda pem, _: pem.replace("PRIVATE KEY", "PUBLIC KEY"),
    "certificate label": lambda pem, _: pem.replace("PRIVATE KEY", "CERTIFICATE"),
    "EC label": lambda pem, _: pem.replace("BEGIN PRIVATE KEY", "BEGIN EC PRIVATE KEY"),
    "OpenSSH label": lambda pem, _: pem.replace("PRIVATE KEY", "OPENSSH PRIVATE KEY"),
    "indented": lambda pem, _: "\n".join("  " + line for line in _lines(pem)),
    "quoted": lambda pem, _: f'"{pem}"',
    "with a NUL": lambda pem, n: pem[: n % len(pem)] + "\x00" + pem[n % len(pem) :],
    "trailing garbage": lambda pem, _: pem + "garbage\n",
    "doubled": lambda pem, _: pem + pem,
}


def _body_index(pem: str, n: int) -> int:
    start = pem.index("\n") + 1
    end = pem.rindex("-----END")
    return start + n % max(1, end - start)


def _changed(pem: str, n: int) -> str:
    i = _body_index(pem, n)
    new = BASE64[(BASE64.find(pem[i]) + 1 + n) % len(BASE64)] if pem[i] != "\n" else "\n"
    return pem[:i] + new + pem[i + 1 :]


def _deleted(pem: str, n: int) -> str:
    i = _body_index(pem, n)
    return pem[:i] + pem[i + 1 :]


def _mutated(pem: str, mutation: str, n: int) -> str:
    try:
        return MUTATIONS[mutation](pem, n) or pem
    except (IndexError, ValueError, ZeroDivisionError):  # a combination that no longer applies
        return pem


# -- the ways a user passes a key --------------------------------------------------


def _load_str(text: str, password: bytes | None, tmp: Path) -> object:
    return load_private_key(text, password)


def _load_bytes(text: str, password: bytes | None, tmp: Path) -> object:
    return load_private_key(text.encode("utf-8", "surrogateescape"), password)


def _load_path_object(text: str, password: bytes | None, tmp: Path) -> object:
    return load_private_key(Path(text), password)


def _auth_str(text: str, password: bytes | None, tmp: Path) -> object:
    return KalshiAuth("kid", text, password=password)


def _env_pem(text: str, password: bytes | None, tmp: Path) -> object:
    env = {"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY": text}
    if password:
        env["KALSHI_PRIVATE_KEY_PASSWORD"] = password.decode()
    return KalshiAuth.from_env(env)


def _env_path(text: str, password: bytes | None, tmp: Path) -> object:
    return KalshiAuth.from_env({"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY_PATH": text})


def _file(text: str, password: bytes | None, tmp: Path) -> object:
    # The malformed PEM in a file: loading it must not quote the file's content either.
    path = tmp / "key.pem"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    return load_private_key(path, password)


WAYS = {
    "str": _load_str,
    "bytes": _load_bytes,
    "Path": _load_path_object,
    "KalshiAuth": _auth_str,
    "KALSHI_PRIVATE_KEY": _env_pem,
    "KALSHI_PRIVATE_KEY_PATH": _env_path,
    "file": _file,
}


def _attempt(load: Callable[[], object]) -> tuple[object, KalshiConfigError | None]:
    try:
        return load(), None
    except KalshiConfigError as exc:
        return None, exc


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(scope="module")
def secrets(key_files: dict[str, KeyFiles]) -> dict[str, frozenset[str]]:
    return {name: _windows(_body(key_files[name].pem)) for name in KEY_NAMES}


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # the key fixture's repr
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key_name=st.sampled_from(KEY_NAMES),
    mutations=st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=3),
    seed=st.integers(min_value=0, max_value=10**6),
    way=st.sampled_from(sorted(WAYS)),
    password=st.sampled_from(["right", "none", "wrong"]),
)
def test_no_piece_of_a_malformed_key_appears_anywhere(
    key_files: dict[str, KeyFiles],
    secrets: dict[str, frozenset[str]],
    tmp_path: Path,
    key_name: str,
    mutations: list[str],
    seed: int,
    way: str,
    password: str,
) -> None:
    files = key_files[key_name]
    text = files.pem.decode()
    for n, mutation in enumerate(mutations):
        text = _mutated(text, mutation, seed + n)
    if way.startswith("KALSHI_") and "\x00" in text:
        text = text.replace("\x00", "")  # an environment cannot hold a NUL
    secret_password = {"right": files.password, "none": None, "wrong": b"wrong"}[password]
    if way in ("KALSHI_PRIVATE_KEY_PATH",):
        secret_password = None
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded, error = _attempt(lambda: WAYS[way](text, secret_password, tmp_path))
            if error is not None:
                assert "\n" not in str(error)
                assert way.startswith("KALSHI_") or isinstance(error, KalshiKeyError)
                texts += _texts_of(error)
            else:
                assert isinstance(loaded, SigningKey | KalshiAuth)
                texts += [repr(loaded), str(loaded)]
        texts += [str(w.message) for w in caught]
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)
    texts += records.texts
    for shown in texts:
        leaked = _leak(shown, secrets[key_name])
        assert leaked is None, f"{mutations} via {way}: {leaked!r} shown in {shown[:300]!r}"


@pytest.mark.parametrize("key_name", KEY_NAMES)
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_malformation_of_every_key_is_named_without_quoting_it(
    key_files: dict[str, KeyFiles], secrets: dict[str, frozenset[str]], key_name: str, mutation: str
) -> None:
    # The same, exhaustively for single malformations passed as a str (the reported case).
    files = key_files[key_name]
    text = MUTATIONS[mutation](files.pem.decode(), 7)
    _, error = _attempt(lambda: load_private_key(text, files.password))
    if error is not None:
        assert isinstance(error, KalshiKeyError)
        for shown in _texts_of(error):
            assert _leak(shown, secrets[key_name]) is None
        assert error.__cause__ is None and error.__context__ is None


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        ("no BEGIN line", "no BEGIN line"),
        ("4-dash BEGIN", "BEGIN line is malformed"),
        ("6-dash BEGIN", "BEGIN line is malformed"),
        ("no END line", "no END line"),
        ("body only, one line", "looks like key material"),
        ("body only, literal backslash-n", "looks like key material"),
        ("first body line only", "looks like key material"),
        ("public label", "PUBLIC key"),
        ("certificate label", "certificate"),
        ("OpenSSH label", "OpenSSH"),
        ("cut short", "no END line"),
    ],
)
def test_the_problem_is_named(key_files: dict[str, KeyFiles], mutation: str, message: str) -> None:
    with pytest.raises(KalshiKeyError, match=message) as caught:
        load_private_key(MUTATIONS[mutation](key_files["ed25519"].pem.decode(), 80))
    assert caught.value.__context__ is None


def test_a_missing_file_named_like_a_key_is_not_quoted(
    tmp_path: Path, key_files: dict[str, KeyFiles]
) -> None:
    # The Ed25519 body's first 30 characters as a "path": too short to be taken for key
    # text, but shown with its random-looking part replaced by its length.
    fragment = _body(key_files["ed25519"].pem)[:30]
    with pytest.raises(KalshiKeyError, match="characters not shown") as caught:
        load_private_key(str(tmp_path / fragment.replace("/", "x")))
    assert caught.value.__context__ is None
    assert str(caught.value).startswith(f"private key file not found: {os.sep}tmp{os.sep}")
    assert _leak(str(caught.value), _windows(_body(key_files["ed25519"].pem))) is None
