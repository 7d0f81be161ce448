"""Fixtures for the transport tests: an Ed25519 KalshiAuth and a throwaway CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auth_hooks import KalshiAuth, load_private_key
from tests.support.keys import KeyFiles

from .servers import Ca, make_ca

KEY_ID = "ed25519"


@pytest.fixture
def auth(key_files: dict[str, KeyFiles]) -> Iterator[KalshiAuth]:
    auth = KalshiAuth(KEY_ID, load_private_key(key_files["ed25519"].path))
    yield auth
    auth.close()


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Ca:
    directory: Path = tmp_path_factory.mktemp("ca")
    return make_ca(directory)
