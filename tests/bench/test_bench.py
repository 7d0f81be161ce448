"""The bench harness works end to end. Nothing here is timed: numbers are `make bench`'s job."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from bench import server as server_module
from bench.common import KEY_FILES, KEY_IDS, REPO, V2_PATH, Context
from bench.keys import write_keys
from bench.ours import signer, stdlib
from bench.report import Cells, targets
from bench.server import check_signature, load_public_keys


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench-keys")
    write_keys(folder)
    return folder


@pytest.fixture(scope="module")
def ports(keys_dir: Path) -> Iterator[dict[str, int]]:
    # A 40 ms round trip and a 0.5 s idle close: long enough to see, short enough to wait for.
    server, ports = server_module.start(keys_dir, rtt_ms=40, idle_close_s=0.5)
    yield ports
    server_module.stop(server)


def _head(ctx: Context, stamp: int, signed: str = V2_PATH) -> bytes:
    """A request head for V2_PATH (with a query, which is not signed), signing `signed`."""
    signature = base64.b64encode(signer(ctx)(f"{stamp}POST{signed}".encode())).decode()
    return (
        f"POST {V2_PATH}?subaccount=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"KALSHI-ACCESS-KEY: {ctx.key_id}\r\nKALSHI-ACCESS-TIMESTAMP: {stamp}\r\n"
        f"KALSHI-ACCESS-SIGNATURE: {signature}"
    ).encode()


def test_keys_are_in_kalshis_formats(keys_dir: Path) -> None:
    assert (keys_dir / KEY_FILES["rsa"]).read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY")
    ed = (keys_dir / KEY_FILES["ed25519"]).read_bytes()
    assert ed.startswith(b"-----BEGIN PRIVATE KEY")
    assert serialization.load_pem_private_key(ed, None) is not None


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_server_checks_signatures(keys_dir: Path, kind: str) -> None:
    keys = load_public_keys(keys_dir)
    ctx = Context(port=0, keys_dir=keys_dir, key_kind=kind)
    now = int(time.time() * 1000)
    assert check_signature(_head(ctx, now), keys) == ""
    assert "does not verify" in check_signature(
        _head(ctx, now, signed="/portfolio/events/orders/x/amend"), keys
    )
    assert "ms off" in check_signature(_head(ctx, now - 60_000), keys)
    other = Context(port=0, keys_dir=keys_dir, key_kind="ed25519" if kind == "rsa" else "rsa")
    wrong_key = _head(other, now).replace(other.key_id.encode(), KEY_IDS[kind].encode())
    assert "does not verify" in check_signature(wrong_key, keys)


@pytest.mark.parametrize("scheme", ["http", "tls", "proxy"])
def test_the_stdlib_limit_amends_on_every_listener(
    keys_dir: Path, ports: dict[str, int], scheme: str
) -> None:
    amend = stdlib(Context(ports[scheme], keys_dir, "ed25519", tls=scheme != "http"))
    assert amend() == amend()  # a parsed 200, twice on one kept-alive connection


def test_the_proxy_delays_and_closes_idle_connections(keys_dir: Path, ports: dict[str, int]) -> None:
    tls = ssl.create_default_context(cafile=str(keys_dir / "ca.pem"))
    began = time.monotonic()
    raw = socket.create_connection(("127.0.0.1", ports["proxy"]), timeout=30)
    with tls.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        # The connect's round trip, then TLS 1.3's: a lower bound (with slack), never an upper one.
        assert time.monotonic() - began >= 1.5 * 0.040
        assert sock.recv(1) == b""  # the proxy's idle close: EOF, not a hang


def test_targets_compare_the_right_cells() -> None:
    def cell(*round_medians: float) -> dict[str, Any]:
        return {"samples_ns": list(round_medians), "round_medians_ns": list(round_medians)}

    cells: Cells = {
        "ours": {"rsa/http": cell(1000, 1000), "ed25519/http": cell(400, 400)},
        "ours-raw": {"rsa/http": cell(990, 960), "ed25519/http": cell(300, 300)},
        "official": {"rsa/http": cell(1400, 1400)},
        "ours-async": {
            "rsa/http": cell(300, 300),
            "rsa/tls": {"unavailable": "async requests need httpx-aiohttp (pip)"},
        },
    }
    latency = {"ours-warm": {"first_ns": 22e6, "idle_ns": 30e6, "p99_ns": 21e6}}
    found = {t.text: t for t in targets(cells, latency, rtt_ms=20)}
    recommended = found["recommended amend_order / raw sync_detailed, rsa/http"]
    assert recommended.verdict == "PASS"
    assert "borderline" in recommended.line()  # 1000/990 passes, 1000/960 does not
    assert found["recommended amend_order / raw sync_detailed, ed25519/http"].verdict == "FAIL"
    assert found["official / ours, sequential, rsa/http"].verdict == "PASS"
    assert found["official / ours, sequential, ed25519/http"].verdict == "N/A "
    assert found["ours sync / ours async 32 in flight, per amend, rsa/http"].verdict == "PASS"
    never_slower = "async as installed (no httpx-aiohttp) never slower than sync: ours / ours-async"
    assert found[f"{never_slower}, rsa/http"].verdict == "PASS"
    assert found[f"{never_slower}, rsa/tls"].verdict == "N/A "  # async refused: no pass
    assert found["ours with warm-up, first amend, in round trips"].verdict == "PASS"
    assert found["ours with warm-up, after 10 s idle, in round trips"].verdict == "FAIL"


def test_harness_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    argv = [sys.executable, "-m", "bench", "--no-peers", "--rounds", "1", "--seconds", "0.02"]
    argv += ["--warmup", "0.01", "--min-ops", "3", "--only", "stdlib,ours,official,ours-warm"]
    argv += ["--steady", "2", "--idle", "0.3", "--idle-close", "0.1", "--setup", "2", "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.rstrip("\n") == done.stdout.rstrip("\n")
    assert ", 0 rejected" in report
    for name in ("stdlib", "ours"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {name} "))
        assert "n/a" not in row, row  # every cell has a median
    assert "`official` rsa/http, ed25519/http, rsa/tls, ed25519/tls: skipped (--no-peers)" in report
    real_network = report.split("## A real network")[1].split("## Targets")[0].splitlines()
    assert "n/a" not in next(line for line in real_network if line.startswith("| ours "))
    assert any(line.startswith("| official ") for line in real_network)  # says why not
    assert "## Targets" in report
