"""load_private_key: every format Kalshi hands out, and one clear error for each bad key."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa

from auth_hooks import InsecureKeyFileWarning, KalshiAuth, KalshiKeyError, load_private_key
from tests.support.keys import PASSWORD, KeyFiles


def _pkcs8(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("name", "key_type"),
    [("rsa_pkcs1", "rsa"), ("rsa_pkcs8", "rsa"), ("ed25519", "ed25519"), ("rsa_encrypted", "rsa")],
)
def test_loads_every_kalshi_format_from_path_bytes_and_str(
    key_files: dict[str, KeyFiles], name: str, key_type: str
) -> None:
    files = key_files[name]
    for source in (files.path, str(files.path), files.pem, files.pem.decode()):
        key = load_private_key(source, files.password)
        assert key.key_type == key_type
        assert key.public_key_pem() == files.public_pem


def test_password_may_be_str(key_files: dict[str, KeyFiles]) -> None:
    assert load_private_key(key_files["rsa_encrypted"].pem, PASSWORD.decode()).key_type == "rsa"


def test_type_comes_from_the_key_not_the_pem_header(key_files: dict[str, KeyFiles]) -> None:
    # Both are "BEGIN PRIVATE KEY"; one is RSA, the other Ed25519.
    assert key_files["rsa_pkcs8"].pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key_files["ed25519"].pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_private_key(key_files["rsa_pkcs8"].pem).key_type == "rsa"
    assert load_private_key(key_files["ed25519"].pem).key_type == "ed25519"


@pytest.fixture(scope="module")
def bad_keys() -> dict[str, bytes]:
    return {
        "ec": _pkcs8(ec.generate_private_key(ec.SECP256R1())),
        "dsa": _pkcs8(dsa.generate_private_key(key_size=1024)),
        "ed448": _pkcs8(ed448.Ed448PrivateKey.generate()),
        "rsa1024": _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", r"^private key file not found: .*nope\.pem$"),
        ("directory", r"^private key path is a directory, not a file: "),
        ("not pem", r"^not a PEM private key"),
        ("public key", r"^not a PEM private key"),
        ("corrupt pem", r"^not a valid PEM private key"),
        ("missing password", r"^private key is encrypted: a password is needed"),
        ("wrong password", r"^wrong password for the encrypted private key$"),
        ("ec", r"^unsupported key type EC: Kalshi accepts RSA \(2048 bits or more\) and Ed25519"),
        ("dsa", r"^unsupported key type DSA: "),
        ("ed448", r"^unsupported key type Ed448: "),
        ("rsa1024", r"^RSA key is 1024 bits; Kalshi needs at least 2048$"),
    ],
)
def test_each_bad_key_raises_our_error_with_its_message(
    case: str, message: str, key_files: dict[str, KeyFiles], bad_keys: dict[str, bytes], tmp_path: Path
) -> None:
    rsa_files = key_files["rsa_pkcs1"]
    sources: dict[str, tuple[object, bytes | None]] = {
        "missing file": (tmp_path / "nope.pem", None),
        "directory": (tmp_path, None),
        "not pem": (b"this is not a key", None),
        "public key": (rsa_files.public_pem, None),
        "corrupt pem": (b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", None),
        "missing password": (key_files["rsa_encrypted"].pem, None),
        "wrong password": (key_files["rsa_encrypted"].pem, b"wrong"),
        **{name: (pem, None) for name, pem in bad_keys.items()},
    }
    source, password = sources[case]
    with pytest.raises(KalshiKeyError, match=message) as caught:
        load_private_key(source, password)  # type: ignore[arg-type]
    # The message is one line and never quotes key material.
    text = str(caught.value)
    assert "\n" not in text
    for pem in (rsa_files.pem, key_files["rsa_encrypted"].pem, *bad_keys.values()):
        for line in pem.decode().splitlines()[1:-1]:
            assert line not in text


def test_key_file_readable_by_others_warns_like_ssh(key_files: dict[str, KeyFiles], tmp_path: Path) -> None:
    path = tmp_path / "open.pem"
    path.write_bytes(key_files["ed25519"].pem)
    path.chmod(0o644)
    with pytest.warns(InsecureKeyFileWarning, match=re.escape(f"run: chmod 600 {path}")):
        load_private_key(path)
    path.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_private_key(path)


def test_repr_and_str_show_key_id_and_type_only(key_files: dict[str, KeyFiles]) -> None:
    key = load_private_key(key_files["rsa_pkcs1"].path)
    auth = KalshiAuth("my-key-id", key)
    assert repr(key) == str(key) == "SigningKey(rsa-2048)"
    assert repr(auth) == str(auth) == "KalshiAuth(key_id='my-key-id', key=rsa-2048)"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)


def test_from_env_reads_path_or_pem_and_password(key_files: dict[str, KeyFiles]) -> None:
    encrypted = key_files["rsa_encrypted"]
    by_path = KalshiAuth.from_env(
        {
            "KALSHI_API_KEY_ID": "kid",
            "KALSHI_PRIVATE_KEY_PATH": str(encrypted.path),
            "KALSHI_PRIVATE_KEY_PASSWORD": PASSWORD.decode(),
        }
    )
    assert (by_path.key_id, by_path.key.key_type) == ("kid", "rsa")
    by_pem = KalshiAuth.from_env(
        {"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY": key_files["ed25519"].pem.decode()}
    )
    assert by_pem.key.key_type == "ed25519"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "KALSHI_API_KEY_ID is not set"),
        ({"KALSHI_API_KEY_ID": "kid"}, "set KALSHI_PRIVATE_KEY_PATH"),
        (
            {"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY_PATH": "/x", "KALSHI_PRIVATE_KEY": "y"},
            "set only one of",
        ),
        (
            {"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY_PATH": "/no/such/key.pem"},
            "private key file not found",
        ),
    ],
)
def test_from_env_errors(environ: dict[str, str], message: str) -> None:
    from auth_hooks import KalshiConfigError

    with pytest.raises(KalshiConfigError, match=re.escape(message)):
        KalshiAuth.from_env(environ)


@pytest.mark.parametrize("strip_newlines", [False, True])
def test_key_material_passed_as_a_path_is_never_echoed(
    key_files: dict[str, KeyFiles], strip_newlines: bool
) -> None:
    # A common env-var mistake: the PEM body without its BEGIN/END lines in *_PATH.
    body_lines = key_files["rsa_pkcs1"].pem.decode().splitlines()[1:-1]
    source = "".join(body_lines) if strip_newlines else "\n".join(body_lines)
    with pytest.raises(KalshiKeyError, match="looks like key material") as caught:
        load_private_key(source)
    for line in body_lines:
        assert line[:20] not in str(caught.value)


def test_an_unreadable_path_of_any_kind_is_our_error(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(KalshiKeyError, match="cannot be read"):
        load_private_key(a_file / "key.pem")  # a file used as a directory
    with pytest.raises(KalshiKeyError, match=r"cannot be read .*\(300 characters\)$"):
        load_private_key("/tmp/" + "k" * 291 + ".pem")  # name too long


@pytest.mark.parametrize("damage", ["public exponent", "private exponents"])
def test_an_rsa_key_that_cannot_sign_correctly_is_refused_on_load(
    key_files: dict[str, KeyFiles], damage: str
) -> None:
    # Loading skips cryptography's slow primality checks; the signing self-check must
    # still refuse a key whose signatures would not verify (every amend a 401).
    good = serialization.load_pem_private_key(key_files["rsa_pkcs1"].pem, None)
    assert isinstance(good, rsa.RSAPrivateKey)
    n = good.private_numbers()
    public = n.public_numbers
    if damage == "public exponent":
        numbers = rsa.RSAPrivateNumbers(
            n.p, n.q, n.d, n.dmp1, n.dmq1, n.iqmp, rsa.RSAPublicNumbers(3, public.n)
        )
    else:
        numbers = rsa.RSAPrivateNumbers(n.p, n.q, n.d + 2, n.dmp1 + 2, n.dmq1 + 2, n.iqmp, public)
    pem = numbers.private_key(unsafe_skip_rsa_key_validation=True).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(
        KalshiKeyError, match=r"^RSA private key failed its self-check: the key file is damaged$"
    ):
        load_private_key(pem)


# -- issue 12: the ways a new user passes a key -------------------------------------


def test_kalshi_auth_takes_a_path_str_a_path_and_pem_bytes(
    key_files: dict[str, KeyFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bot.pem").write_bytes(key_files["ed25519"].pem)
    (tmp_path / "bot.pem").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    for source in (
        "bot.pem",
        tmp_path / "bot.pem",
        key_files["ed25519"].pem,
        key_files["ed25519"].pem.decode(),
    ):
        auth = KalshiAuth("id", source)
        assert auth.key.public_key_pem() == key_files["ed25519"].public_pem
    encrypted = key_files["rsa_encrypted"]
    assert KalshiAuth("id", str(encrypted.path), password=PASSWORD).key.key_type == "rsa"


def test_kalshi_auth_names_an_unusable_key_argument() -> None:
    with pytest.raises(KalshiKeyError, match="unsupported private key of type int"):
        KalshiAuth("id", 42)  # type: ignore[arg-type]


def test_a_pem_with_literal_backslash_n_loads_as_in_a_dotenv_file(key_files: dict[str, KeyFiles]) -> None:
    for name in ("rsa_pkcs1", "ed25519"):
        dotenv_form = key_files[name].pem.decode().strip().replace("\n", "\\n")
        assert "\n" not in dotenv_form
        auth = KalshiAuth.from_env({"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY": dotenv_form})
        assert auth.key.public_key_pem() == key_files[name].public_pem
        quoted = f'"{dotenv_form}"'  # some .env loaders keep the quotes
        assert load_private_key(quoted).public_key_pem() == key_files[name].public_pem


def test_a_tilde_in_a_key_path_is_expanded(
    key_files: dict[str, KeyFiles], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kalshi").mkdir()
    key_path = tmp_path / ".kalshi" / "key.pem"
    key_path.write_bytes(key_files["ed25519"].pem)
    key_path.chmod(0o600)
    assert load_private_key("~/.kalshi/key.pem").key_type == "ed25519"
    assert load_private_key(Path("~/.kalshi/key.pem")).key_type == "ed25519"
    auth = KalshiAuth.from_env({"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY_PATH": "~/.kalshi/key.pem"})
    assert auth.key.key_type == "ed25519"


@pytest.mark.parametrize("name", ["rsa_pkcs1", "rsa_pkcs8", "ed25519"])
def test_a_password_for_a_key_that_is_not_encrypted_is_refused(
    key_files: dict[str, KeyFiles], name: str
) -> None:
    files = key_files[name]
    message = "^private key is not encrypted; no password needed"
    with pytest.raises(KalshiKeyError, match=message):
        load_private_key(files.path, "secret")
    with pytest.raises(KalshiKeyError, match=message):
        KalshiAuth("kid", files.pem, password=b"secret")
    with pytest.raises(KalshiKeyError, match=message):
        KalshiAuth.from_env(
            {
                "KALSHI_API_KEY_ID": "kid",
                "KALSHI_PRIVATE_KEY_PATH": str(files.path),
                "KALSHI_PRIVATE_KEY_PASSWORD": "secret",
            }
        )


def test_a_password_with_a_loaded_key_is_refused(key_files: dict[str, KeyFiles]) -> None:
    with pytest.raises(KalshiKeyError, match="password is only for a key given as a path or PEM"):
        KalshiAuth("kid", load_private_key(key_files["ed25519"].path), password="x")


# -- issue 11: a key id that cannot go in a header is refused before anything is sent ----


@pytest.mark.parametrize(
    ("key_id", "problem"),
    [
        ("kid\r", "contains a line break"),
        ("k\nid", "contains a line break"),
        ("kid\r\nX-Injected: 1", "contains a line break"),
        ("k\x00id", "contains a NUL character"),
        ("kïd", "contains a non-ASCII character"),
        ("kid\u2028", "contains a non-ASCII character"),
        (" kid", "has leading or trailing whitespace"),
        ("kid ", "has leading or trailing whitespace"),
        ("\tkid", "has leading or trailing whitespace"),
        ("k\tid", "contains a non-printable character"),
        ("kid\x7f", "contains a non-printable character"),
        ("k\x1bid", "contains a non-printable character"),
    ],
)
def test_a_key_id_that_cannot_go_in_a_header_is_refused_at_construction(
    key_files: dict[str, KeyFiles], key_id: str, problem: str
) -> None:
    from auth_hooks import KalshiConfigError

    key = load_private_key(key_files["ed25519"].path)
    with pytest.raises(KalshiConfigError, match=re.escape(problem)) as caught:
        KalshiAuth(key_id, key)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    assert repr(key_id)[:4] in message  # shown repr()'d: the key id is not secret


def test_an_ordinary_key_id_is_kept_as_is(key_files: dict[str, KeyFiles]) -> None:
    key_id = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
    assert KalshiAuth(key_id, load_private_key(key_files["ed25519"].path)).key_id == key_id


@pytest.mark.parametrize("word", ["End", "bEgIn", "end"])
def test_key_material_that_happens_to_spell_begin_or_end_is_still_key_material(
    key_files: dict[str, KeyFiles], word: str
) -> None:
    # Base64 holds these letters by chance; only a dashed marker is a BEGIN or END line.
    body_lines = key_files["rsa_pkcs1"].pem.decode().splitlines()[1:-1]
    body_lines[3] = body_lines[3][:30] + word + body_lines[3][30 + len(word) :]
    with pytest.raises(KalshiKeyError, match="looks like key material") as caught:
        load_private_key("\n".join(body_lines))
    for line in body_lines:
        assert line[:20] not in str(caught.value)
