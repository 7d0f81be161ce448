"""Issue 12, the async life cycle: ``with`` / ``async with`` close both pools and may be
entered again; a client used from a second event loop either works (a pool of its own
there) or refuses before sending; scripts leave nothing on stderr."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from auth_hooks import KalshiAuth, KalshiConfigError, amend_order, amend_order_async, make_client
from tests.outcomes.helpers import body
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID
from .modes import ASYNC_MODES, client_args

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(key_files: dict[str, KeyFiles]) -> Iterator[SignatureCheckingServer]:
    state = SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem})
    with state.running():
        yield state


def test_with_after_a_first_use_and_again(auth: KalshiAuth, server: SignatureCheckingServer) -> None:
    client = make_client(auth, base_url=server.base_url)
    amend_order(client, "o1", body())
    with client:  # the generated client raised RuntimeError here: its pool was already open
        amend_order(client, "o2", body())
    assert client._client is None  # closed
    with client:  # and once more: a new pool
        amend_order(client, "o3", body())
    assert [r.verdict for r in server.received] == ["ok"] * 3


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_async_with_closes_both_pools(mode: str, auth: KalshiAuth, server: SignatureCheckingServer) -> None:
    client = make_client(auth, base_url=server.base_url, **client_args(mode))

    async def run() -> tuple[httpx.Client, httpx.AsyncClient]:
        async with client:
            amend_order(client, "sync", body())
            await amend_order_async(client, "async", body())
            pools = client.get_httpx_client(), client.get_async_httpx_client()
        return pools

    sync_pool, async_pool = asyncio.run(run())
    assert sync_pool.is_closed and async_pool.is_closed
    assert len(server.received) == 2


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_one_client_across_two_asyncio_runs(
    mode: str, auth: KalshiAuth, server: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=server.base_url, **client_args(mode))
    for n in range(3):  # no close in between: each run's pool is closed as its loop ends
        result = asyncio.run(amend_order_async(client, f"o{n}", body()))
        assert result.order_id == f"o{n}"
    assert [r.verdict for r in server.received] == ["ok"] * 3


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_async_with_in_one_asyncio_run_then_another(
    mode: str, auth: KalshiAuth, server: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=server.base_url, **client_args(mode))

    async def run(order_id: str) -> str:
        async with client:
            return (await amend_order_async(client, order_id, body())).order_id

    assert [asyncio.run(run(f"o{n}")) for n in range(2)] == ["o0", "o1"]


def test_a_given_async_transport_refuses_a_second_loop_before_sending(
    auth: KalshiAuth, server: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=server.base_url, async_transport=httpx.AsyncHTTPTransport())

    async def amend_and_close(order_id: str) -> None:
        async with client:
            await amend_order_async(client, order_id, body())

    asyncio.run(amend_and_close("o1"))
    with pytest.raises(KalshiConfigError, match="make a new client for this loop"):
        asyncio.run(amend_and_close("o2"))
    assert len(server.received) == 1


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_loop_still_running_elsewhere_is_refused_before_sending(
    mode: str, auth: KalshiAuth, server: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=server.base_url, **client_args(mode))
    used, done = threading.Event(), threading.Event()

    async def first_loop() -> None:
        await amend_order_async(client, "o1", body())
        used.set()
        await asyncio.to_thread(done.wait, 30)
        await client.aclose()

    thread = threading.Thread(target=asyncio.run, args=(first_loop(),))
    thread.start()
    try:
        assert used.wait(30)
        with pytest.raises(KalshiConfigError, match="another running event loop"):
            asyncio.run(amend_order_async(client, "o2", body()))
    finally:
        done.set()
        thread.join(30)
    assert len(server.received) == 1


SCRIPT = """
import asyncio, sys
from auth_hooks import KalshiAuth, amend_order_async, load_private_key, make_client
from tests.outcomes.helpers import body

auth = KalshiAuth({key_id!r}, load_private_key({key_path!r}))

async def main() -> None:
    {body}

asyncio.run(main())
print("done")
"""
WITH = """async with make_client(auth, base_url={url!r}, async_backend={backend!r}) as client:
        await amend_order_async(client, "o1", body())"""
WITHOUT = """client = make_client(auth, base_url={url!r}, async_backend={backend!r})
    await amend_order_async(client, "o1", body())"""


@pytest.mark.parametrize("mode", ASYNC_MODES)
@pytest.mark.parametrize("shape", ["async with", "no close"])
def test_scripts_leave_nothing_on_stderr(
    mode: str, shape: str, key_files: dict[str, KeyFiles], server: SignatureCheckingServer
) -> None:
    backend = client_args(mode)["async_backend"]
    block = (WITH if shape == "async with" else WITHOUT).format(url=server.base_url, backend=backend)
    script = SCRIPT.format(key_id=KEY_ID, key_path=str(key_files["ed25519"].path), body=block)
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(script)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert done.stderr == ""
    assert [r.verdict for r in server.received] == ["ok"]
