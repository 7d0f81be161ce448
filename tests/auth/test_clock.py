"""ServerClock: one offset estimate from Date headers that does not jitter, and unique timestamps."""

from __future__ import annotations

import itertools
import random
import threading
from email.utils import formatdate

import pytest

from auth_hooks import ServerClock
from auth_hooks.clock import AGREEING_READINGS, MARGIN_MS, MAX_STEP_MS, parse_http_date

LOCAL = 1_700_000_000.0


def _date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


def test_a_forced_reading_puts_the_offset_in_the_middle_of_its_interval() -> None:
    clock = ServerClock(lambda: LOCAL)
    # Sent at LOCAL - 0.1, headers back at LOCAL, Date says LOCAL + 40: offset in [40 s, 41.1 s].
    clock.observe(_date(LOCAL + 40), LOCAL, sent_at=LOCAL - 0.1, force=True)
    assert clock.offset_ms == 40_550
    assert clock.now_ms() == (LOCAL + 40.55) * 1000


def test_a_small_move_needs_one_reading_that_excludes_the_estimate() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL + 3), LOCAL, sent_at=LOCAL - 0.01)  # offset in [3000, 4010]
    assert clock.offset_ms == 3000  # the interval's edge nearest the old estimate
    clock.observe(_date(LOCAL + 3), LOCAL + 0.5, sent_at=LOCAL + 0.49)  # [2500, 3510]: agrees
    assert clock.offset_ms == 3000


def test_readings_within_dates_resolution_change_nothing_and_ties_do_not_update() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL), LOCAL + 0.2)  # [-200, 800] holds 0
    clock.observe(_date(LOCAL - 1), LOCAL)  # [-1000, 0]: 0 is its edge, a tie
    clock.observe(_date(LOCAL + 1), LOCAL + 1 - MARGIN_MS / 1000)  # excludes 0 by exactly the margin
    assert clock.offset_ms == 0


def test_out_of_order_responses_across_second_boundaries_never_flip_the_offset() -> None:
    # The exchange runs 370 ms ahead. Requests go out every 37 ms across many second
    # boundaries; each is stamped 1-40 ms after it left and its headers arrive 1-40 ms
    # later; the responses are read in a shuffled order (a pool of connections under
    # load). The old point estimate with a 1 s hysteresis flipped by 1 s on these.
    rng = random.Random(11)
    true_offset = 0.370
    readings = []
    for n in range(400):
        sent = LOCAL + n * 0.037
        stamped = sent + rng.uniform(0.001, 0.040)
        received = stamped + rng.uniform(0.001, 0.040)
        readings.append((_date(stamped + true_offset), received, sent))
    rng.shuffle(readings)
    clock = ServerClock(lambda: LOCAL)
    offsets = [clock.offset_ms]
    for date, received, sent in readings:
        clock.observe(date, received, sent_at=sent)
        if clock.offset_ms != offsets[-1]:
            offsets.append(clock.offset_ms)
    steps = [b - a for a, b in itertools.pairwise(offsets)]
    assert all(step > 0 for step in steps), offsets  # every move toward the truth: no flip
    assert abs(offsets[-1] - true_offset * 1000) <= MARGIN_MS + 80
    assert len(steps) <= 10


def test_a_single_date_23_hours_off_does_not_move_the_offset() -> None:
    clock = ServerClock(lambda: LOCAL)
    far = _date(LOCAL + 23 * 3600)
    clock.observe(far, LOCAL, sent_at=LOCAL - 0.01)
    assert clock.offset_ms == 0
    # Agreeing readings in between reset the count: an outlier stays an outlier.
    for _ in range(5):
        clock.observe(_date(LOCAL), LOCAL + 0.5, sent_at=LOCAL + 0.49)
        clock.observe(far, LOCAL, sent_at=LOCAL - 0.01)
    assert clock.offset_ms == 0


def test_a_jump_beyond_the_bound_needs_several_agreeing_readings() -> None:
    clock = ServerClock(lambda: LOCAL)
    for n in range(AGREEING_READINGS - 1):
        clock.observe(_date(LOCAL + 60 + n), LOCAL + n, sent_at=LOCAL + n - 0.01)
        assert clock.offset_ms == 0
    clock.observe(_date(LOCAL + 62), LOCAL + 2, sent_at=LOCAL + 1.99)
    assert 60_000 <= clock.offset_ms <= 61_010
    # Moves up to the bound are taken from one reading.
    assert MAX_STEP_MS >= 5000


def test_a_forced_reading_may_jump_at_once() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL - 40), LOCAL, sent_at=LOCAL - 0.01, force=True)
    assert abs(clock.offset_ms + 39_500) <= 10


@pytest.mark.parametrize(
    "header",
    [
        "",
        "yesterday",
        "Mon, 01 Jan 99999999999 00:00:00 GMT",
        "Tue, 14 Nov 2023 22:13:20 GMT"[:-4],  # cut short
        "Tue, 14 Nov 2023 22:13:20 +0000",  # not GMT
        "Tue, 14 Nov 2023 22:13:20 GMT, Tue, 14 Nov 2023 22:13:20 GMT",  # two headers joined
        "Wed, 14 Nov 2023 22:13:20 GMT",  # the wrong weekday
        "Tue, 31 Feb 2023 22:13:20 GMT",  # no such day
        "Tuesday, 14-Nov-23 22:13:20 GMT",  # RFC 850, obsolete
        "Tue Nov 14 22:13:20 2023",  # asctime, obsolete
        " Tue, 14 Nov 2023 22:13:20 GMT",
    ],
)
def test_only_whole_imf_fixdates_are_readings(header: str) -> None:
    assert parse_http_date(header) is None
    clock = ServerClock(lambda: LOCAL + 3600)
    clock.observe(header, LOCAL + 3600, force=True)
    assert clock.offset_ms == 0


def test_an_imf_fixdate_parses_and_far_dates_are_ignored() -> None:
    assert parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL + 3 * 86400), LOCAL, force=True)  # beyond any plausible offset
    assert clock.offset_ms == 0


def test_a_slow_round_trip_is_not_a_reading() -> None:
    clock = ServerClock(lambda: LOCAL)
    # Headers 12 s after sending: the offset is anywhere in [-12 s, 1 s]; it says nothing.
    clock.observe(_date(LOCAL - 11), LOCAL, sent_at=LOCAL - 12, force=True)
    assert clock.offset_ms == 0


def test_listeners_hear_of_changes_only() -> None:
    clock = ServerClock(lambda: LOCAL)
    heard: list[int] = []
    clock.on_change(heard.append)
    clock.observe(_date(LOCAL + 3), LOCAL)
    clock.observe(_date(LOCAL + 3), LOCAL)
    assert heard == [3000]


def _issue_while_the_offset_moves(clock: ServerClock, *, forced_every: int) -> list[list[int]]:
    """3000 timestamps from 6 threads while another thread moves the offset by up to 4 s."""
    issued: list[list[int]] = [[] for _ in range(6)]
    start = threading.Barrier(7)
    done = threading.Event()

    def take(mine: list[int]) -> None:
        start.wait()
        for _ in range(500):
            mine.append(clock.now_ms())

    def move_the_offset() -> None:
        start.wait()
        n = 0
        while not done.is_set():
            ahead = (n % 5) - 1  # -1 .. 3 s
            clock.observe(_date(LOCAL + ahead), LOCAL, sent_at=LOCAL - 0.01)
            if forced_every and n % forced_every == 0:
                clock.observe(_date(LOCAL - 1), LOCAL, sent_at=LOCAL - 0.01, force=True)
            n += 1

    takers = [threading.Thread(target=take, args=(mine,)) for mine in issued]
    mover = threading.Thread(target=move_the_offset)
    for thread in [*takers, mover]:
        thread.start()
    for thread in takers:
        thread.join(60)
    done.set()
    mover.join(60)
    assert sum(len(mine) for mine in issued) == 3000
    return issued


def test_timestamps_strictly_increase_across_threads_and_offset_changes() -> None:
    # A frozen local clock (every call "the same millisecond"): 3000 timestamps from 6
    # threads are all different, and each thread's strictly increase, while the offset
    # moves back and forth. The old guard was reset on every offset change, which gave
    # two amends of one order one timestamp, and so one Ed25519 signature.
    clock = ServerClock(lambda: LOCAL)
    issued = _issue_while_the_offset_moves(clock, forced_every=0)
    assert len({stamp for mine in issued for stamp in mine}) == 3000
    for mine in issued:
        assert all(a < b for a, b in itertools.pairwise(mine))


def test_timestamps_stay_unique_across_restarts_after_refusals() -> None:
    # Forced readings (the exchange refused our timestamp) may restart the sequence
    # lower; the restarted sequence skips what was issued before.
    clock = ServerClock(lambda: LOCAL)
    issued = _issue_while_the_offset_moves(clock, forced_every=3)
    assert len({stamp for mine in issued for stamp in mine}) == 3000


def test_an_offset_moving_back_does_not_reissue_timestamps() -> None:
    clock = ServerClock(lambda: LOCAL)
    clock.observe(_date(LOCAL + 3), LOCAL)
    first = clock.now_ms()
    clock.observe(_date(LOCAL), LOCAL + 0.5, sent_at=LOCAL + 0.49)  # back to about 0
    assert clock.offset_ms < 1000
    assert clock.now_ms() == first + 1


def test_timestamps_the_exchange_refused_as_ahead_restart_at_its_clock() -> None:
    # The local clock is 40 s fast: the exchange refuses the first timestamp as expired,
    # and the forced reading must let the re-signed request carry the exchange's time
    # (keeping it strictly above the refused one would be refused for the next 40 s).
    clock = ServerClock(lambda: LOCAL)
    refused = clock.now_ms()
    clock.observe(_date(LOCAL - 40), LOCAL, sent_at=LOCAL - 0.01, force=True)
    again = clock.now_ms()
    assert refused - again > 39_000
    assert clock.now_ms() == again + 1  # and strictly increasing from there
