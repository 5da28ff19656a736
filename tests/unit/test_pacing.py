"""The pacer spaces calls under Slack's limits, per key, across threads; a
fake clock stands in for time, so nothing here sleeps."""

from __future__ import annotations

import random
import threading

import pytest

from bot.pacing import SLACK_PACES, Pace, Pacer

POST = SLACK_PACES["chat.postMessage"]


class FakeTime:
    """A clock that only moves when someone sleeps (or a call takes time)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(fake: FakeTime, paces=SLACK_PACES) -> Pacer:
    return Pacer(paces, clock=fake.clock, sleep=fake.sleep)


def call(fake: FakeTime, p: Pacer, method: str, channel: str | None = None, *, takes: float = 0.0) -> tuple[float, float]:
    """One call that takes ``takes`` seconds to answer: (its start, its end)."""
    with p.turn(method, channel):
        start = fake.now
        fake.now += takes
    return start, fake.now


def test_posts_in_one_channel_start_one_interval_apart_and_the_first_at_once() -> None:
    fake = FakeTime()
    assert 1.0 < POST.interval <= 1.1  # Slack: about one per second per channel; inside the 1.1x target
    p = pacer(fake)
    starts = [call(fake, p, "chat.postMessage", "C1", takes=0.02)[0] for _ in range(6)]
    assert starts == pytest.approx([i * POST.interval for i in range(6)])


def test_other_channels_and_dms_do_not_wait_for_a_busy_channel() -> None:
    fake = FakeTime()
    p = pacer(fake)
    for _ in range(3):
        call(fake, p, "chat.postMessage", "C1")
    before = fake.now
    call(fake, p, "chat.postMessage", "C2")
    call(fake, p, "chat.postMessage", "DU0CSLEAD")
    assert fake.now == before


def test_a_caller_after_a_quiet_spell_goes_at_once_and_earns_no_burst() -> None:
    fake = FakeTime()
    p = pacer(fake)
    call(fake, p, "chat.postMessage", "C1")
    fake.now += 60  # a quiet minute
    first, _ = call(fake, p, "chat.postMessage", "C1")
    second, _ = call(fake, p, "chat.postMessage", "C1")
    assert first == 60 and second == pytest.approx(60 + POST.interval)  # the quiet minute is not saved up


def test_a_slow_answer_holds_back_the_posts_that_would_crowd_it() -> None:
    """A post whose answer took 2.5 s (slack_sdk waiting out a 429, say):
    Slack may have counted it as late as that, so the third post after it
    starts no sooner than 3 s after its answer."""
    fake = FakeTime()
    p = pacer(fake)
    _, slow_end = call(fake, p, "chat.postMessage", "C1", takes=2.5)
    calls = [call(fake, p, "chat.postMessage", "C1", takes=0.01) for _ in range(4)]
    assert calls[2][0] >= slow_end + POST.window
    starts = [s for s, _ in calls]
    assert all(b - a >= POST.interval - 1e-9 for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_whatever_the_latency_no_three_posts_reach_slack_within_three_seconds(seed) -> None:
    """Each post reaches Slack somewhere between its start and its answer,
    after a random delay (up to 1.5 s: a loaded machine); Slack refuses a
    fourth post within any 3 s (the fake's reading of its limit)."""
    rng = random.Random(seed)
    fake = FakeTime()
    p = pacer(fake)
    arrivals = []
    for _ in range(200):
        with p.turn("chat.postMessage", "C1"):
            there = rng.choice([0.005, 0.01, 0.02, rng.uniform(0, 1.5)])
            arrivals.append(fake.now + there)
            fake.now += there + rng.uniform(0.0, 0.5)
    assert all(later - earlier > 3.0 - 1e-9 for earlier, later in zip(arrivals, arrivals[3:], strict=False))


def test_lookups_are_paced_for_the_whole_workspace_at_tier_3() -> None:
    fake = FakeTime()
    pace = SLACK_PACES["conversations.history"]
    assert 60 / 50 <= pace.interval <= 60 / 50 * 1.1 and (pace.burst, pace.window) == (50, 60.0)  # Tier 3: 50+ per minute
    p = pacer(fake)
    starts = [call(fake, p, "conversations.history", channel)[0] for channel in ("C1", "C2", None)]
    assert starts == pytest.approx([0.0, pace.interval, 2 * pace.interval])
    assert SLACK_PACES["conversations.replies"] == pace


def test_methods_without_a_pace_never_wait() -> None:
    fake = FakeTime()
    p = pacer(fake)
    for _ in range(10):
        call(fake, p, "chat.update", "C1")
        call(fake, p, "chat.postEphemeral", "C1")
    assert fake.slept == []


def test_threads_asking_at_once_get_distinct_turns_one_interval_apart() -> None:
    """Every caller in the process shares one pacer: sixteen threads asking
    at the same instant each get a turn of their own, none closer than the interval."""
    now = 500.0
    turns: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:  # the clock stands still: each thread's turn is now + its wait
        with lock:
            turns.append(now + seconds)

    p = Pacer({"chat.postMessage": Pace(1.05, per_channel=True)}, clock=lambda: now, sleep=sleep)
    barrier = threading.Barrier(16)

    def ask() -> None:
        barrier.wait()
        with p.turn("chat.postMessage", "C1"):
            pass

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t - now for t in turns) == pytest.approx([i * 1.05 for i in range(1, 16)])  # the first went at once


def test_a_call_waits_for_the_answer_of_the_one_a_window_back_still_out() -> None:
    """Two paced threads: the third post waits until the first, still out,
    has its answer, then keeps the window from it."""
    fake = FakeTime()
    lock = threading.Lock()
    p = Pacer({"m": Pace(0.0, burst=2, window=3.0)}, clock=lambda: fake.now, sleep=lambda s: None)
    first_in, release = threading.Event(), threading.Event()
    third_started: list[float] = []

    def first() -> None:
        with p.turn("m"):
            first_in.set()
            release.wait(5)
            with lock:
                fake.now = 10.0  # its answer comes at 10

    def third() -> None:
        with p.turn("m"):
            third_started.append(fake.now)

    t1 = threading.Thread(target=first)
    t1.start()
    first_in.wait(5)
    with p.turn("m"):  # the second goes at once
        pass
    t3 = threading.Thread(target=third)
    t3.start()
    t3.join(0.2)
    assert third_started == []  # held until the first answers
    release.set()
    t1.join(5)
    t3.join(5)
    assert third_started == [10.0]  # the fake sleeper does not move the clock: it went once the first's answer came


def test_a_call_that_fails_still_frees_its_window() -> None:
    fake = FakeTime()
    p = pacer(fake)
    with pytest.raises(ConnectionError), p.turn("chat.postMessage", "C1"):
        fake.now += 0.1
        raise ConnectionError("dropped")
    starts = [call(fake, p, "chat.postMessage", "C1")[0] for _ in range(3)]  # the third waits on the failed one's end, which came
    assert starts[-1] >= 0.1 + POST.window - 1e-9
