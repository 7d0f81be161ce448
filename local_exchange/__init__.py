"""A local exchange on loopback that behaves like Kalshi for Amend Order (V2).

    from local_exchange import Exchange, serve

    exchange = Exchange(timestamp_window_s=10.0)
    exchange.add_market("HIGHNY-24JAN01-T60")
    exchange.add_account("key-id", public_key_pem)
    order_id = exchange.place_order("key-id", "HIGHNY-24JAN01-T60", "bid", "0.56", "10")
    with serve(exchange) as server:
        ...  # amend at server.base_url with a signed client

Or from a seed file: `python -m local_exchange --seed seed.yaml`.
"""

from .auth import ApiKey, load_public_key
from .engine import AmendRequest, AmendResult, Fill, Order, OrderStatus, Side
from .errors import (
    AuthenticationFailed,
    ExchangeError,
    Forbidden,
    InternalError,
    InvalidParameters,
    MarketPaused,
    NotFound,
    OrderAlreadyExists,
    ServiceUnavailable,
)
from .exchange import AppliedAmend, BookSnapshot, Exchange, Fault, RequestRecord
from .money import PriceGrid
from .seed import SeedError, apply_seed, load_seed
from .server import RunningServer, serve

__all__ = [
    "AmendRequest",
    "AmendResult",
    "ApiKey",
    "AppliedAmend",
    "AuthenticationFailed",
    "BookSnapshot",
    "Exchange",
    "ExchangeError",
    "Fault",
    "Fill",
    "Forbidden",
    "InternalError",
    "InvalidParameters",
    "MarketPaused",
    "NotFound",
    "Order",
    "OrderAlreadyExists",
    "OrderStatus",
    "PriceGrid",
    "RequestRecord",
    "RunningServer",
    "SeedError",
    "ServiceUnavailable",
    "Side",
    "apply_seed",
    "load_public_key",
    "load_seed",
    "serve",
]
