"""Fixed-point money and contract arithmetic: parsing, price grids, fees, wire formatting.

Everything is `Decimal`; a float never enters. Kalshi quotes prices as dollar strings
and counts as strings with up to 2 decimals, and rounds each trade's fee UP to $0.0001.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
DECI_CENT = Decimal("0.001")
CONTRACT_STEP = Decimal("0.01")  # fractional contracts go down to 0.01
FEE_STEP = Decimal("0.0001")  # each trade's fee is rounded up to this
PRICE_STEP = Decimal("0.0001")  # the finest tick of any grid, with room to spare
WIRE_DOLLARS = Decimal("0.000001")  # responses carry 6 decimals, like Kalshi's "0.017500"

# Kalshi holds counts as 64-bit integers of hundredths: no order can be bigger. The bound
# also keeps every sum and product exact within Decimal's 28 digits.
MAX_COUNT = Decimal(2**63 - 1).scaleb(-2)

TAKER_FEE_RATE = Decimal("0.07")
MAKER_FEE_RATE = Decimal("0.0175")

# The tapered grid is fine-grained only near the edges, where prices move in small steps.
TAPER_LOW = Decimal("0.10")
TAPER_HIGH = Decimal("0.90")


class PriceGrid(StrEnum):
    """A market's price level structure (which prices are valid quotes)."""

    LINEAR_CENT = "linear_cent"
    TAPERED_DECI_CENT = "tapered_deci_cent"
    DECI_CENT = "deci_cent"


def to_decimal(value: object, what: str) -> Decimal:
    """Converts a Python-API argument (Decimal, str or int).

    Floats are refused: 0.1 + 0.2 != 0.3 in binary, and money must add up exactly.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{what} must be a Decimal or a string, not {type(value).__name__}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{what} is not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what} must be finite: {value!r}")
    return result


def tick_size(grid: PriceGrid, price: Decimal) -> Decimal:
    """The tick that applies at `price` on `grid`."""
    if grid is PriceGrid.LINEAR_CENT:
        return CENT
    if grid is PriceGrid.DECI_CENT:
        return DECI_CENT
    return DECI_CENT if price < TAPER_LOW or price > TAPER_HIGH else CENT


def price_problem(grid: PriceGrid, price: Decimal) -> str | None:
    """Why `price` is not a valid quote on `grid`, or None when it is."""
    if not ZERO < price < ONE:
        return f"price {price} must be strictly between 0 and 1"
    tick = tick_size(grid, price)
    if price % tick != 0:
        return f"price {price} is not on the {grid.value} grid (tick {tick} at this price)"
    return None


def count_problem(count: Decimal) -> str | None:
    """Why `count` is not a valid contract count, or None when it is."""
    if count < 0:
        return f"count {count} must not be negative"
    if count > MAX_COUNT:
        return f"count {count} is too large (at most {MAX_COUNT})"
    if count % CONTRACT_STEP != 0:
        return f"count {count} has more than 2 decimal places"
    return None


def trade_fee(rate: Decimal, count: Decimal, price: Decimal) -> Decimal:
    """Fee of one trade: rate x C x P x (1 - P), rounded UP to $0.0001."""
    return (rate * count * price * (ONE - price)).quantize(FEE_STEP, rounding=ROUND_CEILING)


def fill_cost(buys_yes: bool, yes_price: Decimal, count: Decimal) -> Decimal:
    """What a fill cost the order: YES at the price when it buys YES, else NO at 1 - price."""
    return count * (yes_price if buys_yes else ONE - yes_price)


def format_count(count: Decimal) -> str:
    """Counts always go on the wire with 2 decimals ("10.00")."""
    return str(count.quantize(CONTRACT_STEP))


def format_dollars(amount: Decimal) -> str:
    """Dollar amounts go on the wire with 6 decimals ("0.017500").

    Averages can have more digits than that; half-even keeps rounding unbiased.
    """
    return str(amount.quantize(WIRE_DOLLARS, rounding=ROUND_HALF_EVEN))


def format_price(price: Decimal) -> str:
    """Order prices go on the wire with 4 decimals ("0.5600"), which every grid's tick fits."""
    return str(price.quantize(PRICE_STEP))
