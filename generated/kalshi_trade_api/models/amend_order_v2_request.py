from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.book_side import BookSide
from ..types import UNSET, Unset

T = TypeVar("T", bound="AmendOrderV2Request")


@_attrs_define
class AmendOrderV2Request:
    """
    Attributes:
        ticker (str): The market ticker of the order; must match the order's market.
        side (BookSide): The YES side of the book: `bid` buys YES, `ask` sells YES (the same as buying NO at 1 - price).
        price (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6 decimal places;
            requests accept 2-4. Never a JSON number.
        count (str): A contract count as a fixed-point decimal string (fractional contracts down to 0.01). Responses
            always carry 2 decimal places; requests accept 0-2. Never a JSON number.
        client_order_id (str | Unset): The client order id the order currently carries.
        updated_client_order_id (str | Unset): A new client order id for the order after the amend. Client order ids are
            permanent per account: one already used gives 409.
        exchange_index (int | Unset): Exchange shard. Omit it (the generated client does unless you set it) to let the
            exchange route by ticker; -1 requires routing by ticker.
        expiration_time (int | Unset): New expiry in Unix seconds. Omit to keep the current expiry; 0 removes it (good
            till cancelled); any other value must be in the future. An expiry-only amend (same price and count) keeps queue
            position.
    """

    ticker: str
    side: BookSide
    price: str
    count: str
    client_order_id: str | Unset = UNSET
    updated_client_order_id: str | Unset = UNSET
    exchange_index: int | Unset = UNSET
    expiration_time: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ticker = self.ticker

        side = self.side.value

        price = self.price

        count = self.count

        client_order_id = self.client_order_id

        updated_client_order_id = self.updated_client_order_id

        exchange_index = self.exchange_index

        expiration_time = self.expiration_time

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ticker": ticker,
                "side": side,
                "price": price,
                "count": count,
            }
        )
        if client_order_id is not UNSET:
            field_dict["client_order_id"] = client_order_id
        if updated_client_order_id is not UNSET:
            field_dict["updated_client_order_id"] = updated_client_order_id
        if exchange_index is not UNSET:
            field_dict["exchange_index"] = exchange_index
        if expiration_time is not UNSET:
            field_dict["expiration_time"] = expiration_time

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        ticker = d.pop("ticker")

        side = BookSide(d.pop("side"))

        price = d.pop("price")

        count = d.pop("count")

        client_order_id = d.pop("client_order_id", UNSET)

        updated_client_order_id = d.pop("updated_client_order_id", UNSET)

        exchange_index = d.pop("exchange_index", UNSET)

        expiration_time = d.pop("expiration_time", UNSET)

        amend_order_v2_request = cls(
            ticker=ticker,
            side=side,
            price=price,
            count=count,
            client_order_id=client_order_id,
            updated_client_order_id=updated_client_order_id,
            exchange_index=exchange_index,
            expiration_time=expiration_time,
        )

        amend_order_v2_request.additional_properties = d
        return amend_order_v2_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
