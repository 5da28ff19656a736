"""Run every benchmark and print one summary table.

From the repository root: ``uv run python -m bench`` (or
``uv run python bench/run_all.py``). ``--only import,digest,http,clicks,run,slack-import,sweep`` picks
some; ``--quick`` runs small sizes (a smoke test, not for the numbers).
Exit status 1 when a target is missed or a benchmark fails.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_clicks, bench_digest, bench_home, bench_http, bench_import, bench_run, bench_slack_import, bench_sweep
from bench._common import Row, machine, print_rows

RUNTIME_LIMIT_MIN = 15  # issue 10: the whole bench, limits enforced, within 15 minutes
BENCHES = {
    "import": (bench_import.run, {}, {"n_rows": 5_000, "repeat": 1}),
    "digest": (bench_digest.run, {}, {"n_items": 600, "repeat": 1, "limit_items": 100, "limit_repeat": 1}),
    "http": (bench_http.run, {}, {"per_client": 5, "warmup": 1, "rounds": 2}),
    "clicks": (bench_clicks.run, {}, {"clicks": 2, "repeat": 1}),
    "run": (bench_run.run, {"clicks": 10}, {"clicks": 3, "idle": 1.0}),
    "slack-import": (bench_slack_import.run, {}, {"n_rows": 20_000, "repeat": 1, "baseline_commands": 5}),
    "home": (bench_home.run, {}, {"n_records": 5_000, "repeat": 3, "homes": 30}),
    "sweep": (bench_sweep.run, {}, {"large": 50_000, "repeat": 3}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benches run, numbers mean little")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; choose from {', '.join(BENCHES)}")

    print(machine())
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}{' (quick)' if args.quick else ''}\n")
    rows: list[Row] = []
    started = time.perf_counter()
    for name in chosen:
        run, full, quick = BENCHES[name]
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        try:
            found = run(**(quick if args.quick else full))
        except Exception:
            traceback.print_exc()
            found = [Row(bench=name, metric="(benchmark failed: see traceback)", value="—", baseline="—", ratio=None, target="—", passed=False)]
        print_rows(found)
        print(f"   ({time.perf_counter() - began:.0f} s)\n", flush=True)
        rows += found

    took = time.perf_counter() - started
    whole = set(chosen) == set(BENCHES) and not args.quick  # the limit is for the whole bench at full size
    rows.append(Row(bench="all", metric=f"runtime of {'the whole bench' if whole else ', '.join(chosen)}", value=f"{took / 60:.1f} min",
                    baseline="—", ratio=None, target=f"< {RUNTIME_LIMIT_MIN} min" if whole else "(info)",
                    passed=took < RUNTIME_LIMIT_MIN * 60 if whole else None))
    print_rows(rows, title="== summary")
    targets = [r for r in rows if r.passed is not None]
    failed = [r for r in targets if not r.passed]
    print(f"\n{len(targets) - len(failed)} of {len(targets)} targets met, {len(failed)} FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
