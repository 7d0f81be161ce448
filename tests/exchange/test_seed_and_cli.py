"""Seed files, and `python -m local_exchange` as a real process."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import ssl
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from local_exchange import Exchange, PriceGrid, SeedError, load_seed
from local_exchange.seed import EXAMPLE_SEED_PATH

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
        ({"price": 0.56}, r"orders\[0\]\.price: must be a quoted string, e\.g\. price: \"0\.56\""),
        ({"count": 10}, r"orders\[0\]\.count: must be a quoted string"),
        ({"ticker": "NOPE"}, r"orders\[0\]\.ticker: no market 'NOPE'; define it under markets"),
        ({"account": "nobody"}, r"orders\[0\]\.account: no account 'nobody'; define it under accounts"),
        ({"colour": "red"}, r"orders\[0\]: unknown field\(s\) \['colour'\]"),
        ({"price": "0.565"}, r"orders\[0\]: .*grid"),
        ({"price": "cheap"}, r"orders\[0\]\.price: 'cheap' is not a number"),
        ({"side": "buy"}, r"orders\[0\]\.side: must be bid \(buys YES\) or ask"),
        # YAML reads an unquoted yes as True: the message names the field and the fix.
        (
            {"side": True},
            r"orders\[0\]\.side: YAML read an unquoted yes/no/on/off/true/false as the boolean true;"
            r" quote the value, e\.g\. side: \"bid\"",
        ),
        ({"ticker": False}, r"orders\[0\]\.ticker: YAML read .* boolean false"),
        ({"subaccount": 64}, r"orders\[0\]\.subaccount: must be between 0 and 63"),
        ({"subaccount": "1"}, r"orders\[0\]\.subaccount: must be a whole number"),
        ({"expiration_time": 1}, r"orders\[0\]: expiration_time 1 is not in the future"),
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


def seed_error(tmp_path: Path, document: object) -> str:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(document))
    with pytest.raises(SeedError) as caught:
        load_seed(seed)
    return str(caught.value)


def test_yaml_booleans_are_refused_with_the_quoting_fix(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "markets:\n  - ticker: M\naccounts:\n  - account: maker\norders:\n"
        "  - {account: maker, ticker: M, side: yes, price: '0.5', count: '1'}\n"
    )
    with pytest.raises(SeedError, match=r"seed\.yaml: orders\[0\]\.side: YAML read .* quote the value"):
        load_seed(seed)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"markets": [{"ticker": "M", "price_grid": "cents"}]}, r"markets\[0\]\.price_grid: must be one of"),
        ({"markets": [{"ticker": "M"}, {"ticker": "M"}]}, r"markets\[1\]\.ticker: market M is defined twice"),
        ({"markets": [{"paused": "yes"}]}, r"markets\[0\]: missing field\(s\) ticker"),
        ({"markets": [{"ticker": "M", "paused": "yes"}]}, r"markets\[0\]\.paused: must be true or false"),
        ({"accounts": [{"key_id": "k"}]}, r"accounts\[0\]: a key_id needs exactly one of public_key_pem"),
        ({"accounts": [{"key_id": "k", "public_key_pem": "junk"}]}, r"accounts\[0\]\.public_key_pem: "),
        (
            {"accounts": [{"key_id": "k", "public_key_path": "nope.pub"}]},
            r"accounts\[0\]\.public_key_path: cannot read",
        ),
        ({"accounts": [{"read_only": True}]}, r"accounts\[0\]: a public key or read_only needs a key_id"),
        ({"exchange": {"timestamp_window_s": "10"}}, r"exchange\.timestamp_window_s: must be a number"),
        ({"exchange": {"window": 10}}, r"exchange: unknown field\(s\) \['window'\]"),
        ({"order": []}, r"unknown section\(s\) \['order'\]"),
        ({"orders": {"account": "x"}}, r"orders: must be a list"),
    ],
)
def test_seed_sections_are_named_in_errors(tmp_path: Path, document: object, message: str) -> None:
    text = seed_error(tmp_path, document)
    assert re.search(message, text), text
    assert "add_account" not in text and "Exchange(" not in text  # no Python API in a seed error


def test_a_client_order_id_used_twice_is_a_seed_error(tmp_path: Path) -> None:
    order = {
        "account": "maker",
        "ticker": "M",
        "side": "bid",
        "price": "0.50",
        "count": "1",
        "client_order_id": "c",
    }
    document = {"markets": [{"ticker": "M"}], "accounts": [{"account": "maker"}], "orders": [order, order]}
    assert "orders[1]: client order id c was already used" in seed_error(tmp_path, document)


def test_counterparties_need_no_key_and_the_example_seed_loads() -> None:
    exchange = load_seed(EXAMPLE_SEED_PATH)
    book = exchange.book("HIGHNY-24JAN01-T60")
    assert [o.account for o in book.bids + book.asks] == ["market-maker", "market-maker"]
    assert exchange.has_account("market-maker")
    assert exchange.api_key("market-maker") is None  # it cannot sign anything


def test_help_points_at_the_example_seed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local_exchange", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert str(EXAMPLE_SEED_PATH) in result.stdout
    assert "--tls" in result.stdout


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "local_exchange", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 20)
    assert ready, "nothing printed"
    return process.stdout.readline().strip()


@pytest.mark.parametrize("keep_ca", [False, True])
def test_python_m_local_exchange_over_tls_without_a_seed(tmp_path: Path, keep_ca: bool) -> None:
    kept = tmp_path / "ca.pem"
    process = start("--tls", *(["--ca-path", str(kept)] if keep_ca else []))
    try:
        base_url = read_line(process)
        assert base_url.startswith("https://127.0.0.1:")
        assert process.stdout is not None
        ca_path = Path(process.stdout.readline().strip())  # printed with the URL, in one write
        assert ca_path == kept if keep_ca else ca_path.is_file()
        trusting = ssl.create_default_context(cafile=str(ca_path))
        # An empty exchange: any order is unknown, and an unsigned read is a 401.
        response = httpx.get(base_url + "/portfolio/orders/x", verify=trusting, timeout=10)
        assert response.status_code == 401
        process.send_signal(signal.SIGTERM)  # a clean exit too, throwing the keys away
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
        assert ca_path.exists() == keep_ca  # only the copy asked for stays
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


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
