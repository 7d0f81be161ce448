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
from .outcomes import (
    AppliedResponse,
    amend_order,
    amend_order_async,
    amend_order_detailed,
    amend_order_detailed_async,
)
from .ratelimit import AMEND_TOKEN_COST, RetryOn429, WriteTokenBucket

__all__ = [
    "AMEND_TOKEN_COST",
    "ENVIRONMENTS",
    "AppliedResponse",
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
    "RetryOn429",
    "ServerClock",
    "SigningKey",
    "WriteTokenBucket",
    "amend_order",
    "amend_order_async",
    "amend_order_detailed",
    "amend_order_detailed_async",
    "error_code_and_message",
    "load_private_key",
    "make_client",
]
