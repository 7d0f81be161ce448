"""A local exchange on loopback that behaves like Kalshi for Amend Order (V2) and Get Order.

    from local_exchange import Exchange, serve

    exchange = Exchange(timestamp_window_s=10.0)
    exchange.add_market("HIGHNY-24JAN01-T60")
    exchange.add_account("key-id", public_key_pem)
    exchange.open_account("maker")  # a counterparty: no key, it never signs
    order_id = exchange.place_order("key-id", "HIGHNY-24JAN01-T60", "bid", "0.56", "10")
    with serve(exchange, tls=True) as server:
        ...  # amend at server.base_url with a signed client trusting server.ca_path
    exchange.applied_amends(order_id)  # what the exchange applied: the ground truth

Or `python -m local_exchange [--seed seed.yaml] [--tls]`; the seed format is in
example-seed.yaml beside this file.
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
