"""Seed files: markets, accounts and resting orders in YAML (or JSON, which YAML reads too).

Every section is optional:

exchange:                       # optional, keyword arguments of Exchange()
  timestamp_window_s: 10
markets:
  - ticker: HIGHNY-24JAN01-T60
    price_grid: linear_cent     # or tapered_deci_cent, deci_cent
    maker_fees: false
    paused: false
accounts:
  - key_id: my-key-id
    account: alice              # optional, defaults to key_id
    public_key_path: alice.pub  # relative to the seed file; or public_key_pem: |
orders:
  - account: alice
    ticker: HIGHNY-24JAN01-T60
    side: bid                   # bid buys YES, ask sells YES
    price: "0.56"               # strings: YAML would read 0.56 as a float
    count: "10"
    order_id: fixed-id          # optional; subaccount, client_order_id, expiration_time too
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .exchange import Exchange

_EXCHANGE_SETTINGS = frozenset(
    {
        "timestamp_window_s",
        "clock_offset_s",
        "write_bucket_size",
        "write_refill_per_s",
        "amend_cost",
        "null_for_absent",
    }
)
_MARKET_FIELDS = frozenset({"ticker", "price_grid", "maker_fees", "paused"})
_ACCOUNT_FIELDS = frozenset({"key_id", "account", "public_key_pem", "public_key_path", "read_only"})
_ORDER_FIELDS = frozenset(
    {
        "account",
        "ticker",
        "side",
        "price",
        "count",
        "subaccount",
        "client_order_id",
        "expiration_time",
        "order_id",
    }
)


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message says where."""


def load_seed(path: str | Path, exchange: Exchange | None = None) -> Exchange:
    """Reads a seed file into `exchange` (a new one, configured by the file, if None)."""
    seed_path = Path(path)
    try:
        document = yaml.safe_load(seed_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SeedError(f"{seed_path}: {error}") from error
    return apply_seed(document, exchange, base_dir=seed_path.parent, source=str(seed_path))


def apply_seed(
    document: Any,
    exchange: Exchange | None = None,
    *,
    base_dir: Path = Path(),
    source: str = "seed",
) -> Exchange:
    """Applies an already parsed seed document (same layout as the file)."""
    root = _mapping(document, source, {"exchange", "markets", "accounts", "orders"})
    if exchange is None:
        settings = _mapping(root.get("exchange", {}), f"{source}: exchange", _EXCHANGE_SETTINGS)
        exchange = Exchange(**settings)
    elif "exchange" in root:
        raise SeedError(f"{source}: 'exchange' settings need a new Exchange (pass none)")

    def each(section: str, fields: frozenset[str], load: Callable[[dict[str, Any]], None]) -> None:
        items = root.get(section, [])
        if not isinstance(items, list):
            raise SeedError(f"{source}: {section} must be a list")
        for index, item in enumerate(items):
            where = f"{source}: {section}[{index}]"
            fields_ok = _mapping(item, where, fields)
            try:
                load(fields_ok)
            except (ValueError, TypeError, KeyError) as error:  # SeedError is a ValueError
                raise SeedError(f"{where}: {error}") from error

    target = exchange
    each("markets", _MARKET_FIELDS, lambda m: target.add_market(**m))
    each("accounts", _ACCOUNT_FIELDS, lambda a: _add_account(target, a, base_dir))
    each("orders", _ORDER_FIELDS, lambda o: _place_order(target, o))
    return exchange


def _add_account(exchange: Exchange, item: dict[str, Any], base_dir: Path) -> None:
    inline = item.get("public_key_pem")
    key_path = item.get("public_key_path")
    if (inline is None) == (key_path is None):
        raise SeedError("give exactly one of public_key_pem and public_key_path")
    pem: str | bytes = (base_dir / key_path).read_bytes() if key_path is not None else str(inline)
    exchange.add_account(
        item["key_id"],
        pem,
        account=item.get("account"),
        read_only=bool(item.get("read_only", False)),
    )


def _place_order(exchange: Exchange, item: dict[str, Any]) -> None:
    for name in ("price", "count"):
        if not isinstance(item.get(name), str):
            # YAML turns 0.56 into a float; quoting it keeps the exact decimal.
            raise SeedError(f'{name} must be a quoted string, e.g. "0.56"')
    exchange.place_order(
        item["account"],
        item["ticker"],
        item["side"],
        item["price"],
        item["count"],
        subaccount=int(item.get("subaccount", 0)),
        client_order_id=item.get("client_order_id"),
        expiration_time=item.get("expiration_time"),
        order_id=item.get("order_id"),
    )


def _mapping(value: Any, where: str, allowed: frozenset[str] | set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected a mapping")
    unknown = set(value) - set(allowed)
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {sorted(unknown)}")
    return value
