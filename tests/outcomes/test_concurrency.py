"""Many amends at once on one KalshiAuth (RSA): 200 async tasks on one client and 4
threads of sync amends. Every signature verifies, none is used twice, and the clock
offset stays one consistent value, also when the server's clock is 40 s off."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import pytest
from kalshi_trade_api.models import AmendOrderV2Response

from auth_hooks import KalshiAuth, amend_order, amend_order_async, make_client
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID
from .helpers import body

TASKS = 200
THREADS = 4
PER_THREAD = 15
TOLERANCE_MS = 1500


def run_everything_at_once(auth: KalshiAuth, base_url: str) -> dict[str, list[int]]:
    """Runs the async tasks (in their own thread's event loop) and the sync threads at once.

    Returns the clock offset each worker saw after each of its amends.
    """
    client = make_client(auth, base_url=base_url, timeout=10.0)
    offsets: dict[str, list[int]] = {f"thread-{n}": [] for n in range(THREADS)}
    offsets["tasks"] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def sync_worker(n: int) -> None:
        start.wait()
        try:
            for i in range(PER_THREAD):
                result = amend_order(client, f"t{n}-{i}", body())
                assert result.order_id == f"t{n}-{i}"
                offsets[f"thread-{n}"].append(auth.clock_offset_ms)
        except BaseException as exc:
            errors.append(exc)

    async def one(i: int) -> AmendOrderV2Response:
        result = await amend_order_async(client, f"a{i}", body())
        offsets["tasks"].append(auth.clock_offset_ms)
        return result

    async def async_worker() -> None:
        try:
            results = await asyncio.gather(*(one(i) for i in range(TASKS)))
            assert [r.order_id for r in results] == [f"a{i}" for i in range(TASKS)]
        finally:
            await client.aclose()

    def async_thread() -> None:
        start.wait()
        try:
            asyncio.run(async_worker())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sync_worker, args=(n,)) for n in range(THREADS)]
    threads.append(threading.Thread(target=async_thread))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert errors == []
    return offsets


def check_signatures(server: SignatureCheckingServer) -> None:
    accepted = [r for r in server.received if r.verdict == "ok"]
    signatures = [r.headers["kalshi-access-signature"] for r in server.received]
    assert len(accepted) == TASKS + THREADS * PER_THREAD
    # Every signature sent (accepted or not) is distinct: nothing was signed twice.
    assert len(set(signatures)) == len(signatures)
    assert server.signatures_seen == {r.headers["kalshi-access-signature"] for r in accepted}


def test_200_tasks_and_4_threads_on_one_auth_all_verify(
    key_files: dict[str, KeyFiles], rsa_auth: KalshiAuth
) -> None:
    server = SignatureCheckingServer({KEY_ID: key_files["rsa_pkcs1"].public_pem})
    started = time.monotonic()
    with server.running():
        offsets = run_everything_at_once(rsa_auth, server.base_url)
        check_signatures(server)
        assert Counter(r.verdict for r in server.received) == {"ok": TASKS + THREADS * PER_THREAD}
    # Same clock on both sides: the offset stays near zero for everyone.
    assert all(abs(offset) <= TOLERANCE_MS for seen in offsets.values() for offset in seen)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("skew_s", [40, -40])
def test_with_a_skewed_server_everyone_converges_on_one_offset(
    key_files: dict[str, KeyFiles], rsa_auth: KalshiAuth, skew_s: int
) -> None:
    server = SignatureCheckingServer({KEY_ID: key_files["rsa_pkcs1"].public_pem}, skew_s=skew_s)
    with server.running():
        offsets = run_everything_at_once(rsa_auth, server.base_url)
        check_signatures(server)
        verdicts = Counter(r.verdict for r in server.received)
        expired = verdicts["header_timestamp_expired"]
        assert set(verdicts) <= {"ok", "header_timestamp_expired"}
        # Bounded: only requests signed before the first answer taught the offset are
        # refused, each once (every amend succeeded, and the auth re-sends only once).
        assert expired <= TASKS + THREADS
        final = rsa_auth.clock_offset_ms
        assert abs(final - skew_s * 1000) <= TOLERANCE_MS
        # Every worker, after its first amend, saw the one learned offset.
        for seen in offsets.values():
            assert all(abs(offset - final) <= TOLERANCE_MS for offset in seen)
        # Once learned, a second burst from everyone is refused nothing.
        before = len(server.received)
        offsets = run_everything_at_once(rsa_auth, server.base_url)
        assert [r.verdict for r in server.received[before:]] == ["ok"] * (TASKS + THREADS * PER_THREAD)
