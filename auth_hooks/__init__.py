"""Signing, key loading and a ready client for Kalshi's Trade API (handwritten).

Vendor this package together with ``kalshi_trade_api`` (generated); it needs only
httpx, attrs and cryptography (httpx-aiohttp only for async code through a proxy).

Any generated operation is called through :func:`call` / :func:`call_async` (parsed
2xx, or one outcome class); :func:`amend_order` adds the amend's own checks and, with
``resolve=True``, reads an unknown outcome back (:func:`resolve_amend`).
"""

from .auth import KalshiAuth
from .call import Answer, call, call_async, call_detailed, call_detailed_async
from .client import ENVIRONMENTS, KalshiClient, make_client
from .clock import ServerClock
from .errors import (
    AmendNotApplied,
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    KalshiConfigError,
    KalshiError,
    KalshiKeyError,
    NotSent,
    OrderClosed,
    OrderNotFound,
    OutcomeUnknown,
    RateLimited,
    ReadFailed,
    Rejected,
    RequestOutcome,
    error_code_and_message,
)
from .keys import InsecureKeyFileWarning, SigningKey, load_private_key
from .outcomes import (
    AppliedResponse,
    ResolvedAmend,
    amend_order,
    amend_order_async,
    amend_order_detailed,
    amend_order_detailed_async,
    check_amend_arguments,
    new_client_order_id,
)
from .ratelimit import AMEND_TOKEN_COST, RetryOn429, WriteTokenBucket
from .resolve import AmendResolution, Resolution, resolve_amend, resolve_amend_async
from .warmup import warm_up, warm_up_async

__all__ = [
    "AMEND_TOKEN_COST",
    "ENVIRONMENTS",
    "AmendNotApplied",
    "AmendResolution",
    "Answer",
    "AppliedResponse",
    "AuthenticationFailed",
    "Conflict",
    "InsecureKeyFileWarning",
    "InvalidRequest",
    "KalshiAuth",
    "KalshiClient",
    "KalshiConfigError",
    "KalshiError",
    "KalshiKeyError",
    "NotSent",
    "OrderClosed",
    "OrderNotFound",
    "OutcomeUnknown",
    "RateLimited",
    "ReadFailed",
    "Rejected",
    "RequestOutcome",
    "Resolution",
    "ResolvedAmend",
    "RetryOn429",
    "ServerClock",
    "SigningKey",
    "WriteTokenBucket",
    "amend_order",
    "amend_order_async",
    "amend_order_detailed",
    "amend_order_detailed_async",
    "call",
    "call_async",
    "call_detailed",
    "call_detailed_async",
    "check_amend_arguments",
    "error_code_and_message",
    "load_private_key",
    "make_client",
    "new_client_order_id",
    "resolve_amend",
    "resolve_amend_async",
    "warm_up",
    "warm_up_async",
]
