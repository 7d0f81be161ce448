"""The same with Kalshi's official SDK (kalshi-python-sync), configured as its README shows."""

import sys

from kalshi_python_sync import Configuration, KalshiClient  # type: ignore[import-not-found]

base_url, key_path, key_id = sys.argv[1:4]
config = Configuration(host=base_url)
config.api_key_id = key_id
with open(key_path) as key_file:
    config.private_key_pem = key_file.read()
client = KalshiClient(config)
# Raises on any non-2xx answer, and on a body that does not parse.
client.amend_order(
    "ee7e5d94-5ffd-4d3b-a8c3-5d0a1d2e2f8b",
    ticker="KXBENCH-26NOV25-T50",
    side="yes",
    action="buy",
    client_order_id="bench-c1",
    updated_client_order_id="bench-c2",
    yes_price=56,
    count=10,
)
