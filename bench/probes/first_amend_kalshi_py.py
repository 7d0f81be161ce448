"""The same with kalshi-py, configured as its README shows."""

import sys

from kalshi_py import create_client  # type: ignore[import-not-found]
from kalshi_py.api.portfolio import amend_order  # type: ignore[import-not-found]
from kalshi_py.models import (  # type: ignore[import-not-found]
    ModelAmendOrderRequest,
    ModelAmendOrderRequestAction,
    ModelAmendOrderRequestSide,
    ModelAmendOrderResponse,
)

base_url, key_path, key_id = sys.argv[1:4]
client = create_client(base_url=base_url, access_key_id=key_id, private_key_path=key_path)
body = ModelAmendOrderRequest(
    ticker="KXBENCH-26NOV25-T50",
    side=ModelAmendOrderRequestSide.YES,
    action=ModelAmendOrderRequestAction.BUY,
    client_order_id="bench-c1",
    updated_client_order_id="bench-c2",
    yes_price=56,
    count=10,
)
response = amend_order.sync_detailed("ee7e5d94-5ffd-4d3b-a8c3-5d0a1d2e2f8b", client=client, body=body)
sys.exit(0 if isinstance(response.parsed, ModelAmendOrderResponse) else 1)
