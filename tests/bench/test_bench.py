"""The bench harness works end to end. Nothing here is timed: numbers are `make bench`'s job."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bench.common import KEY_FILES, KEY_IDS, REPO, V2_PATH, Context
from bench.keys import write_keys
from bench.report import targets
from bench.server import check_signature, load_public_keys
from bench.startup import ProbeResult
from bench.variants.floors import signer


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench-keys")
    write_keys(folder)
    return folder


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


def test_targets_compare_the_right_rows() -> None:
    meds = {
        "official-sdk-rsa": 1300.0,
        "ours-sync-rsa": 1000.0,
        "ours-presign-rsa": 800.0,
        "floor-httpx-rsa": 950.0,
        "ours-async32-rsa": 600.0,
    }
    probes = {
        "ours": ProbeResult("ours", import_ns=[10], first_amend_ns=[100]),
        "official-sdk": ProbeResult("official-sdk", import_ns=[50], first_amend_ns=[250]),
    }
    # Round by round, ours/floor is 1.05 then 1.18: the pooled PASS is flagged borderline.
    rounds = {"ours-sync-rsa": [1000.0, 1000.0], "floor-httpx-rsa": [950.0, 850.0]}
    found = {t.text: t for t in targets(meds, probes, rounds)}
    verdicts = {text: t.verdict for text, t in found.items()}
    assert found["ours (default) / hand-written httpx floor, sync, rsa"].borderline
    assert not found["official SDK / ours (best), sync, RSA, back to back"].borderline
    # Target 1 takes ours at its best: 1300 / 800 passes where 1300 / 1000 would not.
    assert verdicts["official SDK / ours (best), sync, RSA, back to back"] == "PASS"
    assert verdicts["ours (default) / hand-written httpx floor, sync, rsa"] == "PASS"
    assert verdicts["ours (default) / hand-written httpx floor, sync, ed25519"] == "N/A "
    assert verdicts["ours sync / ours async per amend (32 in flight), rsa"] == "PASS"
    assert verdicts["import: official SDK / ours"] == "PASS"
    assert verdicts["start to first amend: official SDK / ours"] == "FAIL"


def test_harness_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    only = "sign-rsa,floor-httpx-ed25519,ours-sync-rsa,ours-presign-ed25519,ours-async32-rsa,ours-dev-venv"
    argv = [sys.executable, "-m", "bench", "--no-peers", "--rounds", "1", "--seconds", "0.02"]
    argv += ["--warmup", "0.01", "--min-ops", "3", "--startup-runs", "1", "--only", only]
    done = subprocess.run(
        [*argv, "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.rstrip("\n") == done.stdout.rstrip("\n")
    assert ", 0 rejected" in report
    for name in only.split(",")[:-1]:
        row = next(line for line in report.splitlines() if line.startswith(f"| {name} "))
        assert "n/a" not in row.split("|")[3], row  # it has a median
    assert "| ours-dev-venv " in report  # the start-up probe ran
    assert "## Targets" in report
