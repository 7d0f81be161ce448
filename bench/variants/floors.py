"""The floors: what a signature alone costs, and the least a signed httpx POST can cost.

The hand-written POST is what a careful user would write without any generated code: one
httpx.Client, the body serialised as httpx would serialise it, the three KALSHI headers
signed inline with cryptography, the status checked and the JSON decoded. Ours is judged
against it, so it does the same work per amend and nothing more.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bench.common import ORDER_ID, V2_BODY, V2_PATH, Context, Unavailable
from bench.measure import AsyncOp, SyncOp


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

    def amend() -> object:
        body = json.dumps(V2_BODY, ensure_ascii=False, separators=(",", ":")).encode()
        response = client.post(url, content=body, headers=_signed_headers(ctx, sign_bytes))
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
        return response.json()

    return amend


def _signed_headers(ctx: Context, sign_bytes: Callable[[bytes], bytes]) -> dict[str, str]:
    stamp = str(time.time_ns() // 1_000_000)
    return {
        "Content-Type": "application/json",
        "KALSHI-ACCESS-KEY": ctx.key_id,
        "KALSHI-ACCESS-TIMESTAMP": stamp,
        "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sign_bytes(f"{stamp}POST{V2_PATH}".encode())).decode(),
    }


def post_stdlib(ctx: Context) -> SyncOp:
    """Below httpx: the same signed POST on http.client's keep-alive connection.

    Not a target, a yardstick: the gap to floor-httpx is what httpx itself costs.
    """
    sign_bytes = signer(ctx)
    connection = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=10)

    def amend() -> object:
        body = json.dumps(V2_BODY, ensure_ascii=False, separators=(",", ":")).encode()
        connection.request("POST", V2_PATH, body=body, headers=_signed_headers(ctx, sign_bytes))
        response = connection.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {content!r}")
        return json.loads(content)

    return amend


def post_aiohttp(ctx: Context) -> AsyncOp:
    """The async yardstick: the same signed POST straight on aiohttp (what make_client's
    async transport runs on), so the gap to ours-async32 is the httpx layer and ours."""
    try:
        import aiohttp
    except ImportError as exc:
        raise Unavailable(f"aiohttp is not installed ({exc})") from None
    sign_bytes = signer(ctx)
    session = aiohttp.ClientSession()
    url = f"http://127.0.0.1:{ctx.port}{V2_PATH}"

    async def amend() -> object:
        body = json.dumps(V2_BODY, ensure_ascii=False, separators=(",", ":")).encode()
        async with session.post(url, data=body, headers=_signed_headers(ctx, sign_bytes)) as response:
            content = await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {content!r}")
            return json.loads(content)

    return amend
