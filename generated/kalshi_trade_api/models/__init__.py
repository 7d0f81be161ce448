"""Contains all the data models used in inputs/outputs"""

from .amend_order_v2_request import AmendOrderV2Request
from .amend_order_v2_response import AmendOrderV2Response
from .book_side import BookSide
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .get_order_response import GetOrderResponse
from .order import Order
from .order_status import OrderStatus
from .outcome_side import OutcomeSide
from .self_trade_prevention_type import SelfTradePreventionType

__all__ = (
    "AmendOrderV2Request",
    "AmendOrderV2Response",
    "BookSide",
    "ErrorDetail",
    "ErrorResponse",
    "GetOrderResponse",
    "Order",
    "OrderStatus",
    "OutcomeSide",
    "SelfTradePreventionType",
)
