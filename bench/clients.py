"""The table of clients. Add a row here to bench one more client or configuration.

A row names a set-up function ("module:function") that the child process
(`python -m bench.run_client NAME`) imports lazily, so a row's libraries load only in its
own process. It takes a bench.common.Context (key, plain http or TLS, port) and builds the
client once, as the client's own README shows, then returns the op to time: a callable
doing one amend and raising unless it got a parsed 200, or, for rows with `in_flight`, an
async callable awaited with that many amends outstanding. It raises
bench.common.Unavailable when the client cannot run a cell; the cell then says why.
"""

from __future__ import annotations

from dataclasses import dataclass

KEYS = ("rsa", "ed25519")
SCHEMES = ("http", "tls")
CELLS = tuple(f"{key}/{scheme}" for scheme in SCHEMES for key in KEYS)


@dataclass(frozen=True)
class Client:
    name: str
    what: str
    setup: str
    env: str = "main"  # "peers": run with the peers' virtualenv (.bench/peers-venv)
    in_flight: int = 0  # > 0: async; per-amend cost = batch wall time / amends in the batch
    needs: str = ""  # the PyPI project of a peer, to say why it is missing
    matrix: bool = True  # timed per amend on the loopback servers (the four cells)
    latency: bool = False  # also run behind the latency proxy (RSA, TLS)
    pause_s: float = 0.0  # idle time before each timed amend (not timed), as a bot waits for the market


OFFICIAL, OFFICIAL_ASYNC, KALSHI_SDK = "kalshi-python-sync", "kalshi-python-async", "kalshi-sdk"

# Rows a target compares are neighbours, and rounds run alternately forwards and
# backwards, so a machine that drifts shifts both sides of a comparison alike.
CLIENTS: tuple[Client, ...] = (
    Client("stdlib", "limit: http.client, one kept-alive socket, same signing", "bench.ours:stdlib"),
    Client(
        "ours", "ours: auth_hooks.amend_order (the README's call)", "bench.ours:recommended", latency=True
    ),
    Client("ours-raw", "ours: amend_order_v2.sync_detailed (generated)", "bench.ours:raw"),
    # Pre-signing pays off only when amends of an order have idle time between them.
    Client(
        "ours-paced",
        "ours: amend_order, 3 ms idle before each amend",
        "bench.ours:recommended",
        pause_s=0.003,
    ),
    Client(
        "ours-presign",
        "ours: amend_order, KalshiAuth(presign=True), 3 ms idle before each amend",
        "bench.ours:presigned",
        pause_s=0.003,
    ),
    Client(
        "official",
        f"{OFFICIAL} 3.34.0: client.amend_order_v2",
        "bench.peers:official",
        env="peers",
        needs=OFFICIAL,
        latency=True,
    ),
    Client(
        "kalshi-sdk",
        f"{KALSHI_SDK} 22.4.0: client.orders.amend_v2",
        "bench.peers:kalshi_sdk",
        env="peers",
        needs=KALSHI_SDK,
        latency=True,
    ),
    Client(
        "ours-warm",
        "ours: amend_order, warm_up(client) first and after 4 s idle",
        "bench.ours:warmed",
        matrix=False,
        latency=True,
    ),
    Client(
        "ours-async",
        "ours: amend_order_async, the default (our asyncio pool; httpx-aiohttp not installed)",
        "bench.ours:async_default",
        in_flight=32,
    ),
    Client(
        "ours-async-aiohttp",
        "ours: amend_order_async, async_backend='aiohttp' (what a proxy needs)",
        "bench.ours:async_aiohttp",
        in_flight=32,
    ),
    Client(
        "official-async",
        f"{OFFICIAL_ASYNC} 3.34.0: await client.amend_order_v2",
        "bench.peers:official_async",
        env="peers",
        in_flight=32,
        needs=OFFICIAL_ASYNC,
    ),
    Client(
        "kalshi-sdk-async",
        f"{KALSHI_SDK} 22.4.0: AsyncKalshiClient",
        "bench.peers:kalshi_sdk_async",
        env="peers",
        in_flight=32,
        needs=KALSHI_SDK,
    ),
)

BY_NAME = {client.name: client for client in CLIENTS}
