"""Start, import, load the key, make the client, send one amend, exit: as a user would."""

import sys

from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide

from auth_hooks import KalshiAuth, load_private_key, make_client

base_url, key_path, key_id = sys.argv[1:4]
client = make_client(KalshiAuth(key_id, load_private_key(key_path)), base_url=base_url)
body = AmendOrderV2Request(ticker="KXBENCH-26NOV25-T50", side=BookSide.BID, price="0.5600", count="10.00")
response = amend_order_v2.sync_detailed("ee7e5d94-5ffd-4d3b-a8c3-5d0a1d2e2f8b", client=client, body=body)
sys.exit(0 if isinstance(response.parsed, AmendOrderV2Response) else 1)
