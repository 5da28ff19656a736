"""A 100,000-row file sent to the app in Slack, imported while another user's
commands are answered: the latency of those commands during the import
against the same commands with nothing running.

One process, as ``rejectbot run`` has it: the whole app from ``create_app``
on a SQLite file (WAL, as ``storage.db.make_engine`` sets it), our fake Slack
in the same process, and the import on its own thread
(``bot.services.slack_import.ImportRunner``), woken by the upload event.
A CS agent's upload is a real ``message.im`` ``file_share`` event
(``FakeSlack.upload_as_user``); the bot calls ``files.info``, downloads the
file's ``url_private`` with its token, and imports it through
``import_export``. Meanwhile an owner sends ``/reject status`` (signed slash
commands, dispatched one after another as a person would); each latency is
from dispatch to the answer Slack received (the ``response_url`` post is
synchronous in this layout). The baseline is the same commands, the same
database, no import running.

Figures: median and p95 latency during the import and without, over
``--repeat`` runs (a fresh database each; medians of the runs' medians and
p95s), and the import's wall time. Target: every command answered, and the
p95 during the import under 3 s (Slack's own patience for an answer);
the ratio is informational.

Run: ``uv run python -m bench.bench_slack_import [--rows N] [--repeat N] [--quick]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SHANGHAI, SIGNING_SECRET, Row, generate_rows, machine, median, owners_routing, percentile, print_rows, rows_to_csv
from bot.app import create_app
from bot.clock import SystemClock
from bot.config import Settings
from bot.fakeslack import FakeSlack, SlackSigner, event_callback, slash_command
from bot.gateway import make_client
from bot.services.slack_import import ImportRunner
from storage.db import make_engine, make_session_factory, transaction, upgrade
from storage.models import SlackImport

TARGET_P95_S = 3.0
CS_USER = "U0CS0000"  # the first [cs] agent of owners_routing
OWNER = "U0OWN0001"


def _command(bot, signer: SlackSigner, fake: FakeSlack, n: int) -> float:
    request = slash_command(signer, text="status", user_id=OWNER, channel_id="C0LOGISTICS", response_url=fake.response_url(f"s{n}"))
    began = time.perf_counter()
    response = bot.app.dispatch(request.to_bolt())
    elapsed = time.perf_counter() - began
    if response.status != 200:
        raise RuntimeError(f"/reject status answered {response.status}: {response.body}")
    return elapsed


def _finished(session_factory) -> bool:
    with transaction(session_factory) as session:
        row = session.get(SlackImport, 1)
        return row is not None and row.finished_at is not None


def _one_run(folder: Path, i: int, data: bytes, *, baseline_commands: int) -> tuple[list[float], list[float], float, str]:
    engine = make_engine(f"sqlite:///{folder / f'run-{i}.db'}")
    upgrade(engine)
    session_factory = make_session_factory(engine)
    settings = Settings(
        bot_token="xoxb-bench", app_token=None, signing_secret=SIGNING_SECRET, api_url="unused",
        database_url="unused", routing_file=folder / "routing.toml", timezone=SHANGHAI, locale="en",
    )  # fmt: skip
    signer = SlackSigner(SIGNING_SECRET)
    with FakeSlack() as fake:
        bot = create_app(settings, client=make_client("xoxb-bench", fake.api_url), session_factory=session_factory,
                         clock=SystemClock(), routing=owners_routing(20, branches_per_owner=3), process_before_response=True)  # fmt: skip
        for n in range(3):  # warm up
            _command(bot, signer, fake, -1 - n)
        idle = [_command(bot, signer, fake, n) for n in range(baseline_commands)]
        runner = ImportRunner(bot.services.run_imports, every=3600)
        bot.services.on_import_queued = runner.wake
        runner.start()
        try:
            event = fake.upload_as_user(CS_USER, "callbacks-100k.csv", data)
            began = time.perf_counter()
            bot.app.dispatch(event_callback(signer, event=event, event_id=f"EvBench{i}").to_bolt())
            during: list[float] = []
            n = 0
            while not _finished(session_factory):
                during.append(_command(bot, signer, fake, 10_000 + n))
                n += 1
            took = time.perf_counter() - began
        finally:
            runner.stop(timeout=60)
        with transaction(session_factory) as session:
            row = session.get(SlackImport, 1)
            outcome = f"{row.outcome}: {row.summary.splitlines()[1] if row and row.summary else '?'}"
    engine.dispose()
    return idle, during, took, outcome


def run(*, n_rows: int = 100_000, repeat: int = 3, baseline_commands: int = 30, verbose: bool = True) -> list[Row]:
    data = rows_to_csv(generate_rows(n_rows))
    idle_medians, idle_p95s, during_medians, during_p95s, tooks, counts = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-slack-import-") as tmp:
        for i in range(repeat):
            idle, during, took, outcome = _one_run(Path(tmp), i, data, baseline_commands=baseline_commands)
            if not during:
                raise RuntimeError("the import finished before any command was sent: use more rows")
            idle_medians.append(median(idle))
            idle_p95s.append(percentile(idle, 95))
            during_medians.append(median(during))
            during_p95s.append(percentile(during, 95))
            tooks.append(took)
            counts.append(len(during))
            if verbose:
                print(
                    f"  run {i + 1}/{repeat}: import {took:.1f} s ({outcome}); /reject status idle median "
                    f"{idle_medians[-1] * 1e3:.0f} ms, during the import median {during_medians[-1] * 1e3:.0f} ms, "
                    f"p95 {during_p95s[-1] * 1e3:.0f} ms, max {max(during) * 1e3:.0f} ms over {len(during)} commands",
                    flush=True,
                )
    mid, base = median(during_medians), median(idle_medians)
    p95, base_p95 = median(during_p95s), median(idle_p95s)
    return [
        Row(
            bench="slack-import", metric=f"/reject status during a {n_rows:,}-row upload import, p95 (median of {repeat})",
            value=f"{p95 * 1e3:.0f} ms", baseline=f"{base_p95 * 1e3:.0f} ms idle", ratio=p95 / base_p95,
            target=f"≤ {TARGET_P95_S:g} s", passed=p95 <= TARGET_P95_S,
        ),
        Row(
            bench="slack-import", metric=f"/reject status during the import, median (median of {repeat})",
            value=f"{mid * 1e3:.0f} ms", baseline=f"{base * 1e3:.0f} ms idle", ratio=mid / base, target="(info)", passed=None,
        ),
        Row(
            bench="slack-import", metric=f"upload to summary, {n_rows:,} rows (median of {repeat})",
            value=f"{median(tooks):.1f} s", baseline=f"{median(counts):.0f} commands answered meanwhile", ratio=None,
            target="(info)", passed=None,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(machine())
    rows = run(n_rows=20_000 if args.quick else args.rows, repeat=1 if args.quick else args.repeat)
    print_rows(rows)
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
