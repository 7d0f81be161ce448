"""Every Python and shell example in README.md runs as written, against the local exchange.

Each ```python block is a complete script and each ```sh block a complete shell snippet.
They run in a fresh process with what a user's shell would hold: KALSHI_API_KEY_ID and
KALSHI_PRIVATE_KEY_PATH for a key the exchange knows, KALSHI_BASE_URL pointing at the
local exchange over HTTPS, SSL_CERT_FILE naming its throwaway CA, and ORDER_ID a fresh
resting bid (0.40 x 10) of that key in KXHIGHNY-26NOV25-T50, with asks of another trader
at 0.45, 0.47 and 0.52. A block passes when it exits 0 and writes nothing to stderr that
looks like a warning or a traceback (an unclosed session, a leaked task).

```text blocks are output or need a real Kalshi account and the internet; the README
says so where it shows them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_exchange import Exchange, RunningServer, serve
from tests.support.keys import KeyFiles

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TICKER = "KXHIGHNY-26NOV25-T50"
KEY_ID = "readme-key"
# `make test` is what runs this file, and `make bench` takes minutes: shown, not run here.
NOT_RUN_HERE = ("make test", "make bench")
BLOCK = re.compile(r"^```(python|sh)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOISE = re.compile(r"Traceback|Warning|Unclosed|never retrieved|Error", re.IGNORECASE)


def examples() -> list[tuple[str, str, int]]:
    text = README.read_text()
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group(1), match.group(2), line))
    return found


EXAMPLES = examples()


def test_the_readme_has_runnable_examples() -> None:
    kinds = {kind for kind, _, _ in EXAMPLES}
    assert kinds == {"python", "sh"}
    assert len(EXAMPLES) >= 5


@pytest.fixture(scope="module")
def exchange_server(key_files: dict[str, KeyFiles]) -> Iterator[RunningServer]:
    exchange = Exchange()
    exchange.add_market(TICKER)
    exchange.add_account(KEY_ID, key_files["ed25519"].public_pem)
    exchange.open_account("market-maker")
    with serve(exchange, tls=True) as server:
        yield server


@pytest.mark.parametrize(
    ("kind", "code", "line"), EXAMPLES, ids=[f"README.md:{line}" for _, _, line in EXAMPLES]
)
def test_the_example_runs_as_written(
    exchange_server: RunningServer, key_files: dict[str, KeyFiles], kind: str, code: str, line: int
) -> None:
    if any(command in code for command in NOT_RUN_HERE):
        pytest.skip("shown, not run here: " + ", ".join(c for c in NOT_RUN_HERE if c in code))
    exchange = exchange_server.exchange
    for price, count in (("0.52", "5"), ("0.47", "4"), ("0.45", "3")):
        exchange.place_order("market-maker", TICKER, "ask", price, count)
    order_id = exchange.place_order(KEY_ID, TICKER, "bid", "0.40", "10")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KALSHI_") and key not in ("SSL_CERT_FILE", "SSL_CERT_DIR")
    }
    env.update(
        KALSHI_API_KEY_ID=KEY_ID,
        KALSHI_PRIVATE_KEY_PATH=str(key_files["ed25519"].path),
        KALSHI_BASE_URL=exchange_server.base_url,
        SSL_CERT_FILE=str(exchange_server.ca_path),
        ORDER_ID=order_id,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    command = [sys.executable, "-c", code] if kind == "python" else ["bash", "-euo", "pipefail", "-c", code]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"README.md:{line} exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert not NOISE.search(done.stderr), f"README.md:{line} wrote to stderr:\n{done.stderr[-3000:]}"
