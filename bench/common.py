"""What every bench process agrees on: the request, the key files, the JSON it reports.

Standard library only: this module is imported in the project's .venv and in the peers'
virtualenv alike, and by the short-lived processes whose start-up time is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = REPO / ".bench"  # git-ignored: the peers' virtualenv and the latest report live here

# One amend, the same for every client. Ours and the floors send the V2 body; the peers
# only know the older V1 path and send its equivalent (same ticker, price and total count).
ORDER_ID = "ee7e5d94-5ffd-4d3b-a8c3-5d0a1d2e2f8b"
TICKER = "KXBENCH-26NOV25-T50"
PRICE = "0.5600"
COUNT = "10.00"
V2_PATH = f"/trade-api/v2/portfolio/events/orders/{ORDER_ID}/amend"
V1_PATH = f"/trade-api/v2/portfolio/orders/{ORDER_ID}/amend"
V2_BODY = {"ticker": TICKER, "side": "bid", "price": PRICE, "count": COUNT}

# Key files written by the orchestrator at start (bench.keys); the id tells the server
# which public key checks a signature.
KEY_FILES = {"rsa": "rsa_pkcs1.pem", "ed25519": "ed25519_pkcs8.pem"}
KEY_IDS = {"rsa": "bench-rsa-key", "ed25519": "bench-ed25519-key"}


@dataclass(frozen=True)
class Context:
    """Everything a client variant needs to set itself up, parsed from the command line."""

    port: int
    keys_dir: Path
    key_kind: str  # "rsa" or "ed25519"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/trade-api/v2"

    @property
    def key_path(self) -> Path:
        return self.keys_dir / KEY_FILES[self.key_kind]

    @property
    def key_id(self) -> str:
        return KEY_IDS[self.key_kind]

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()


class Unavailable(Exception):
    """A variant that cannot run here (missing package or API); its row says why."""
