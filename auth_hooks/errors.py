"""The exceptions auth_hooks raises, and the one reader of Kalshi's error bodies.

Configuration problems (a bad key, a bad base URL) are found before anything is
sent and raise :class:`KalshiConfigError`. Everything that happens to a request
after that falls in exactly one of three outcome classes, told apart by type:

* :class:`NotSent`: the request never left (connect failure, DNS, TLS handshake).
  Safe to send again.
* :class:`Rejected`: the exchange answered 4xx. The amend was NOT applied.
  :class:`RateLimited` (429) is a kind of rejection.
* :class:`OutcomeUnknown`: the request may have reached the exchange and we cannot
  tell what happened (timeout or connection loss after sending, any 5xx, a 2xx we
  cannot read). The amend MAY have been applied: look at the order before acting.
"""

from __future__ import annotations

import json
from typing import Any

# Bodies are kept for diagnosis, but only this much of them goes into str(exc):
# an HTML error page must not flood a log line.
_BODY_PREVIEW = 200


class KalshiConfigError(ValueError):
    """Bad input or configuration, found before anything was sent."""


class KalshiKeyError(KalshiConfigError):
    """The private key cannot be used: missing, not a PEM key, wrong password, wrong type or size."""


class RequestOutcome(Exception):
    """Base of the three outcome classes. Carries what is known of the exchange's answer."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        body: bytes = b"",
        code: str | None = None,
        message: str | None = None,
        order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body
        self.code = code
        self.message = message
        self.order_id = order_id
        self.updated_client_order_id = updated_client_order_id

    def __str__(self) -> str:
        parts = [self.reason]
        if self.order_id is not None:
            parts.append(f"order_id={self.order_id}")
        if self.updated_client_order_id is not None:
            parts.append(f"updated_client_order_id={self.updated_client_order_id}")
        return "; ".join(parts)


class NotSent(RequestOutcome):
    """The request never reached the exchange; sending it again is safe."""


class Rejected(RequestOutcome):
    """The exchange answered 4xx: the amend was not applied."""


class RateLimited(Rejected):
    """HTTP 429: the write token bucket was empty. Not applied; Kalshi sends no Retry-After."""


class OutcomeUnknown(RequestOutcome):
    """The amend may or may not have been applied. Nothing was re-sent."""


def error_code_and_message(body: bytes | str | Any) -> tuple[str | None, str | None]:
    """Reads ``(code, message)`` out of any error body shape Kalshi sends.

    Nested ``{"error": {"code", "message", "details"}}``, flat ``{"code", "message"}``,
    bare ``{"msg": ...}`` and the rate limiter's ``{"error": "too many requests"}``;
    anything else (HTML, truncated JSON) gives a one-line preview as the message.
    ``body`` may be the raw bytes or an already decoded JSON value.
    """
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            return None, preview(body)
    if not isinstance(data, dict):
        return None, preview(json.dumps(data))
    error = data.get("error")
    if isinstance(error, dict):
        code, message, details = error.get("code"), error.get("message"), error.get("details")
    elif isinstance(error, str):
        code, message, details = None, error, None
    else:
        code, message, details = data.get("code"), data.get("message"), data.get("details")
        if message is None and isinstance(data.get("msg"), str):
            message = data["msg"]
    # Kalshi puts the precise cause of a 401 (INCORRECT_API_KEY_SIGNATURE) in details.
    if isinstance(details, str) and details and details not in str(message):
        message = f"{message} ({details})" if message else details
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def preview(body: bytes | str) -> str:
    """The first bytes of a body on one line, for messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "..."
