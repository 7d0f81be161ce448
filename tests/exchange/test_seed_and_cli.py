"""Seed files, and `python -m local_exchange` as a real process."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from local_exchange import Exchange, PriceGrid, SeedError, load_seed

from .support import TestKey, amend_path, real_now_ms, signed_headers

REPO = Path(__file__).resolve().parents[2]


def write_seed(directory: Path, alice: TestKey, bob: TestKey) -> Path:
    (directory / "alice.pub").write_bytes(alice.public_pem)
    bob_pem = "\n".join("        " + line for line in bob.public_pem.decode().splitlines())
    seed = directory / "seed.yaml"
    seed.write_text(
        f"""
exchange:
  timestamp_window_s: 5
markets:
  - ticker: HIGHNY-24JAN01-T60
  - ticker: KXTAPER
    price_grid: tapered_deci_cent
    maker_fees: true
accounts:
  - key_id: {alice.key_id}
    account: alice
    public_key_path: alice.pub
  - key_id: {bob.key_id}
    public_key_pem: |
{bob_pem}
orders:
  - account: alice
    order_id: alice-bid
    ticker: HIGHNY-24JAN01-T60
    side: bid
    price: "0.56"
    count: "10"
    client_order_id: 8c35ecb3-328f-4f52-8c7c-0f4b9862f8d1
  - account: {bob.key_id}
    ticker: HIGHNY-24JAN01-T60
    side: ask
    price: "0.60"
    count: "2.5"
    subaccount: 7
"""
    )
    return seed


def test_a_yaml_seed(tmp_path: Path, alice_key: TestKey, bob_key: TestKey) -> None:
    exchange = load_seed(write_seed(tmp_path, alice_key, bob_key))
    assert exchange.timestamp_window_s == 5
    book = exchange.book("HIGHNY-24JAN01-T60")
    assert [o.order_id for o in book.bids] == ["alice-bid"]
    assert book.bids[0].client_order_id == "8c35ecb3-328f-4f52-8c7c-0f4b9862f8d1"
    (ask,) = book.asks
    assert (ask.account, ask.subaccount, ask.remaining) == (bob_key.key_id, 7, Decimal("2.5"))
    assert exchange.api_key(alice_key.key_id) is not None
    exchange.place_order("alice", "KXTAPER", "bid", "0.095", "1")  # the grid came through


def test_a_json_seed_into_an_existing_exchange(tmp_path: Path, bob_key: TestKey) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "markets": [{"ticker": "M", "price_grid": "deci_cent"}],
                "accounts": [{"key_id": "bob", "public_key_pem": bob_key.public_pem.decode()}],
                "orders": [{"account": "bob", "ticker": "M", "side": "ask", "price": "0.555", "count": "1"}],
            }
        )
    )
    exchange = Exchange()
    assert load_seed(seed, exchange) is exchange
    assert exchange.book("M").asks[0].price == Decimal("0.555")


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ({"price": 0.56}, r"orders\[0\]: price must be a quoted string"),
        ({"ticker": "NOPE"}, r"orders\[0\]: .*no market NOPE"),
        ({"colour": "red"}, r"orders\[0\]: unknown field"),
        ({"price": "0.565"}, r"orders\[0\]: .*grid"),
    ],
)
def test_seed_errors_say_where(
    tmp_path: Path, bob_key: TestKey, order: dict[str, object], message: str
) -> None:
    base = {"account": "bob", "ticker": "M", "side": "ask", "price": "0.56", "count": "1"}
    document = {
        "markets": [{"ticker": "M", "price_grid": PriceGrid.LINEAR_CENT.value}],
        "accounts": [{"key_id": "bob", "public_key_pem": bob_key.public_pem.decode()}],
        "orders": [base | order],
    }
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(document))
    with pytest.raises(SeedError, match=message):
        load_seed(seed)


def test_python_m_local_exchange_serves_until_ctrl_c(
    tmp_path: Path, alice_key: TestKey, bob_key: TestKey
) -> None:
    seed = write_seed(tmp_path, alice_key, bob_key)
    process = subprocess.Popen(
        [sys.executable, "-m", "local_exchange", "--seed", str(seed), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "no base URL printed"
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/trade-api/v2")

        path = amend_path("alice-bid")
        root = base_url.removesuffix("/trade-api/v2")
        body = {"ticker": "HIGHNY-24JAN01-T60", "side": "bid", "price": "0.56", "count": "8"}
        headers = signed_headers(alice_key, "POST", path, real_now_ms())  # the real clock
        response = httpx.post(root + path, json=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["remaining_count"] == "8.00"

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_m_local_exchange_refuses_to_bind_beyond_loopback(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("markets: []\n")
    result = subprocess.run(
        [sys.executable, "-m", "local_exchange", "--seed", str(seed), "--host", "0.0.0.0"],  # noqa: S104 (refused)
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "only binds to loopback" in result.stderr
