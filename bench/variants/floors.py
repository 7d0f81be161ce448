"""The floors: what a signature alone costs, and the least a signed httpx POST can cost.

The hand-written POST is what a careful user would write without any generated code: one
httpx.Client, the body serialised as httpx would serialise it, the three KALSHI headers
signed inline with cryptography, the status checked and the JSON decoded. Ours is judged
against it, so it does the same work per amend and nothing more.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bench.common import ORDER_ID, V2_BODY, V2_PATH, Context
from bench.measure import SyncOp


def signer(ctx: Context) -> Callable[[bytes], bytes]:
    key = serialization.load_pem_private_key(ctx.key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        sha256 = hashes.SHA256()
        return lambda message: key.sign(message, pss, sha256)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign


def sign(ctx: Context) -> SyncOp:
    sign_bytes = signer(ctx)
    message = f"{time.time_ns() // 1_000_000}POST{V2_PATH}".encode()
    return lambda: sign_bytes(message)


def post(ctx: Context) -> SyncOp:
    sign_bytes = signer(ctx)
    client = httpx.Client(base_url=ctx.base_url)
    url = f"/portfolio/events/orders/{ORDER_ID}/amend"
    key_id = ctx.key_id

    def amend() -> object:
        stamp = str(time.time_ns() // 1_000_000)
        signature = base64.b64encode(sign_bytes(f"{stamp}POST{V2_PATH}".encode())).decode()
        body = json.dumps(V2_BODY, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "KALSHI-ACCESS-KEY": key_id,
            "KALSHI-ACCESS-TIMESTAMP": stamp,
            "KALSHI-ACCESS-SIGNATURE": signature,
        }
        response = client.post(url, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
        return response.json()

    return amend
