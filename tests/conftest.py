"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.keys import KeyFiles, make_key_files


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyFiles]:
    """The session's test keys by name: rsa_pkcs1, rsa_pkcs8, ed25519, rsa_encrypted."""
    directory: Path = tmp_path_factory.mktemp("keys")
    return make_key_files(directory)
