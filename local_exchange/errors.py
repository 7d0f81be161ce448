"""Errors the exchange reports, and the JSON body shapes Kalshi uses on the wire.

Kalshi is not consistent about error bodies, and clients must cope with all of them, so
the local exchange sends each shape where Kalshi does:

- nested `{"error": {"code", "message", "details"?}}` for most 4xx/5xx,
- flat `{"code", "message"}` for a body that is not JSON,
- bare `{"msg": ...}` for some parameter validation (query parameters here),
- `{"error": "too many requests"}` for 429.
"""

from __future__ import annotations

from typing import Any, ClassVar

JsonBody = dict[str, Any]

RATE_LIMITED_BODY: JsonBody = {"error": "too many requests"}


def nested_error(code: str, message: str, details: str | None = None) -> JsonBody:
    error: JsonBody = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def flat_error(code: str, message: str) -> JsonBody:
    return {"code": code, "message": message}


def bare_error(message: str) -> JsonBody:
    return {"msg": message}


class ExchangeError(Exception):
    """A request the exchange refuses; `status` and `body()` are what goes on the wire.

    Raised by the Python API too, so tests can drive the engine without HTTP.
    """

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_server_error"

    def __init__(self, message: str, *, code: str | None = None, details: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def body(self) -> JsonBody:
        return nested_error(self.code, self.message, self.details)


class InvalidParameters(ExchangeError, ValueError):
    status = 400
    default_code = "invalid_parameters"


class AuthenticationFailed(ExchangeError):
    status = 401
    default_code = "authentication_error"


class Forbidden(ExchangeError):
    status = 403
    default_code = "forbidden"


class NotFound(ExchangeError, LookupError):
    status = 404
    default_code = "not_found"


class OrderAlreadyExists(ExchangeError):
    status = 409
    default_code = "order_already_exists"


class InternalError(ExchangeError):
    status = 500
    default_code = "internal_server_error"


class ServiceUnavailable(ExchangeError):
    status = 503
    default_code = "service_unavailable"


class MarketPaused(ServiceUnavailable):
    default_code = "market_paused"
