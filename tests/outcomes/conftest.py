"""Fixtures for the outcome tests: one Ed25519 and one RSA KalshiAuth per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_hooks import KalshiAuth, load_private_key
from tests.support.keys import KeyFiles

KEY_ID = "test-key-id"


@pytest.fixture
def ed_auth(key_files: dict[str, KeyFiles]) -> Iterator[KalshiAuth]:
    auth = KalshiAuth(KEY_ID, load_private_key(key_files["ed25519"].path))
    yield auth
    auth.close()


@pytest.fixture
def rsa_auth(key_files: dict[str, KeyFiles]) -> Iterator[KalshiAuth]:
    auth = KalshiAuth(KEY_ID, load_private_key(key_files["rsa_pkcs1"].path))
    yield auth
    auth.close()
