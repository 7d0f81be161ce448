"""The opt-in presigning pipeline: fresh, single-use, bounded in age, never slower to wait on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from auth_hooks import KalshiAuth, amend_order, load_private_key, make_client
from auth_hooks.presign import SignaturePipeline
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

PATH = "/trade-api/v2/portfolio/events/orders/o/amend"


class FakeSigner:
    """Counts signatures; each is (now, "sig-N"). Can be held to test waiting."""

    def __init__(self, now: list[int]) -> None:
        self.now = now
        self.count = 0
        self.paths: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, method: str, path: str) -> tuple[int, str]:
        self.release.wait(5)
        self.count += 1
        self.paths.append(path)
        return self.now[0], f"sig-{self.count}"


@pytest.fixture
def now() -> list[int]:
    return [1_700_000_000_000]


@pytest.fixture
def pipeline(now: list[int]) -> Iterator[tuple[SignaturePipeline, FakeSigner]]:
    signer = FakeSigner(now)
    pipe = SignaturePipeline(signer, lambda: now[0], max_age_ms=1000)
    yield pipe, signer
    pipe.close()


def _make_hot(pipe: SignaturePipeline, path: str) -> None:
    """Two uses: what makes a path worth preparing."""
    assert pipe.take("POST", path) is None
    pipe.take("POST", path)


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_first_use_signs_inline_then_a_prepared_signature_is_ready(
    pipeline: tuple[SignaturePipeline, FakeSigner],
) -> None:
    pipe, signer = pipeline
    assert pipe.take("POST", PATH) is None  # nothing prepared yet: the caller signs
    assert pipe.take("POST", PATH) is None  # used twice: now hot, and prepared from here on
    _wait_until(lambda: signer.count == 1)
    first = pipe.take("POST", PATH)
    assert first == (1_700_000_000_000, "sig-1")
    _wait_until(lambda: signer.count == 2)
    second = pipe.take("POST", PATH)
    assert second == (1_700_000_000_000, "sig-2")  # never the same one twice
    assert (pipe.hits, pipe.misses) == (2, 2)


def test_a_prepared_signature_older_than_max_age_is_never_used(
    pipeline: tuple[SignaturePipeline, FakeSigner], now: list[int]
) -> None:
    pipe, signer = pipeline
    _make_hot(pipe, PATH)
    _wait_until(lambda: signer.count == 1)
    signer.release.clear()  # hold the worker so the stale one stays in place
    now[0] += 1000
    assert pipe.take("POST", PATH) is None
    signer.release.set()


def test_take_waits_for_the_signature_the_worker_is_making(
    pipeline: tuple[SignaturePipeline, FakeSigner],
) -> None:
    pipe, signer = pipeline
    signer.release.clear()
    _make_hot(pipe, PATH)
    _wait_until(lambda: ("POST", PATH) in pipe._signing)
    threading.Timer(0.05, signer.release.set).start()
    assert pipe.take("POST", PATH) == (1_700_000_000_000, "sig-1")


def test_take_without_wait_never_blocks(pipeline: tuple[SignaturePipeline, FakeSigner]) -> None:
    pipe, signer = pipeline
    signer.release.clear()
    _make_hot(pipe, PATH)
    _wait_until(lambda: ("POST", PATH) in pipe._signing)
    started = time.monotonic()
    assert pipe.take("POST", PATH, wait=False) is None  # async code: sign inline instead
    assert time.monotonic() - started < 0.04
    signer.release.set()


def test_a_signature_begun_before_discard_all_is_not_kept(
    pipeline: tuple[SignaturePipeline, FakeSigner],
) -> None:
    pipe, signer = pipeline
    signer.release.clear()
    _make_hot(pipe, PATH)
    _wait_until(lambda: ("POST", PATH) in pipe._signing)
    pipe.discard_all()  # the clock offset changed while the worker was signing
    signer.release.set()
    _wait_until(lambda: signer.count >= 2 and ("POST", PATH) not in pipe._signing)
    taken = pipe.take("POST", PATH)
    assert taken is not None
    assert taken[1] != "sig-1"  # the one begun before the change was dropped


def test_a_signature_dated_ahead_of_the_clock_is_not_used(
    pipeline: tuple[SignaturePipeline, FakeSigner], now: list[int]
) -> None:
    pipe, signer = pipeline
    _make_hot(pipe, PATH)
    _wait_until(lambda: signer.count == 1)
    signer.release.clear()
    now[0] -= 5000  # the clock moved back
    assert pipe.take("POST", PATH) is None
    signer.release.set()


def test_other_paths_are_prepared_separately(pipeline: tuple[SignaturePipeline, FakeSigner]) -> None:
    pipe, signer = pipeline
    _make_hot(pipe, PATH)
    _make_hot(pipe, PATH + "2")
    _wait_until(lambda: signer.count == 2)
    assert pipe.take("POST", PATH + "2") is not None
    assert pipe.take("POST", PATH) is not None


def test_discard_all_drops_prepared_signatures(pipeline: tuple[SignaturePipeline, FakeSigner]) -> None:
    pipe, signer = pipeline
    _make_hot(pipe, PATH)
    _wait_until(lambda: signer.count == 1)
    signer.release.clear()
    pipe.discard_all()
    assert pipe.take("POST", PATH) is None
    signer.release.set()


def test_max_age_is_bounded() -> None:
    with pytest.raises(ValueError, match="max_age_ms"):
        SignaturePipeline(lambda m, p: (0, ""), lambda: 0, max_age_ms=60_000)


def test_presigned_amends_verify_on_the_server_and_are_never_reused(key_files: dict[str, KeyFiles]) -> None:
    server = SignatureCheckingServer({"k": key_files["rsa_pkcs1"].public_pem})
    auth = KalshiAuth("k", load_private_key(key_files["rsa_pkcs1"].path), presign=True)
    body = AmendOrderV2Request(ticker="T", side=BookSide.BID, price="0.5600", count="10.00")
    with server.running():
        client = make_client(auth, base_url=server.base_url)
        pipeline = auth._pipeline
        assert pipeline is not None
        for n in range(20):
            if n >= 2:  # a bot's idle time between amends of a hot order: the worker signs then
                _wait_until(lambda: bool(pipeline._ready))
            amend_order(client, "o", body)
        client.close()
    auth.close()
    assert [r.verdict for r in server.received] == ["ok"] * 20
    assert len(server.signatures_seen) == 20  # the server also asserts uniqueness
    stats = auth.presign_stats
    assert stats is not None
    hits, misses = stats
    assert (hits, misses) == (18, 2)  # only the first two amends of the path sign inline


def test_presign_is_ignored_for_ed25519(key_files: dict[str, KeyFiles]) -> None:
    auth = KalshiAuth("k", load_private_key(key_files["ed25519"].path), presign=True)
    assert auth.presign_stats is None


# -- bounded work (issue 11: 2,000 distinct orders kept a core busy while idle) -------------


def test_paths_signed_once_are_never_prepared_and_an_idle_worker_does_nothing(
    pipeline: tuple[SignaturePipeline, FakeSigner], now: list[int]
) -> None:
    pipe, signer = pipeline
    _make_hot(pipe, PATH)
    _wait_until(lambda: signer.count == 1)
    for n in range(2000):
        assert pipe.take("POST", f"/trade-api/v2/portfolio/events/orders/o-{n}/amend") is None
    now[0] += 10_000  # everything idle for longer than the horizon
    _wait_until(lambda: not pipe._hot)  # the worker noticed, and forgot the hot path
    signed, wakeups, cpu = signer.count, pipe.wakeups, pipe.worker_cpu_s
    time.sleep(1.0)  # an observation window, not a synchronisation: nothing may happen in it
    assert (signer.count, pipe.wakeups, pipe.worker_cpu_s) == (signed, wakeups, cpu)
    assert set(signer.paths) == {PATH}  # only the repeated path was ever prepared


def test_a_second_use_long_after_the_first_does_not_make_a_path_hot(
    pipeline: tuple[SignaturePipeline, FakeSigner], now: list[int]
) -> None:
    pipe, _ = pipeline
    pipe.take("POST", PATH)
    now[0] += 60_000
    pipe.take("POST", PATH)
    assert not pipe._hot
    assert pipe._thread is None  # no worker was ever needed


def test_at_most_max_paths_are_hot(now: list[int]) -> None:
    signer = FakeSigner(now)
    pipe = SignaturePipeline(signer, lambda: now[0], max_paths=8)
    try:
        for n in range(100):
            path = f"{PATH}-{n}"
            pipe.take("POST", path)
            pipe.take("POST", path)
            assert len(pipe._hot) <= 8
        with pipe._cond:
            assert set(pipe._hot) == {("POST", f"{PATH}-{n}") for n in range(92, 100)}
            assert len(pipe._ready) <= 8
    finally:
        pipe.close()


def test_with_real_rsa_only_the_repeated_path_is_presigned(key_files: dict[str, KeyFiles]) -> None:
    auth = KalshiAuth("k", load_private_key(key_files["rsa_pkcs1"].path), presign=True)
    pipe = auth._pipeline
    assert pipe is not None
    try:
        for n in range(2000):
            auth._timestamp_and_signature("POST", f"/trade-api/v2/portfolio/events/orders/o-{n}/amend")
        assert pipe._thread is None and pipe.signatures == 0  # no worker for paths signed once
        auth._timestamp_and_signature("POST", PATH)
        auth._timestamp_and_signature("POST", PATH)
        _wait_until(lambda: ("POST", PATH) in pipe._ready)
        before = pipe.signatures
        time.sleep(1.0)  # an observation window: one hot path is refreshed every max_age / 2
        assert pipe.signatures - before <= 3
        assert set(pipe._hot) == {("POST", PATH)}
        auth._timestamp_and_signature("POST", PATH)
        assert pipe.hits == 1
    finally:
        auth.close()
