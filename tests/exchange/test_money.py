"""Fixed-point arithmetic: fees to $0.0001 (rounded up), price grids, wire formats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from local_exchange.money import (
    MAKER_FEE_RATE,
    TAKER_FEE_RATE,
    PriceGrid,
    count_problem,
    format_count,
    format_dollars,
    price_problem,
    to_decimal,
    trade_fee,
)

D = Decimal


@pytest.mark.parametrize(
    ("count", "price", "fee"),
    [
        # Kalshi's worked example: one contract at 0.52 pays 0.017500 (0.017472 rounded up).
        ("1", "0.52", "0.0175"),
        ("10", "0.52", "0.1748"),  # 0.17472: rounded per trade, not per contract
        ("100", "0.50", "1.7500"),  # exact: no rounding
        ("0.01", "0.50", "0.0002"),  # 0.000175 rounds UP, never down to 0.0001
        ("3", "0.01", "0.0021"),  # 0.002079
        ("7", "0.999", "0.0005"),  # 0.00048951
    ],
)
def test_taker_fee_rounds_up_to_a_hundredth_of_a_cent(count: str, price: str, fee: str) -> None:
    assert trade_fee(TAKER_FEE_RATE, D(count), D(price)) == D(fee)


def test_maker_fee_is_a_quarter_of_the_rate_and_also_rounds_up() -> None:
    assert trade_fee(MAKER_FEE_RATE, D("10"), D("0.50")) == D("0.0438")  # 0.04375
    assert trade_fee(MAKER_FEE_RATE, D("1"), D("0.52")) == D("0.0044")  # 0.004368


@pytest.mark.parametrize(
    ("grid", "price", "valid"),
    [
        (PriceGrid.LINEAR_CENT, "0.56", True),
        (PriceGrid.LINEAR_CENT, "0.01", True),
        (PriceGrid.LINEAR_CENT, "0.99", True),
        (PriceGrid.LINEAR_CENT, "0.565", False),
        (PriceGrid.LINEAR_CENT, "0.005", False),
        (PriceGrid.TAPERED_DECI_CENT, "0.095", True),  # below 0.10: deci-cent ticks
        (PriceGrid.TAPERED_DECI_CENT, "0.905", True),  # above 0.90: deci-cent ticks
        (PriceGrid.TAPERED_DECI_CENT, "0.10", True),
        (PriceGrid.TAPERED_DECI_CENT, "0.90", True),
        (PriceGrid.TAPERED_DECI_CENT, "0.105", False),  # between: cent ticks
        (PriceGrid.TAPERED_DECI_CENT, "0.895", False),
        (PriceGrid.TAPERED_DECI_CENT, "0.50", True),
        (PriceGrid.TAPERED_DECI_CENT, "0.0015", False),
        (PriceGrid.DECI_CENT, "0.555", True),
        (PriceGrid.DECI_CENT, "0.001", True),
        (PriceGrid.DECI_CENT, "0.999", True),
        (PriceGrid.DECI_CENT, "0.5555", False),
    ],
)
def test_price_grids(grid: PriceGrid, price: str, valid: bool) -> None:
    assert (price_problem(grid, D(price)) is None) is valid


@pytest.mark.parametrize("price", ["0", "0.00", "1", "1.00", "-0.5", "1.5"])
@pytest.mark.parametrize("grid", list(PriceGrid))
def test_prices_must_be_strictly_between_0_and_1(grid: PriceGrid, price: str) -> None:
    problem = price_problem(grid, D(price))
    assert problem is not None
    assert "strictly between 0 and 1" in problem


def test_counts_go_down_to_a_hundredth_of_a_contract() -> None:
    assert count_problem(D("2.50")) is None
    assert count_problem(D("0.01")) is None
    assert count_problem(D("0.001")) is not None
    assert count_problem(D("-1")) is not None


def test_wire_formats() -> None:
    assert format_count(D("10")) == "10.00"
    assert format_count(D("2.5")) == "2.50"
    assert format_dollars(D("0.0175")) == "0.017500"
    assert format_dollars(D("0.56")) == "0.560000"
    # Averages can have more digits than 6; they are rounded half-even.
    assert format_dollars(D("0.52") * 2 / 3) == "0.346667"


def test_floats_are_refused_for_money() -> None:
    with pytest.raises(TypeError, match="float"):
        to_decimal(0.56, "price")
    with pytest.raises(ValueError, match="finite"):
        to_decimal("NaN", "price")
    assert to_decimal("0.56", "price") == D("0.56")
