"""`make bench`: runs every benchmarks/bench_*.py module's main(), or those named.

python -m benchmarks                 # all
python -m benchmarks numerics scheduler
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import signal
import sys
import time
import traceback

import benchmarks


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    # SIGTERM (a timeout, `kill`) unwinds like Ctrl-C, so each bench's `finally` stops the
    # stack it started instead of leaving its web, api, workers and Redis running.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    wanted = {f"bench_{a.removeprefix('bench_')}" for a in argv}
    failed = 0
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"# {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception:  # one broken benchmark must not hide the others' numbers
            failed += 1
            traceback.print_exc()
            print("BENCH " + json.dumps({"name": name, "error": "failed; see traceback"}))
        print(f"# {name} took {time.perf_counter() - started:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
