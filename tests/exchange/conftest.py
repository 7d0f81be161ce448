"""Fixtures: one exchange per test on a fixed clock, with markets and three accounts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from local_exchange import Exchange, RunningServer, serve

from .support import AmendApi, FakeClock, TestKey, trusting

MARKET = "KXTEST-26NOV-A"  # linear_cent
TAPERED = "KXTEST-26NOV-TAPER"  # tapered_deci_cent
DECI = "KXTEST-26NOV-DECI"  # deci_cent, charges maker fees


@pytest.fixture(scope="session")
def alice_key() -> TestKey:
    """RSA (key generation is slow: once per session)."""
    return TestKey("alice-key", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def bob_key() -> TestKey:
    return TestKey("bob-key", ed25519.Ed25519PrivateKey.generate())


@pytest.fixture(scope="session")
def carol_key() -> TestKey:
    return TestKey("carol-key", ed25519.Ed25519PrivateKey.generate())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def exchange(clock: FakeClock, alice_key: TestKey, bob_key: TestKey, carol_key: TestKey) -> Exchange:
    """Accounts are named after their owners: alice (RSA key), bob and carol (Ed25519)."""
    ex = Exchange(clock=clock)
    ex.add_market(MARKET)
    ex.add_market(TAPERED, price_grid="tapered_deci_cent")
    ex.add_market(DECI, price_grid="deci_cent", maker_fees=True)
    ex.add_account(alice_key.key_id, alice_key.public_pem, account="alice")
    ex.add_account(bob_key.key_id, bob_key.public_pem, account="bob")
    ex.add_account(carol_key.key_id, carol_key.public_pem, account="carol")
    return ex


@pytest.fixture
def server(exchange: Exchange) -> Iterator[RunningServer]:
    # HTTPS, as the real exchange: every client here trusts its throwaway CA.
    with serve(exchange, tls=True) as running:
        yield running
    # A response that broke the spec, or an unhandled exception, is a bug in the exchange.
    assert exchange.server_errors == []


@pytest.fixture
def api(server: RunningServer) -> Iterator[AmendApi]:
    with httpx.Client(timeout=5.0, verify=trusting(server)) as client:
        yield AmendApi(server, client)
