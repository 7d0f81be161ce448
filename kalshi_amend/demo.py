"""``make demo``: the main job end to end, on the bundled local exchange.

Starts the local exchange on a free loopback port over HTTPS, with a throwaway CA (the
real exchange is HTTPS only, so the demo takes that path too), makes a throwaway
Ed25519 key (the private half only in a temporary directory), seeds a market with one
resting bid of yours and asks of another trader, then runs the real ``kalshi-amend``
command, trusting that CA with ``--ca-file``, with a price that crosses part of the book. Prints the book before and after and the
exchange's answer, and exits 0 only if the amend filled in part and the rest rests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from local_exchange import BookSnapshot, Exchange, serve

TICKER = "KXHIGHNY-26NOV25-T50"
YOU, OTHER = "demo-key", "market-maker"


def _key_pair(directory: Path) -> tuple[Path, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    path = directory / "demo-key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def _seed(exchange: Exchange, public_pem: bytes, other_pem: bytes) -> str:
    exchange.add_market(TICKER)
    exchange.add_account(YOU, public_pem)
    exchange.add_account(OTHER, other_pem)
    for price, count in (("0.52", "5"), ("0.47", "4"), ("0.45", "3")):
        exchange.place_order(OTHER, TICKER, "ask", price, count)
    return exchange.place_order(YOU, TICKER, "bid", "0.40", "10", client_order_id="demo-bid-1")


def _print_book(title: str, book: BookSnapshot, mine: str) -> None:
    print(f"\n{title}: {book.ticker}")
    print("  asks (sell YES)")
    for order in reversed(book.asks):
        print(f"    {order.price:.4f} x {order.remaining:>6.2f}   {order.account}")
    print("  bids (buy YES)")
    for order in book.bids:
        marker = "   <- your order" if order.order_id == mine else ""
        print(f"    {order.price:.4f} x {order.remaining:>6.2f}   {order.account}{marker}")


def _command() -> list[str]:
    script = Path(sys.executable).with_name("kalshi-amend")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kalshi_amend"]


def main(argv: Sequence[str] | None = None) -> int:
    exchange = Exchange()
    other_pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with tempfile.TemporaryDirectory(prefix="kalshi-demo-") as tmp, serve(exchange, tls=True) as server:
        key_path, public_pem = _key_pair(Path(tmp))
        order_id = _seed(exchange, public_pem, other_pem)
        print(f"Local exchange at {server.base_url}")
        _print_book("Book before", exchange.book(TICKER), order_id)

        # Raise the bid from 0.40 to 0.47 and keep the total at 10: it crosses the asks
        # at 0.45 and 0.47 (7 contracts) and the remaining 3 rest at 0.47.
        args = [order_id, "--ticker", TICKER, "--side", "bid", "--price", "0.47", "--count", "10"]
        args += ["--client-order-id", "demo-bid-1", "--base-url", server.base_url]
        args += ["--ca-file", str(server.ca_path)]  # trust the local exchange's throwaway CA
        env = {**os.environ, "KALSHI_API_KEY_ID": YOU, "KALSHI_PRIVATE_KEY_PATH": str(key_path)}
        for name in ("KALSHI_ENV", "KALSHI_BASE_URL", "KALSHI_PRIVATE_KEY", "KALSHI_PRIVATE_KEY_PASSWORD"):
            env.pop(name, None)
        shown = " ".join(["kalshi-amend", *args])
        print(f"\n$ KALSHI_API_KEY_ID={YOU} KALSHI_PRIVATE_KEY_PATH={key_path} {shown}")
        done = subprocess.run(
            [*_command(), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"kalshi-amend exited {done.returncode}", file=sys.stderr)
            return 1
        answer = json.loads(done.stdout)
        print(json.dumps(answer, indent=2))
        _print_book("Book after", exchange.book(TICKER), order_id)

    print(
        f"\nFilled {answer['fill_count']} at an average {answer['average_fill_price']} "
        f"(fee {answer['average_fee_paid']} per contract); {answer['remaining_count']} resting."
    )
    partial = answer.get("fill_count") not in (None, "0.00") and answer.get("remaining_count") not in (
        None,
        "0.00",
    )
    return 0 if partial else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
