"""The local exchange the CLI tests run against: one market, our keys, a base URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_exchange import Exchange, RunningServer, serve
from tests.support.keys import KeyFiles

TICKER = "KXTEST-26NOV25"


@pytest.fixture
def exchange(key_files: dict[str, KeyFiles]) -> Exchange:
    exchange = Exchange()
    exchange.add_market(TICKER)
    exchange.add_account("me", key_files["ed25519"].public_pem)
    exchange.add_account("me-rsa", key_files["rsa_pkcs1"].public_pem, account="me")
    exchange.add_account("other", key_files["rsa_pkcs8"].public_pem)
    return exchange


@pytest.fixture
def server(exchange: Exchange) -> Iterator[RunningServer]:
    with serve(exchange) as running:
        yield running


@pytest.fixture
def env(key_files: dict[str, KeyFiles], server: RunningServer) -> dict[str, str]:
    return {
        "KALSHI_API_KEY_ID": "me",
        "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
        "KALSHI_BASE_URL": server.base_url,
    }
