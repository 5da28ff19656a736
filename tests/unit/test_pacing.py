"""The pacer spaces calls under Slack's limits, per key, across threads; a
fake clock stands in for time, so nothing here sleeps."""

from __future__ import annotations

import threading

import pytest

from bot.pacing import SLACK_PACES, Pace, Pacer


class FakeTime:
    """A clock that only moves when someone sleeps; every start is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(fake: FakeTime, paces=None) -> Pacer:
    return Pacer(SLACK_PACES if paces is None else paces, clock=fake.clock, sleep=fake.sleep)


def starts(fake: FakeTime, p: Pacer, calls: list[tuple[str, str | None]]) -> list[float]:
    out = []
    for method, channel in calls:
        p.wait(method, channel)
        out.append(round(fake.now - 1000.0, 6))
    return out


def test_posts_in_one_channel_start_one_interval_apart_and_the_first_at_once() -> None:
    fake = FakeTime()
    interval = SLACK_PACES["chat.postMessage"].interval
    assert 1.0 < interval <= 1.1  # Slack: about one per second per channel; within the 1.1x target
    got = starts(fake, pacer(fake), [("chat.postMessage", "C1")] * 5)
    assert got == [round(i * interval, 6) for i in range(5)]


def test_other_channels_and_dms_do_not_wait_for_a_busy_channel() -> None:
    fake = FakeTime()
    p = pacer(fake)
    starts(fake, p, [("chat.postMessage", "C1")] * 3)
    before = fake.now
    assert p.wait("chat.postMessage", "C2") == 0 and p.wait("chat.postMessage", "DU0CSLEAD") == 0
    assert fake.now == before


def test_a_caller_after_a_quiet_spell_goes_at_once_and_earns_no_burst() -> None:
    fake = FakeTime()
    p = pacer(fake)
    p.wait("chat.postMessage", "C1")
    fake.now += 60  # a quiet minute
    assert p.wait("chat.postMessage", "C1") == 0
    assert p.wait("chat.postMessage", "C1") == pytest.approx(SLACK_PACES["chat.postMessage"].interval)  # the quiet minute is not saved up


def test_lookups_are_paced_for_the_whole_workspace_at_tier_3() -> None:
    fake = FakeTime()
    interval = SLACK_PACES["conversations.history"].interval
    assert 60 / 50 <= interval <= 60 / 50 * 1.1  # Tier 3: 50+ per minute
    got = starts(fake, pacer(fake), [("conversations.history", "C1"), ("conversations.history", "C2"), ("conversations.history", None)])
    assert got == [0.0, round(interval, 6), round(2 * interval, 6)]
    assert SLACK_PACES["conversations.replies"] == SLACK_PACES["conversations.history"]


def test_methods_without_a_pace_never_wait() -> None:
    fake = FakeTime()
    p = pacer(fake)
    for _ in range(10):
        assert p.wait("chat.update", "C1") == 0 and p.wait("chat.postEphemeral", "C1") == 0
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
        p.wait("chat.postMessage", "C1")

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(t - now, 6) for t in turns) == [round(i * 1.05, 6) for i in range(1, 16)]  # the first went at once

