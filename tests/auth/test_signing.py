"""The text to sign, the signature and the headers, against vectors, with the clock injected."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from auth_hooks import KalshiAuth, load_private_key
from auth_hooks.keys import SigningKey
from auth_hooks.signing import path_to_sign, sign_text, signature_headers, text_to_sign
from tests.support.keys import KeyFiles

VECTORS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "text_to_sign_vectors.json").read_text())
FIXED_NOW = 1_700_000_000.123


def _signed(key_id: str, key: SigningKey, method: str, path: str, timestamp_ms: int) -> dict[str, str]:
    """The three pure steps, composed as KalshiAuth composes them."""
    return signature_headers(key_id, timestamp_ms, sign_text(key, text_to_sign(timestamp_ms, method, path)))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["why"] for v in VECTORS])
def test_text_to_sign_vectors(vector: dict[str, Any]) -> None:
    url = httpx.URL(vector["url"])
    assert (
        text_to_sign(vector["timestamp_ms"], vector["method"], path_to_sign(url)) == vector["text"].encode()
    )


def test_generated_client_request_signs_the_wire_path() -> None:
    # The path the generated code builds (order id quoted with safe="") as httpx sends it.
    client = httpx.Client(base_url="https://external-api.demo.kalshi.co/trade-api/v2")
    request = client.build_request(
        "POST", "/portfolio/events/orders/ab%20c%2F1/amend", params={"subaccount": 3}
    )
    assert str(request.url).endswith("/orders/ab%20c%2F1/amend?subaccount=3")
    assert path_to_sign(request.url) == "/trade-api/v2/portfolio/events/orders/ab%20c%2F1/amend"


def _verify(public_pem: bytes, signature_b64: str, text: bytes) -> None:
    public_key = serialization.load_pem_public_key(public_pem)
    raw = base64.b64decode(signature_b64, validate=True)
    if isinstance(public_key, rsa.RSAPublicKey):
        # Exactly Kalshi's parameters: PSS, MGF1(SHA-256), 32-byte salt, SHA-256.
        public_key.verify(
            raw, text, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    else:
        assert isinstance(public_key, ed25519.Ed25519PublicKey)
        public_key.verify(raw, text)


@pytest.mark.parametrize("key_name", ["rsa_pkcs1", "rsa_pkcs8", "ed25519"])
def test_signature_verifies_and_fails_after_any_change(key_files: dict[str, KeyFiles], key_name: str) -> None:
    files = key_files[key_name]
    key = load_private_key(files.path)
    path = "/trade-api/v2/portfolio/events/orders/abc/amend"
    headers = _signed("kid", key, "POST", path, 1700000000000)
    assert headers["KALSHI-ACCESS-KEY"] == "kid"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1700000000000"
    signature = headers["KALSHI-ACCESS-SIGNATURE"]
    _verify(files.public_pem, signature, text_to_sign(1700000000000, "POST", path))
    for changed in (
        text_to_sign(1700000000001, "POST", path),
        text_to_sign(1700000000000, "GET", path),
        text_to_sign(1700000000000, "POST", path.replace("abc", "abd")),
        text_to_sign(1700000000000, "POST", path + "?subaccount=3"),
    ):
        with pytest.raises(InvalidSignature):
            _verify(files.public_pem, signature, changed)


def test_headers_are_the_key_id_the_timestamp_and_the_signature() -> None:
    assert signature_headers("kid", 1700000000000, "c2ln") == {
        "KALSHI-ACCESS-KEY": "kid",
        "KALSHI-ACCESS-TIMESTAMP": "1700000000000",
        "KALSHI-ACCESS-SIGNATURE": "c2ln",
    }


def test_rsa_signature_is_pss_not_pkcs1v15(key_files: dict[str, KeyFiles]) -> None:
    key = load_private_key(key_files["rsa_pkcs1"].path)
    text = text_to_sign(1, "POST", "/trade-api/v2/x")
    signature = base64.b64decode(_signed("k", key, "POST", "/trade-api/v2/x", 1)["KALSHI-ACCESS-SIGNATURE"])
    public_key = serialization.load_pem_public_key(key_files["rsa_pkcs1"].public_pem)
    assert isinstance(public_key, rsa.RSAPublicKey)
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, text, padding.PKCS1v15(), hashes.SHA256())
    # PSS signatures are randomised: two signatures of one text differ, both valid.
    again = _signed("k", key, "POST", "/trade-api/v2/x", 1)
    assert base64.b64decode(again["KALSHI-ACCESS-SIGNATURE"]) != signature


@pytest.mark.parametrize("key_name", ["rsa_pkcs1", "ed25519"])
def test_auth_flow_sets_the_three_headers_with_the_injected_clock(
    key_files: dict[str, KeyFiles], key_name: str
) -> None:
    auth = KalshiAuth("my-key-id", load_private_key(key_files[key_name].path), clock=lambda: FIXED_NOW)
    request = httpx.Request(
        "post",
        "https://external-api.demo.kalshi.co/trade-api/v2/portfolio/events/orders/o%2F1/amend?subaccount=3",
    )
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["KALSHI-ACCESS-KEY"] == "my-key-id"
    assert signed.headers["KALSHI-ACCESS-TIMESTAMP"] == "1700000000123"
    _verify(
        key_files[key_name].public_pem,
        signed.headers["KALSHI-ACCESS-SIGNATURE"],
        b"1700000000123POST/trade-api/v2/portfolio/events/orders/o%2F1/amend",
    )


def test_every_request_gets_a_fresh_timestamp_and_signature(key_files: dict[str, KeyFiles]) -> None:
    now = [FIXED_NOW]
    auth = KalshiAuth("k", load_private_key(key_files["ed25519"].path), clock=lambda: now[0])
    url = "https://external-api.demo.kalshi.co/trade-api/v2/portfolio/events/orders/o/amend"
    first = next(auth.sync_auth_flow(httpx.Request("POST", url)))
    now[0] += 0.5
    second = next(auth.sync_auth_flow(httpx.Request("POST", url)))
    assert (
        int(second.headers["KALSHI-ACCESS-TIMESTAMP"]) - int(first.headers["KALSHI-ACCESS-TIMESTAMP"]) == 500
    )
    assert second.headers["KALSHI-ACCESS-SIGNATURE"] != first.headers["KALSHI-ACCESS-SIGNATURE"]
