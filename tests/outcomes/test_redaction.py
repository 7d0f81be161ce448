"""At DEBUG, around signed requests that succeed and fail, no signature and no line of the
private key (nor its password) shows up in any log record of any logger (httpx, httpcore,
aiohttp, asyncio, auth_hooks...), nor in str()/repr() of the exceptions, the auth, the
key or the client."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import auth_hooks.auth
import auth_hooks.signing
from auth_hooks import (
    KalshiAuth,
    NotSent,
    OutcomeUnknown,
    Rejected,
    RequestOutcome,
    load_private_key,
    make_client,
)
from auth_hooks.keys import SigningKey
from tests.support import faulty_server as fs
from tests.support.faulty_server import FaultyServer
from tests.support.keys import PASSWORD, KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer

from .conftest import KEY_ID
from .helpers import MODES, amend


class CaptureAll(logging.Handler):
    """Every record of every logger, formatted with its exception and stack."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.loggers: set[str] = set()
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        self.texts.append(self.format(record) + " " + repr(record.args) + repr(record.__dict__))


@pytest.fixture
def captured() -> Iterator[CaptureAll]:
    handler = CaptureAll()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers that were given their own level elsewhere are opened up too.
    touched = {}
    for name in ("httpx", "httpcore", "aiohttp", "asyncio", "auth_hooks", "hpack", "urllib3"):
        logger = logging.getLogger(name)
        touched[name] = logger.level
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in touched.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def signatures_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature the auth makes, including those of requests that never left."""
    made: list[str] = []
    real = auth_hooks.signing.sign_text

    def recording(key: SigningKey, text: bytes) -> str:
        signature = real(key, text)
        made.append(signature)
        return signature

    monkeypatch.setattr(auth_hooks.auth, "sign_text", recording)
    return made


def secrets_of(files: KeyFiles, key: SigningKey) -> list[str]:
    lines = [line for line in files.pem.decode().splitlines() if line and not line.startswith("-----")]
    secrets = [line for line in lines if ":" not in line]  # skip "Proc-Type:" style headers
    private = key._key
    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        secrets += [str(numbers.d), f"{numbers.d:x}", str(numbers.p), f"{numbers.p:x}"]
    if files.password:
        secrets.append(files.password.decode())
    return secrets


def scenarios(key_files: dict[str, KeyFiles], key_name: str) -> dict[str, Callable[[str, KalshiAuth], Any]]:
    public = key_files[key_name].public_pem
    other_public = key_files["ed25519" if key_name != "ed25519" else "rsa_pkcs1"].public_pem

    def with_server(server: SignatureCheckingServer, expected: type[RequestOutcome] | None) -> Any:
        def run(mode: str, auth: KalshiAuth) -> Any:
            with server.running():
                if expected is None:
                    amend(mode, auth, server.base_url)
                else:
                    with pytest.raises(expected) as caught:
                        amend(mode, auth, server.base_url)
                    return caught.value, [r.headers["kalshi-access-signature"] for r in server.received]
                return None, [r.headers["kalshi-access-signature"] for r in server.received]

        return run

    def five_hundred(request: Received) -> Reply:
        return 500, {"Content-Type": "application/json"}, json.dumps({"error": {"code": "internal"}}).encode()

    def not_sent(mode: str, auth: KalshiAuth) -> Any:
        with pytest.raises(NotSent) as caught:
            amend(mode, auth, f"http://127.0.0.1:{fs.closed_port()}/trade-api/v2", connect_retries=0)
        return caught.value, []

    def connection_reset(mode: str, auth: KalshiAuth) -> Any:
        with FaultyServer(fs.reset()) as server, pytest.raises(OutcomeUnknown) as caught:
            amend(mode, auth, server.base_url)
        return caught.value, [r.headers["kalshi-access-signature"] for r in server.requests]

    return {
        "200": with_server(SignatureCheckingServer({KEY_ID: public}), None),
        "401 then 200 (clock skew)": with_server(SignatureCheckingServer({KEY_ID: public}, skew_s=40), None),
        "401 bad signature": with_server(SignatureCheckingServer({KEY_ID: other_public}), Rejected),
        "500": with_server(SignatureCheckingServer({KEY_ID: public}, respond=five_hundred), OutcomeUnknown),
        "not sent": not_sent,
        "reset after sending": connection_reset,
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("key_name", ["rsa_pkcs1", "ed25519", "rsa_encrypted"])
@pytest.mark.parametrize("presign", [False, True])
def test_no_secret_reaches_a_log_or_a_repr(
    key_files: dict[str, KeyFiles],
    captured: CaptureAll,
    signatures_made: list[str],
    mode: str,
    key_name: str,
    presign: bool,
) -> None:
    files = key_files[key_name]
    key = load_private_key(files.path, files.password)
    auth = KalshiAuth(KEY_ID, key, presign=presign)
    texts: list[str] = []
    sent: list[str] = []
    for name, run in scenarios(key_files, "ed25519" if key_name == "ed25519" else "rsa_pkcs1").items():
        exc, on_the_wire = run(mode, auth)
        sent += on_the_wire
        if exc is not None:
            texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            cause: BaseException | None = exc
            while cause is not None:
                texts += [str(cause), repr(cause), repr(getattr(cause, "args", ""))]
                cause = cause.__cause__ or cause.__context__
        assert captured.texts, f"{name}: nothing was logged; the capture is broken"
    client = make_client(auth, base_url="http://127.0.0.1:1/trade-api/v2")
    texts += [str(auth), repr(auth), str(key), repr(key), str(client), repr(client), repr(auth.server_clock)]
    auth.close()

    # The capture really saw the libraries' debug chatter and the signing (our own pools
    # log through auth_hooks; httpx's and httpcore's only where they carry the request).
    assert "auth_hooks" in captured.loggers
    assert any("HTTP POST /trade-api/v2/" in text for text in captured.texts) or mode in (
        "aiohttp",
        "httpx-async",
    )
    assert any(name.startswith("httpcore") for name in captured.loggers) or mode != "httpx-async"
    assert set(sent) <= set(signatures_made) and len(signatures_made) >= 6
    everything = "\n".join(captured.texts + texts)
    for signature in signatures_made:
        assert signature not in everything
        assert signature[:40] not in everything  # nor a recognisable part of it
    for secret in secrets_of(files, key):
        assert secret not in everything
    assert (PASSWORD.decode() not in everything) or files.password is None
