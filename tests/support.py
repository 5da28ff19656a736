"""Helpers shared by test modules (importable because tests/ holds the root
conftest.py, which pytest puts on sys.path)."""

from __future__ import annotations

import threading


def run_together(*jobs) -> list[BaseException]:
    """Run the jobs in threads released at the same moment; their errors."""
    start = threading.Barrier(len(jobs), timeout=10)
    errors: list[BaseException] = []

    def job_runner(job) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    workers = [threading.Thread(target=job_runner, args=(job,)) for job in jobs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return errors
