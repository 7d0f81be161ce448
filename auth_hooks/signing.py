"""Kalshi's request signature as small pure functions (the clock is an argument).

    text to sign = timestamp_ms + METHOD + path
    signature    = base64(sign(text to sign))

``path`` is the request's path exactly as it goes on the wire: from the host root,
so it includes the ``/trade-api/v2`` base path, with its percent-encoding kept and
the query string removed. Host and body are not signed.
"""

from __future__ import annotations

import base64

import httpx

from .keys import SigningKey

KEY_HEADER = "KALSHI-ACCESS-KEY"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"


def path_to_sign(url: httpx.URL) -> str:
    """The URL's path as sent (``raw_path`` keeps percent-encoding), without the query."""
    raw = url.raw_path
    query_start = raw.find(b"?")
    if query_start >= 0:
        raw = raw[:query_start]
    return raw.decode("ascii")


def text_to_sign(timestamp_ms: int | str, method: str, path: str) -> bytes:
    """``timestamp + METHOD + path`` with no separators, as bytes."""
    return f"{timestamp_ms}{method.upper()}{path}".encode()


def sign_text(key: SigningKey, text: bytes) -> str:
    """The standard-base64 signature Kalshi expects in ``KALSHI-ACCESS-SIGNATURE``."""
    return base64.b64encode(key.sign(text)).decode("ascii")


def signature_headers(key_id: str, timestamp_ms: int, signature: str) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request."""
    return {KEY_HEADER: key_id, TIMESTAMP_HEADER: str(timestamp_ms), SIGNATURE_HEADER: signature}
