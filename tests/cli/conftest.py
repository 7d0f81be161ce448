"""The local exchange the CLI tests run against: one market, our keys, an https base URL.

The exchange serves TLS with a throwaway CA, as the real one is HTTPS only; ``run_cli``
is ``kalshi_amend.cli.main`` trusting that CA (``--ca-file``). Plain http stays only
where a test needs a server of its own (SignatureCheckingServer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from kalshi_amend.cli import main
from local_exchange import Exchange, RunningServer, serve
from tests.support.keys import KeyFiles

TICKER = "KXTEST-26NOV25"

RunCli = Callable[[Sequence[str], Mapping[str, str]], int]


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
    with serve(exchange, tls=True) as running:
        yield running


@pytest.fixture
def env(key_files: dict[str, KeyFiles], server: RunningServer) -> dict[str, str]:
    return {
        "KALSHI_API_KEY_ID": "me",
        "KALSHI_PRIVATE_KEY_PATH": str(key_files["ed25519"].path),
        "KALSHI_BASE_URL": server.base_url,
    }


@pytest.fixture
def run_cli(server: RunningServer) -> RunCli:
    """``main(argv, environ)`` with the local exchange's CA trusted."""

    def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
        return main([*argv, "--ca-file", str(server.ca_path)], environ)

    return run
