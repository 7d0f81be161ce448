"""ServerClock: the exchange's clock offset from Date headers, and unique timestamps."""

from __future__ import annotations

import threading
from email.utils import formatdate

from auth_hooks import ServerClock
from auth_hooks.clock import MAX_AHEAD_MS

LOCAL = 1_700_000_000.0


def _date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


def test_offset_is_learned_from_the_date_header() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL + 40), LOCAL)
    assert abs(clock.offset_ms - 40_000) <= 500
    assert abs(clock.now_ms() - (LOCAL + 40) * 1000) <= 500


def test_small_differences_are_ignored_but_a_forced_reading_applies() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL), LOCAL + 0.2)  # within Date's one-second resolution
    assert clock.offset_ms == 0
    clock.observe(_date(LOCAL + 1), LOCAL + 0.2, force=True)
    assert clock.offset_ms == 1300


def test_negative_skew_and_timestamps_may_go_back_after_a_correction() -> None:
    clock = ServerClock(lambda: LOCAL)
    before = clock.now_ms()
    clock.observe(_date(LOCAL - 40), LOCAL)
    after = clock.now_ms()
    assert abs(clock.offset_ms + 39_500) <= 1
    assert after < before - 39_000


def test_garbage_dates_are_ignored() -> None:
    clock = ServerClock(lambda: LOCAL)
    for header in ("", "yesterday", "Mon, 01 Jan 99999999999 00:00:00 GMT", _date(LOCAL + 3 * 86400)):
        clock.observe(header, LOCAL, force=True)
    assert clock.offset_ms == 0


def test_listeners_hear_of_changes_only() -> None:
    clock = ServerClock(lambda: LOCAL)
    heard: list[int] = []
    clock.on_change(heard.append)
    clock.observe(_date(LOCAL + 10), LOCAL)
    clock.observe(_date(LOCAL + 10), LOCAL)
    assert heard == [10_500]


def test_timestamps_in_a_burst_are_unique_across_threads() -> None:
    clock = ServerClock(lambda: LOCAL)  # a frozen clock: every call is "the same millisecond"
    issued: list[int] = []
    lock = threading.Lock()

    def take_some() -> None:
        mine = [clock.now_ms() for _ in range(10)]
        with lock:
            issued.extend(mine)

    threads = [threading.Thread(target=take_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(issued)) == 40
    assert min(issued) == int(LOCAL * 1000)


def test_timestamps_never_run_ahead_of_the_clock_by_more_than_the_bound() -> None:
    # 5000 signatures in one frozen millisecond: uniqueness gives way before drift does,
    # or every later request would be refused as too far in the future.
    clock = ServerClock(lambda: LOCAL)
    issued = [clock.now_ms() for _ in range(5000)]
    assert max(issued) - int(LOCAL * 1000) <= MAX_AHEAD_MS
    assert clock.read_ms() == int(LOCAL * 1000)  # reading does not issue


def test_a_forced_reading_lets_timestamps_restart_from_the_clock() -> None:
    clock = ServerClock(lambda: LOCAL)
    for _ in range(30):
        clock.now_ms()
    clock.observe(_date(LOCAL), LOCAL + 0.5, force=True)  # same offset as before: 0
    assert clock.now_ms() == int(LOCAL * 1000)
