from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AmendOrderV2Response")


@_attrs_define
class AmendOrderV2Response:
    """
    Attributes:
        order_id (str): The exchange's id of the amended order.
        ts_ms (int): When the matching engine applied the amend, in Unix epoch milliseconds.
        client_order_id (str | Unset): The order's client order id after the amend.
        remaining_count (None | str | Unset): Contracts resting after the amend (not the requested total). Present only
            when the amend filled or changed the resting size.
        fill_count (None | str | Unset): Contracts filled by this amend crossing the book. Present only when the amend
            filled or changed the resting size.
        average_fill_price (None | str | Unset): Volume-weighted average price of this amend's fills. Present only when
            it filled.
        average_fee_paid (None | str | Unset): Volume-weighted average fee per contract of this amend's fills. Present
            only when it filled.
    """

    order_id: str
    ts_ms: int
    client_order_id: str | Unset = UNSET
    remaining_count: None | str | Unset = UNSET
    fill_count: None | str | Unset = UNSET
    average_fill_price: None | str | Unset = UNSET
    average_fee_paid: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = self.order_id

        ts_ms = self.ts_ms

        client_order_id = self.client_order_id

        remaining_count: None | str | Unset
        if isinstance(self.remaining_count, Unset):
            remaining_count = UNSET
        else:
            remaining_count = self.remaining_count

        fill_count: None | str | Unset
        if isinstance(self.fill_count, Unset):
            fill_count = UNSET
        else:
            fill_count = self.fill_count

        average_fill_price: None | str | Unset
        if isinstance(self.average_fill_price, Unset):
            average_fill_price = UNSET
        else:
            average_fill_price = self.average_fill_price

        average_fee_paid: None | str | Unset
        if isinstance(self.average_fee_paid, Unset):
            average_fee_paid = UNSET
        else:
            average_fee_paid = self.average_fee_paid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "ts_ms": ts_ms,
            }
        )
        if client_order_id is not UNSET:
            field_dict["client_order_id"] = client_order_id
        if remaining_count is not UNSET:
            field_dict["remaining_count"] = remaining_count
        if fill_count is not UNSET:
            field_dict["fill_count"] = fill_count
        if average_fill_price is not UNSET:
            field_dict["average_fill_price"] = average_fill_price
        if average_fee_paid is not UNSET:
            field_dict["average_fee_paid"] = average_fee_paid

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        order_id = d.pop("order_id")

        ts_ms = d.pop("ts_ms")

        client_order_id = d.pop("client_order_id", UNSET)

        def _parse_remaining_count(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        remaining_count = _parse_remaining_count(d.pop("remaining_count", UNSET))

        def _parse_fill_count(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fill_count = _parse_fill_count(d.pop("fill_count", UNSET))

        def _parse_average_fill_price(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        average_fill_price = _parse_average_fill_price(d.pop("average_fill_price", UNSET))

        def _parse_average_fee_paid(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        average_fee_paid = _parse_average_fee_paid(d.pop("average_fee_paid", UNSET))

        amend_order_v2_response = cls(
            order_id=order_id,
            ts_ms=ts_ms,
            client_order_id=client_order_id,
            remaining_count=remaining_count,
            fill_count=fill_count,
            average_fill_price=average_fill_price,
            average_fee_paid=average_fee_paid,
        )

        amend_order_v2_response.additional_properties = d
        return amend_order_v2_response

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
