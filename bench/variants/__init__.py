"""The table of client variants. Add a row here to bench one more client or configuration.

A row names a set-up function ("module:function") that the child process
(`python -m bench.run_client NAME`) imports lazily, so a row's libraries are loaded only
in its own process. The function takes a bench.common.Context and returns the op to time:
a plain callable doing one amend (or one signature), or, for rows with `in_flight`, an
async callable that is awaited with that many amends outstanding. It raises
bench.common.Unavailable when the client cannot run here; the row then says why.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    setup: str
    key: str = "rsa"
    env: str = "main"  # "peers": run with the peers' virtualenv (.bench/peers-venv)
    in_flight: int = 0  # > 0: async, per-amend cost = batch wall time / amends in the batch
    kind: str = "amend"  # "sign" rows do no I/O
    needs: str = ""  # the PyPI project a peer row needs, to report why it is missing
    pause_ms: float = 0  # sync rows: idle time between amends (see bench.measure.Budget)


# Rows a target compares sit next to each other, and rounds run alternately forwards and
# backwards: a machine that gets slower or faster during the run then shifts both sides of
# a comparison alike. The report keeps this order.
VARIANTS: tuple[Variant, ...] = (
    Variant("sign-rsa", "floor: RSA-2048 PSS signature", "bench.variants.floors:sign", kind="sign"),
    Variant(
        "sign-ed25519",
        "floor: Ed25519 signature",
        "bench.variants.floors:sign",
        key="ed25519",
        kind="sign",
    ),
    # RSA: the key every peer uses, so the peers sit here.
    Variant("floor-httpx-rsa", "floor: hand-written signed httpx POST", "bench.variants.floors:post"),
    Variant("ours-sync-rsa", "ours: make_client + sync_detailed", "bench.variants.ours:sync_amend"),
    Variant(
        "official-sdk-rsa",
        "peer: kalshi-python-sync 3.2.0 (V1 path)",
        "bench.variants.peers:official_amend",
        env="peers",
        needs="kalshi-python-sync",
    ),
    Variant(
        "ours-presign-rsa",
        "ours: opt-in pre-signing, sync",
        "bench.variants.ours:presigned_sync_amend",
    ),
    Variant(
        "kalshi-py-rsa",
        "peer: kalshi-py 2.0.6.6 (V1 path)",
        "bench.variants.peers:kalshi_py_amend",
        env="peers",
        needs="kalshi-py",
    ),
    Variant(
        "ours-async32-rsa",
        "ours: asyncio_detailed, 32 in flight",
        "bench.variants.ours:async_amend",
        in_flight=32,
    ),
    # The same three with 2 ms of idle time before each amend, as a bot has between market
    # events: pre-signing can only pay off when the signer has that time.
    Variant(
        "ours-sync-rsa-paced",
        "ours: make_client + sync_detailed, 2 ms apart",
        "bench.variants.ours:sync_amend",
        pause_ms=2,
    ),
    Variant(
        "ours-presign-rsa-paced",
        "ours: opt-in pre-signing, sync, 2 ms apart",
        "bench.variants.ours:presigned_sync_amend",
        pause_ms=2,
    ),
    Variant(
        "official-sdk-rsa-paced",
        "peer: kalshi-python-sync 3.2.0, 2 ms apart",
        "bench.variants.peers:official_amend",
        env="peers",
        needs="kalshi-python-sync",
        pause_ms=2,
    ),
    # Ed25519: signing is cheap, so these rows show the clients' own overhead best.
    Variant(
        "floor-httpx-ed25519",
        "floor: hand-written signed httpx POST",
        "bench.variants.floors:post",
        key="ed25519",
    ),
    Variant(
        "ours-sync-ed25519",
        "ours: make_client + sync_detailed",
        "bench.variants.ours:sync_amend",
        key="ed25519",
    ),
    Variant(
        "ours-async32-ed25519",
        "ours: asyncio_detailed, 32 in flight",
        "bench.variants.ours:async_amend",
        key="ed25519",
        in_flight=32,
    ),
    Variant(
        "ours-presign-ed25519",
        "ours: opt-in pre-signing, sync",
        "bench.variants.ours:presigned_sync_amend",
        key="ed25519",
    ),
    # Yardsticks below httpx (in no target): the same signed POST on the standard
    # library's http.client, and on aiohttp (what make_client's async transport runs on).
    Variant(
        "floor-stdlib-ed25519",
        "yardstick: same POST on http.client",
        "bench.variants.floors:post_stdlib",
        key="ed25519",
    ),
    Variant(
        "floor-aiohttp32-ed25519",
        "yardstick: same POST on aiohttp, 32 in flight",
        "bench.variants.floors:post_aiohttp",
        key="ed25519",
        in_flight=32,
    ),
)

BY_NAME = {variant.name: variant for variant in VARIANTS}
