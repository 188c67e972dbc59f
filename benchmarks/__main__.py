"""Run every benchmark module (``benchmarks/bench_*.py``, each with ``main() -> dict``) and save
the figures to ``benchmarks/results.json``; ``python -m benchmarks NAME`` runs the ones matching NAME."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selection: list[str]) -> None:
    results: dict[str, object] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if selection and not any(word in name for word in selection):
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        results[name] = importlib.import_module(f"benchmarks.{name}").main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    target = HERE / "results.json"
    previous = json.loads(target.read_text()) if target.exists() else {}
    previous.update(results)
    target.write_text(json.dumps(previous, indent=2, default=float))
    print(f"figures written to {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
