"""Helpers for the local exchange tests: a settable clock, test keys and a signing client.

Signing is done here with `cryptography` directly, as Kalshi documents it, so these tests
do not depend on the client code they exist to check.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from local_exchange import RunningServer

# A fixed exchange time (2026-11-18T21:46:40Z): tests that need real time say so.
T0 = 1_795_038_400.0
AMEND_PATH = "/trade-api/v2/portfolio/events/orders/{order_id}/amend"
ORDER_PATH = "/trade-api/v2/portfolio/orders/{order_id}"

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class FakeClock:
    """An exchange clock that moves only when told to."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class TestKey:
    key_id: str
    private_key: PrivateKey

    __test__ = False  # not a pytest test class

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def sign(private_key: PrivateKey, message: bytes) -> str:
    """Kalshi's signature: RSA-PSS(SHA-256, MGF1 SHA-256, salt 32) or Ed25519, base64."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.sign(message)
    else:
        raw = private_key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    return base64.b64encode(raw).decode("ascii")


def signed_headers(key: TestKey, method: str, path: str, ts_ms: int) -> dict[str, str]:
    return {
        "KALSHI-ACCESS-KEY": key.key_id,
        "KALSHI-ACCESS-TIMESTAMP": str(ts_ms),
        "KALSHI-ACCESS-SIGNATURE": sign(key.private_key, f"{ts_ms}{method}{path}".encode()),
    }


def amend_path(order_id: str) -> str:
    return AMEND_PATH.format(order_id=order_id)


class AmendApi:
    """Sends signed amends to a running exchange and returns the raw httpx response."""

    def __init__(self, server: RunningServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    def now_ms(self) -> int:
        return server_now_ms(self.server)

    def amend(
        self,
        order_id: str,
        body: dict[str, Any] | bytes,
        *,
        key: TestKey,
        subaccount: int | str | None = None,
        ts_ms: int | None = None,
        path: str | None = None,
        signed_path: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """`path` overrides the raw path sent, `signed_path` the path signed."""
        sent_path = path if path is not None else amend_path(order_id)
        query = f"?subaccount={subaccount}" if subaccount is not None else ""
        stamp = ts_ms if ts_ms is not None else self.now_ms()
        all_headers = {"Content-Type": "application/json"}
        all_headers |= signed_headers(key, "POST", signed_path or sent_path, stamp)
        all_headers |= headers or {}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(
            self.server.root_url + sent_path + query,
            content=content,
            headers=all_headers,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )

    def get_order(
        self,
        order_id: str,
        *,
        key: TestKey,
        ts_ms: int | None = None,
        method_signed: str = "GET",
        query: str = "",
    ) -> httpx.Response:
        """A signed Get Order (`method_signed` overrides the method in the signed text)."""
        path = ORDER_PATH.format(order_id=order_id)
        stamp = ts_ms if ts_ms is not None else self.now_ms()
        headers = signed_headers(key, method_signed, path, stamp)
        return self.client.get(self.server.root_url + path + query, headers=headers)


def trusting(server: RunningServer) -> ssl.SSLContext | bool:
    """A TLS context trusting the server's throwaway CA (plain http: verification is moot)."""
    if server.ca_path is None:
        return True
    return ssl.create_default_context(cafile=str(server.ca_path))


def server_now_ms(server: RunningServer) -> int:
    return server.exchange.now_ms()


def real_now_ms() -> int:
    return int(time.time() * 1000)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body["error"], dict), body
    code = body["error"]["code"]
    assert isinstance(code, str)
    return code
