"""What every bench process agrees on: the request, the key and CA files, the servers' ports.

Standard library only: imported in the project's .venv and in the peers' virtualenv alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = REPO / ".bench"  # git-ignored: the peers' virtualenv and the latest report live here

# One amend (Amend Order V2), the same for every client.
ORDER_ID = "ee7e5d94-5ffd-4d3b-a8c3-5d0a1d2e2f8b"
TICKER = "KXBENCH-26NOV25-T50"
PRICE = "0.5600"
COUNT = "10.00"
V2_PATH = f"/trade-api/v2/portfolio/events/orders/{ORDER_ID}/amend"
V2_BODY = {"ticker": TICKER, "side": "bid", "price": PRICE, "count": COUNT}

# Files written by the orchestrator at start (bench.keys): throwaway keys, and a throwaway
# CA with the server certificate it signed for 127.0.0.1. The key id tells the server
# which public key checks a signature.
KEY_FILES = {"rsa": "rsa_pkcs1.pem", "ed25519": "ed25519_pkcs8.pem"}
KEY_IDS = {"rsa": "bench-rsa-key", "ed25519": "bench-ed25519-key"}
CA_FILE = "ca.pem"
SERVER_CERT_FILE = "server.pem"  # certificate chain and private key, for the server only


@dataclass(frozen=True)
class Context:
    """Where one client sends its amends, and with which key."""

    port: int
    keys_dir: Path
    key_kind: str  # "rsa" or "ed25519"
    tls: bool = False

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/trade-api/v2"

    @property
    def key_path(self) -> Path:
        return self.keys_dir / KEY_FILES[self.key_kind]

    @property
    def key_id(self) -> str:
        return KEY_IDS[self.key_kind]

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    @property
    def ca_path(self) -> str:
        return str(self.keys_dir / CA_FILE)


class Unavailable(Exception):
    """A client that cannot run here (missing package, key type or option); its cell says why."""
