from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.book_side import BookSide
from ..models.order_status import OrderStatus
from ..models.outcome_side import OutcomeSide
from ..models.self_trade_prevention_type import SelfTradePreventionType
from ..types import UNSET, Unset

T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    """One order as the exchange holds it. Prices are YES and NO dollar amounts (NO = 1 - YES); counts are fixed-point
    strings with 2 decimals, and the total size is `fill_count_fp` + `remaining_count_fp`.

        Attributes:
            order_id (str): The exchange's id of the order.
            user_id (str): The id of the account that owns the order.
            client_order_id (str): The order's client order id; after an amend that carried `updated_client_order_id`, that
                new id.
            ticker (str): The market ticker.
            outcome_side (OutcomeSide): The contract the order ends up holding: buying YES and selling NO give `yes`; buying
                NO and selling YES give `no`.
            book_side (BookSide): The YES side of the book: `bid` buys YES, `ask` sells YES (the same as buying NO at 1 -
                price).
            type_ (str): The order type, for example `limit`.
            status (OrderStatus): `resting` is on the book and can still be amended; `canceled` and `executed` are final.
            yes_price_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6 decimal
                places; requests accept 2-4. Never a JSON number.
            no_price_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6 decimal
                places; requests accept 2-4. Never a JSON number.
            fill_count_fp (str): A contract count as a fixed-point decimal string (fractional contracts down to 0.01).
                Responses always carry 2 decimal places; requests accept 0-2. Never a JSON number.
            remaining_count_fp (str): A contract count as a fixed-point decimal string (fractional contracts down to 0.01).
                Responses always carry 2 decimal places; requests accept 0-2. Never a JSON number.
            initial_count_fp (str): A contract count as a fixed-point decimal string (fractional contracts down to 0.01).
                Responses always carry 2 decimal places; requests accept 0-2. Never a JSON number.
            taker_fill_cost_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6
                decimal places; requests accept 2-4. Never a JSON number.
            maker_fill_cost_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6
                decimal places; requests accept 2-4. Never a JSON number.
            taker_fees_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6 decimal
                places; requests accept 2-4. Never a JSON number.
            maker_fees_dollars (str): A US dollar amount as a fixed-point decimal string. Responses carry up to 6 decimal
                places; requests accept 2-4. Never a JSON number.
            side (None | str | Unset): Deprecated; `outcome_side` says the same.
            action (None | str | Unset): Deprecated; `book_side` says the same.
            expiration_time (None | str | Unset): When the order expires, as an RFC 3339 date-time; absent or null for good
                till canceled. (Kept a plain string: see spec-deviations.yaml.)
            created_time (None | str | Unset): When the order was placed, as an RFC 3339 date-time.
            last_update_time (None | str | Unset): When the order last changed (amend, cancel or fill), as an RFC 3339 date-
                time.
            order_group_id (None | str | Unset): The order group the order belongs to, if any.
            self_trade_prevention_type (None | SelfTradePreventionType | Unset): How self-trades of this order are
                prevented, if set.
            cancel_order_on_pause (bool | None | Unset): Whether the order is canceled when trading in its market pauses.
            subaccount_number (int | None | Unset): The subaccount holding the order; 0 is the primary account, 1-63
                subaccounts.
            exchange_index (int | None | Unset): The exchange shard holding the order.
    """

    order_id: str
    user_id: str
    client_order_id: str
    ticker: str
    outcome_side: OutcomeSide
    book_side: BookSide
    type_: str
    status: OrderStatus
    yes_price_dollars: str
    no_price_dollars: str
    fill_count_fp: str
    remaining_count_fp: str
    initial_count_fp: str
    taker_fill_cost_dollars: str
    maker_fill_cost_dollars: str
    taker_fees_dollars: str
    maker_fees_dollars: str
    side: None | str | Unset = UNSET
    action: None | str | Unset = UNSET
    expiration_time: None | str | Unset = UNSET
    created_time: None | str | Unset = UNSET
    last_update_time: None | str | Unset = UNSET
    order_group_id: None | str | Unset = UNSET
    self_trade_prevention_type: None | SelfTradePreventionType | Unset = UNSET
    cancel_order_on_pause: bool | None | Unset = UNSET
    subaccount_number: int | None | Unset = UNSET
    exchange_index: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = self.order_id

        user_id = self.user_id

        client_order_id = self.client_order_id

        ticker = self.ticker

        outcome_side = self.outcome_side.value

        book_side = self.book_side.value

        type_ = self.type_

        status = self.status.value

        yes_price_dollars = self.yes_price_dollars

        no_price_dollars = self.no_price_dollars

        fill_count_fp = self.fill_count_fp

        remaining_count_fp = self.remaining_count_fp

        initial_count_fp = self.initial_count_fp

        taker_fill_cost_dollars = self.taker_fill_cost_dollars

        maker_fill_cost_dollars = self.maker_fill_cost_dollars

        taker_fees_dollars = self.taker_fees_dollars

        maker_fees_dollars = self.maker_fees_dollars

        side: None | str | Unset
        if isinstance(self.side, Unset):
            side = UNSET
        else:
            side = self.side

        action: None | str | Unset
        if isinstance(self.action, Unset):
            action = UNSET
        else:
            action = self.action

        expiration_time: None | str | Unset
        if isinstance(self.expiration_time, Unset):
            expiration_time = UNSET
        else:
            expiration_time = self.expiration_time

        created_time: None | str | Unset
        if isinstance(self.created_time, Unset):
            created_time = UNSET
        else:
            created_time = self.created_time

        last_update_time: None | str | Unset
        if isinstance(self.last_update_time, Unset):
            last_update_time = UNSET
        else:
            last_update_time = self.last_update_time

        order_group_id: None | str | Unset
        if isinstance(self.order_group_id, Unset):
            order_group_id = UNSET
        else:
            order_group_id = self.order_group_id

        self_trade_prevention_type: None | str | Unset
        if isinstance(self.self_trade_prevention_type, Unset):
            self_trade_prevention_type = UNSET
        elif isinstance(self.self_trade_prevention_type, SelfTradePreventionType):
            self_trade_prevention_type = self.self_trade_prevention_type.value
        else:
            self_trade_prevention_type = self.self_trade_prevention_type

        cancel_order_on_pause: bool | None | Unset
        if isinstance(self.cancel_order_on_pause, Unset):
            cancel_order_on_pause = UNSET
        else:
            cancel_order_on_pause = self.cancel_order_on_pause

        subaccount_number: int | None | Unset
        if isinstance(self.subaccount_number, Unset):
            subaccount_number = UNSET
        else:
            subaccount_number = self.subaccount_number

        exchange_index: int | None | Unset
        if isinstance(self.exchange_index, Unset):
            exchange_index = UNSET
        else:
            exchange_index = self.exchange_index

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "user_id": user_id,
                "client_order_id": client_order_id,
                "ticker": ticker,
                "outcome_side": outcome_side,
                "book_side": book_side,
                "type": type_,
                "status": status,
                "yes_price_dollars": yes_price_dollars,
                "no_price_dollars": no_price_dollars,
                "fill_count_fp": fill_count_fp,
                "remaining_count_fp": remaining_count_fp,
                "initial_count_fp": initial_count_fp,
                "taker_fill_cost_dollars": taker_fill_cost_dollars,
                "maker_fill_cost_dollars": maker_fill_cost_dollars,
                "taker_fees_dollars": taker_fees_dollars,
                "maker_fees_dollars": maker_fees_dollars,
            }
        )
        if side is not UNSET:
            field_dict["side"] = side
        if action is not UNSET:
            field_dict["action"] = action
        if expiration_time is not UNSET:
            field_dict["expiration_time"] = expiration_time
        if created_time is not UNSET:
            field_dict["created_time"] = created_time
        if last_update_time is not UNSET:
            field_dict["last_update_time"] = last_update_time
        if order_group_id is not UNSET:
            field_dict["order_group_id"] = order_group_id
        if self_trade_prevention_type is not UNSET:
            field_dict["self_trade_prevention_type"] = self_trade_prevention_type
        if cancel_order_on_pause is not UNSET:
            field_dict["cancel_order_on_pause"] = cancel_order_on_pause
        if subaccount_number is not UNSET:
            field_dict["subaccount_number"] = subaccount_number
        if exchange_index is not UNSET:
            field_dict["exchange_index"] = exchange_index

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        client_order_id = d.pop("client_order_id")

        ticker = d.pop("ticker")

        outcome_side = OutcomeSide(d.pop("outcome_side"))

        book_side = BookSide(d.pop("book_side"))

        type_ = d.pop("type")

        status = OrderStatus(d.pop("status"))

        yes_price_dollars = d.pop("yes_price_dollars")

        no_price_dollars = d.pop("no_price_dollars")

        fill_count_fp = d.pop("fill_count_fp")

        remaining_count_fp = d.pop("remaining_count_fp")

        initial_count_fp = d.pop("initial_count_fp")

        taker_fill_cost_dollars = d.pop("taker_fill_cost_dollars")

        maker_fill_cost_dollars = d.pop("maker_fill_cost_dollars")

        taker_fees_dollars = d.pop("taker_fees_dollars")

        maker_fees_dollars = d.pop("maker_fees_dollars")

        def _parse_side(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        side = _parse_side(d.pop("side", UNSET))

        def _parse_action(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        action = _parse_action(d.pop("action", UNSET))

        def _parse_expiration_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expiration_time = _parse_expiration_time(d.pop("expiration_time", UNSET))

        def _parse_created_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        created_time = _parse_created_time(d.pop("created_time", UNSET))

        def _parse_last_update_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_update_time = _parse_last_update_time(d.pop("last_update_time", UNSET))

        def _parse_order_group_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        order_group_id = _parse_order_group_id(d.pop("order_group_id", UNSET))

        def _parse_self_trade_prevention_type(data: object) -> None | SelfTradePreventionType | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                self_trade_prevention_type_type_0 = SelfTradePreventionType(data)

                return self_trade_prevention_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SelfTradePreventionType | Unset, data)

        self_trade_prevention_type = _parse_self_trade_prevention_type(d.pop("self_trade_prevention_type", UNSET))

        def _parse_cancel_order_on_pause(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        cancel_order_on_pause = _parse_cancel_order_on_pause(d.pop("cancel_order_on_pause", UNSET))

        def _parse_subaccount_number(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        subaccount_number = _parse_subaccount_number(d.pop("subaccount_number", UNSET))

        def _parse_exchange_index(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        exchange_index = _parse_exchange_index(d.pop("exchange_index", UNSET))

        order = cls(
            order_id=order_id,
            user_id=user_id,
            client_order_id=client_order_id,
            ticker=ticker,
            outcome_side=outcome_side,
            book_side=book_side,
            type_=type_,
            status=status,
            yes_price_dollars=yes_price_dollars,
            no_price_dollars=no_price_dollars,
            fill_count_fp=fill_count_fp,
            remaining_count_fp=remaining_count_fp,
            initial_count_fp=initial_count_fp,
            taker_fill_cost_dollars=taker_fill_cost_dollars,
            maker_fill_cost_dollars=maker_fill_cost_dollars,
            taker_fees_dollars=taker_fees_dollars,
            maker_fees_dollars=maker_fees_dollars,
            side=side,
            action=action,
            expiration_time=expiration_time,
            created_time=created_time,
            last_update_time=last_update_time,
            order_group_id=order_group_id,
            self_trade_prevention_type=self_trade_prevention_type,
            cancel_order_on_pause=cancel_order_on_pause,
            subaccount_number=subaccount_number,
            exchange_index=exchange_index,
        )

        order.additional_properties = d
        return order

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
