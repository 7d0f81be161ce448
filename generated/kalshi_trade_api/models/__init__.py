"""Contains all the data models used in inputs/outputs"""

from .amend_order_v2_request import AmendOrderV2Request
from .amend_order_v2_response import AmendOrderV2Response
from .book_side import BookSide
from .error_detail import ErrorDetail
from .error_response import ErrorResponse

__all__ = (
    "AmendOrderV2Request",
    "AmendOrderV2Response",
    "BookSide",
    "ErrorDetail",
    "ErrorResponse",
)
