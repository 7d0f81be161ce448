"""Prices and counts as Kalshi's fixed-point strings, through Decimal only.

Kalshi takes prices as dollar strings with 2-4 decimals and counts with 0-2, and
rejects JSON numbers. A float would turn 0.57 into 0.56999999999999995; ``Decimal``
formatting could write ``1E+1``. Both are kept out: input is parsed from text,
checked, and written back with a fixed number of places.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .errors import KalshiConfigError

PRICE_PLACES = 4
COUNT_PLACES = 2
# What a request may carry on the wire: openapi.yaml's patterns (price 2-4 decimals,
# count 0-2), narrowed to the canonical form (no leading zeros, price below 1 dollar)
# so that "00000.56" is refused rather than sent.
WIRE_PRICE = re.compile(r"0\.[0-9]{2,4}")
WIRE_COUNT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
# The same, above zero (checked on every amend: a regex, not a Decimal).
_WIRE_PRICE_ABOVE_ZERO = re.compile(r"0\.(?!0+$)[0-9]{2,4}")
_WIRE_COUNT_ABOVE_ZERO = re.compile(r"(?!0+(\.0+)?$)(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
# Plain decimal notation only: no sign, exponent, NaN, Infinity or underscores.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _parse(text: str | Decimal | int, what: str, max_places: int) -> Decimal:
    if isinstance(text, bool | float):
        raise KalshiConfigError(f"{what} must be a decimal string or Decimal, not {type(text).__name__}")
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise KalshiConfigError(f"{what} must be a finite number, got {text}")
        value = text
    else:
        raw = str(text).strip()
        if not _PLAIN_DECIMAL.fullmatch(raw):
            raise KalshiConfigError(f"{what} must be a plain decimal number such as 0.56, got {raw!r}")
        value = Decimal(raw)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    # Trailing zeros past the limit are fine ("0.56000"); any other digit there is not.
    # Counted on the digits: quantize() would need more precision than the context has.
    extra = -exponent - max_places
    if extra > 0 and any(digits[-extra:]):
        raise KalshiConfigError(f"{what} has more than {max_places} decimal places: {text}")
    return value


def format_price(price: str | Decimal) -> str:
    """A price in dollars, 0 < p < 1, at most 4 decimals, written with exactly 4: "0.56" -> "0.5600"."""
    value = _parse(price, "price", PRICE_PLACES)
    if not Decimal(0) < value < Decimal(1):
        raise KalshiConfigError(f"price must be between 0 and 1 dollar (exclusive), got {price}")
    return f"{value:.{PRICE_PLACES}f}"


def format_count(count: str | Decimal | int) -> str:
    """A contract count > 0, at most 2 decimals, written with exactly 2: "10" -> "10.00"."""
    value = _parse(count, "count", COUNT_PLACES)
    if value <= 0:
        raise KalshiConfigError(f"count must be greater than 0, got {count}")
    return f"{value:.{COUNT_PLACES}f}"


def check_wire_price(value: object) -> str:
    """``value`` if it is a canonical price string for a request (0 < P < 1, 2-4 decimals)."""
    if not isinstance(value, str) or not _WIRE_PRICE_ABOVE_ZERO.fullmatch(value):
        raise KalshiConfigError(
            f"price must be a fixed-point string of dollars, 0 < P < 1 with 2-4 decimals, "
            f"such as 0.5600 (format_price makes one), got {value!r}"
        )
    return value


def check_wire_count(value: object) -> str:
    """``value`` if it is a canonical count string for a request (> 0, up to 2 decimals)."""
    if not isinstance(value, str) or not _WIRE_COUNT_ABOVE_ZERO.fullmatch(value):
        raise KalshiConfigError(
            f"count must be a fixed-point string greater than 0 with up to 2 decimals, "
            f"such as 10.00 (format_count makes one), got {value!r}"
        )
    return value


def parse_fixed_point(text: str) -> Decimal:
    """A fixed-point string from a response ("0.017500", "10.00") as an exact Decimal."""
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"not a fixed-point number: {text!r}")
    return Decimal(text)
