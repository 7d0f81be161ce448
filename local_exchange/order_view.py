"""An order as Get Order shows it: Kalshi's Order object, computed from the engine's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .engine import Order, OrderStatus, Side
from .errors import JsonBody
from .money import ONE, format_count, format_dollars, format_price


def render_order(order: Order) -> JsonBody:
    """Every required field, and the optional ones the exchange knows."""
    body: JsonBody = {
        "order_id": order.order_id,
        "user_id": order.account,
        # Every order placed through the exchange has one; "" only for a hand-made Order.
        "client_order_id": order.client_order_id or "",
        "ticker": order.ticker,
        # A bid buys YES; an ask sells YES, which is holding NO.
        "outcome_side": "yes" if order.side is Side.BID else "no",
        "book_side": order.side.value,
        "type": "limit",
        # Get Order has no "expired": an order that ran out is reported canceled.
        "status": OrderStatus.CANCELED.value if order.status is OrderStatus.EXPIRED else order.status.value,
        "yes_price_dollars": format_price(order.price),
        "no_price_dollars": format_price(ONE - order.price),
        "fill_count_fp": format_count(order.filled),
        "remaining_count_fp": format_count(order.remaining),
        "initial_count_fp": format_count(order.initial_count),
        "taker_fill_cost_dollars": format_dollars(order.taker_fill_cost),
        "maker_fill_cost_dollars": format_dollars(order.maker_fill_cost),
        "taker_fees_dollars": format_dollars(order.taker_fees),
        "maker_fees_dollars": format_dollars(order.maker_fees),
        "last_update_time": rfc3339(order.updated_ts_ms),
        "subaccount_number": order.subaccount,
    }
    if order.created_ts_ms:
        body["created_time"] = rfc3339(order.created_ts_ms)
    if order.expiration_time is not None:
        body["expiration_time"] = rfc3339(order.expiration_time * 1000)
    return body


def rfc3339(ts_ms: int) -> str:
    """UTC with milliseconds and a Z, e.g. "2026-11-18T21:46:40.000Z"."""
    seconds, millis = divmod(ts_ms, 1000)  # integers: no float rounding at a second's edge
    moment = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(milliseconds=millis)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
