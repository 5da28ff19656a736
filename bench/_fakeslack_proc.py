"""``FakeSlack`` in a child process, so that its CPU (parsing, Block Kit
checks, copying messages) does not compete for this process's GIL, as Slack's
servers would not.

The child serves on 127.0.0.1, port 0, and answers one-line commands on stdin:
``hook NAME`` (a response_url), ``calls`` (counts per method, failures as
JSON), ``quit``. It exits on ``quit`` or when its stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class RemoteFakeSlack:
    """The parent's handle on a ``FakeSlack`` running in a child process."""

    def __init__(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench._fakeslack_proc"], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        line = self._child.stdout.readline().split()
        if not line or line[0] != "READY":
            self.close()
            raise RuntimeError(f"fake Slack child did not start: {line}")
        self.api_url = line[1]

    def _ask(self, command: str) -> str:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        return self._child.stdout.readline().strip()

    def response_url(self, name: str) -> str:
        return self._ask(f"hook {name}")

    def calls(self) -> dict:
        """``{"methods": {method: count}, "failed": n, "first_failure": str | None}``"""
        return json.loads(self._ask("calls"))

    def count(self, method: str) -> int:
        return int(self._ask(f"count {method}"))

    def close(self) -> None:
        if self._child.poll() is None:
            try:
                self._child.stdin.write("quit\n")
                self._child.stdin.close()
            except OSError:
                pass
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(timeout=10)

    def __enter__(self) -> RemoteFakeSlack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _serve() -> None:
    from bot.fakeslack import FakeSlack

    with FakeSlack() as fake:
        print(f"READY {fake.api_url}", flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "hook":
                print(fake.response_url(argument), flush=True)
            elif command == "count":
                print(len(fake.calls_to(argument)), flush=True)
            elif command == "calls":
                calls = fake.calls
                failed = [c for c in calls if c.error]
                print(json.dumps({
                    "methods": Counter(c.method for c in calls),
                    "failed": len(failed),
                    "first_failure": repr(failed[0])[:300] if failed else None,
                }), flush=True)  # fmt: skip
            elif command == "quit":
                break
            else:
                print("?", flush=True)


if __name__ == "__main__":
    _serve()
