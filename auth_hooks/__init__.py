"""Signing, key loading and a ready client for Kalshi's Trade API (handwritten).

Vendor this package together with ``kalshi_trade_api`` (generated); it needs only
httpx, attrs and cryptography (httpx-aiohttp is used when installed).
"""

from .auth import KalshiAuth
from .client import ENVIRONMENTS, KalshiClient, make_client
from .clock import ServerClock
from .errors import (
    KalshiConfigError,
    KalshiKeyError,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RequestOutcome,
    error_code_and_message,
)
from .keys import InsecureKeyFileWarning, SigningKey, load_private_key
from .outcomes import amend_order, amend_order_async

__all__ = [
    "ENVIRONMENTS",
    "InsecureKeyFileWarning",
    "KalshiAuth",
    "KalshiClient",
    "KalshiConfigError",
    "KalshiKeyError",
    "NotSent",
    "OutcomeUnknown",
    "RateLimited",
    "Rejected",
    "RequestOutcome",
    "ServerClock",
    "SigningKey",
    "amend_order",
    "amend_order_async",
    "error_code_and_message",
    "load_private_key",
    "make_client",
]
