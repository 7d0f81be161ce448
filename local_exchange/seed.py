"""Seed files: markets, accounts and resting orders in YAML (or JSON, which YAML reads too).

The format, with every field, is in example-seed.yaml beside this file
(`python -m local_exchange --help` prints its path). Every section is optional.

Errors name the place in the seed ("orders[2].side: ..."), never the Python API
underneath, and say how to fix the common YAML traps: an unquoted 0.56 is a float and an
unquoted yes/no/on/off is a boolean.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .engine import Side
from .errors import ExchangeError
from .exchange import MAX_SUBACCOUNT, Exchange
from .money import PriceGrid

EXAMPLE_SEED_PATH = Path(__file__).resolve().parent / "example-seed.yaml"


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message says where."""


# What each field of a seed section must be, as YAML reads it. (The seed's own format,
# not the API's: nothing here mirrors openapi.yaml.)
_TEXT, _INTEGER, _NUMBER, _BOOLEAN = "text", "integer", "number", "boolean"
_EXCHANGE_SETTINGS = {
    "timestamp_window_s": _NUMBER,
    "clock_offset_s": _NUMBER,
    "write_bucket_size": _NUMBER,
    "write_refill_per_s": _NUMBER,
    "amend_cost": _NUMBER,
    "null_for_absent": _BOOLEAN,
}
_MARKET_FIELDS = {"ticker": _TEXT, "price_grid": _TEXT, "maker_fees": _BOOLEAN, "paused": _BOOLEAN}
_ACCOUNT_FIELDS = {
    "key_id": _TEXT,
    "account": _TEXT,
    "public_key_pem": _TEXT,
    "public_key_path": _TEXT,
    "read_only": _BOOLEAN,
}
_ORDER_FIELDS = {
    "account": _TEXT,
    "ticker": _TEXT,
    "side": _TEXT,
    "price": _TEXT,
    "count": _TEXT,
    "subaccount": _INTEGER,
    "client_order_id": _TEXT,
    "expiration_time": _INTEGER,
    "order_id": _TEXT,
}
_REQUIRED = {
    "markets": ("ticker",),
    "accounts": (),
    "orders": ("account", "ticker", "side", "price", "count"),
}
_EXAMPLES = {"price": '"0.56"', "count": '"10"', "side": '"bid"'}


def load_seed(path: str | Path, exchange: Exchange | None = None) -> Exchange:
    """Reads a seed file into `exchange` (a new one, configured by the file, if None)."""
    seed_path = Path(path)
    try:
        document = yaml.safe_load(seed_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SeedError(f"{seed_path}: {error}") from None
    return apply_seed(document, exchange, base_dir=seed_path.parent, source=str(seed_path))


def apply_seed(
    document: Any,
    exchange: Exchange | None = None,
    *,
    base_dir: Path = Path(),
    source: str = "seed",
) -> Exchange:
    """Applies an already parsed seed document (same layout as the file)."""

    def fail(where: str, message: str) -> SeedError:
        return SeedError(f"{source}: {where}: {message}" if where else f"{source}: {message}")

    if not isinstance(document, dict):
        raise fail("", "expected a mapping with the sections exchange, markets, accounts, orders")
    unknown = sorted(set(document) - {"exchange", "markets", "accounts", "orders"}, key=str)
    if unknown:
        raise fail("", f"unknown section(s) {unknown}; the sections are exchange, markets, accounts, orders")
    if exchange is None:
        settings = document.get("exchange") or {}
        _check_fields(settings, "exchange", _EXCHANGE_SETTINGS, (), fail)
        exchange = Exchange(**settings)
    elif "exchange" in document:
        raise fail("exchange", "settings need a new exchange; load this seed without one")
    target = exchange

    def each(section: str, fields: dict[str, str], load: Callable[[str, dict[str, Any]], None]) -> None:
        items = document.get(section) or []
        if not isinstance(items, list):
            raise fail(section, "must be a list (each entry starting with '- ')")
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            _check_fields(item, where, fields, _REQUIRED[section], fail)
            try:
                load(where, item)
            except SeedError:
                raise
            except (ValueError, TypeError, ExchangeError) as error:  # refused by the exchange
                raise fail(where, str(error)) from None

    def market(where: str, item: dict[str, Any]) -> None:
        grid = item.get("price_grid", PriceGrid.LINEAR_CENT.value)
        if grid not in set(PriceGrid):
            raise fail(f"{where}.price_grid", f"must be one of {', '.join(PriceGrid)}, not {grid!r}")
        if target.has_market(item["ticker"]):
            raise fail(f"{where}.ticker", f"market {item['ticker']} is defined twice")
        target.add_market(**item)

    def account(where: str, item: dict[str, Any]) -> None:
        _add_account(target, item, base_dir, where, fail)

    def order(where: str, item: dict[str, Any]) -> None:
        if not target.has_account(item["account"]):
            raise fail(f"{where}.account", f"no account {item['account']!r}; define it under accounts")
        if not target.has_market(item["ticker"]):
            raise fail(f"{where}.ticker", f"no market {item['ticker']!r}; define it under markets")
        if item["side"] not in set(Side):
            raise fail(f"{where}.side", f"must be bid (buys YES) or ask (sells YES), not {item['side']!r}")
        for name in ("price", "count"):
            try:
                value = Decimal(item[name])
            except ArithmeticError:
                value = Decimal("NaN")
            if not value.is_finite():
                raise fail(f"{where}.{name}", f"{item[name]!r} is not a number")
        subaccount = item.get("subaccount", 0)
        if not 0 <= subaccount <= MAX_SUBACCOUNT:
            raise fail(f"{where}.subaccount", f"must be between 0 and {MAX_SUBACCOUNT}, not {subaccount}")
        target.place_order(
            item["account"],
            item["ticker"],
            item["side"],
            item["price"],
            item["count"],
            subaccount=subaccount,
            client_order_id=item.get("client_order_id"),
            expiration_time=item.get("expiration_time"),
            order_id=item.get("order_id"),
        )

    each("markets", _MARKET_FIELDS, market)
    each("accounts", _ACCOUNT_FIELDS, account)
    each("orders", _ORDER_FIELDS, order)
    return exchange


Fail = Callable[[str, str], SeedError]


def _add_account(exchange: Exchange, item: dict[str, Any], base_dir: Path, where: str, fail: Fail) -> None:
    key_id = item.get("key_id")
    inline, key_path = item.get("public_key_pem"), item.get("public_key_path")
    if key_id is None:
        # A counterparty: it holds seeded orders to trade against and never signs.
        if inline is not None or key_path is not None or "read_only" in item:
            raise fail(where, "a public key or read_only needs a key_id")
        if "account" not in item:
            raise fail(where, "give an account name (a counterparty) or a key_id with its public key")
        exchange.open_account(item["account"])
        return
    if (inline is None) == (key_path is None):
        raise fail(
            where,
            "a key_id needs exactly one of public_key_pem and public_key_path"
            " (an account that never signs needs only `account:`)",
        )
    if exchange.api_key(key_id) is not None:
        raise fail(f"{where}.key_id", f"key {key_id} is defined twice")
    if key_path is not None:
        try:
            pem: str | bytes = (base_dir / key_path).read_bytes()
        except OSError as error:
            raise fail(
                f"{where}.public_key_path", f"cannot read {base_dir / key_path}: {error.strerror}"
            ) from None
    else:
        pem = str(inline)
    field = "public_key_path" if key_path is not None else "public_key_pem"
    try:
        exchange.add_account(key_id, pem, account=item.get("account"), read_only=item.get("read_only", False))
    except ValueError as error:  # not a PEM, a private key, an unsupported key type
        raise fail(f"{where}.{field}", str(error)) from None


def _check_fields(
    item: Any, where: str, fields: dict[str, str], required: tuple[str, ...], fail: Fail
) -> None:
    if not isinstance(item, dict):
        raise fail(where, f"expected a mapping with the fields {', '.join(fields)}")
    unknown = sorted(set(item) - set(fields), key=str)
    if unknown:
        raise fail(where, f"unknown field(s) {unknown}; the fields are {', '.join(fields)}")
    missing = [name for name in required if name not in item]
    if missing:
        raise fail(where, f"missing field(s) {', '.join(missing)}")
    for name, value in item.items():
        problem = _type_problem(name, value, fields[name])
        if problem is not None:
            raise fail(f"{where}.{name}", problem)


def _type_problem(name: str, value: Any, kind: str) -> str | None:
    example = _EXAMPLES.get(name, '"..."')
    if isinstance(value, bool) and kind != _BOOLEAN:
        return (
            f"YAML read an unquoted yes/no/on/off/true/false as the boolean {str(value).lower()};"
            f" quote the value, e.g. {name}: {example}"
        )
    if kind == _TEXT and not isinstance(value, str):
        if name in ("price", "count"):
            # YAML turns 0.56 into a float; quoting it keeps the exact decimal.
            return f"must be a quoted string, e.g. {name}: {example} (YAML reads {value!r} as a number)"
        return f"must be text, not {type(value).__name__}; quote it, e.g. {name}: {example}"
    if kind == _INTEGER and not isinstance(value, int):
        return f"must be a whole number, not {value!r}"
    if kind == _NUMBER and not isinstance(value, int | float):
        return f"must be a number, not {value!r}"
    if kind == _BOOLEAN and not isinstance(value, bool):
        return f"must be true or false, not {value!r}"
    return None
