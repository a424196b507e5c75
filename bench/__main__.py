"""Run all benchmarks, or those named: ``python -m bench [map qr ...]``.

Each ``bench/bench_<name>.py`` exposes ``run() -> dict`` that prints its figures (with
the ratio against a naive approach or a reference tool measured in the same run) and
returns them. Results are also written to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    found = sorted(i.name[len("bench_"):] for i in pkgutil.iter_modules([str(HERE)]) if i.name.startswith("bench_"))
    chosen = names or found
    unknown = set(chosen) - set(found)
    if unknown:
        print(f"unknown benchmarks: {', '.join(sorted(unknown))}; known: {', '.join(found)}", file=sys.stderr)
        return 2
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    cpus = os.cpu_count()
    print(f"machine: {platform.node()} {platform.machine()} {cpus} cores, python {platform.python_version()}")
    failed = []
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        start = time.perf_counter()
        try:
            figures = importlib.import_module(f"bench.bench_{name}").run()
        except Exception as exc:  # report and go on with the other benchmarks
            print(f"FAILED: {exc!r}")
            failed.append(name)
            continue
        figures = {"elapsed_s": round(time.perf_counter() - start, 2), **(figures or {})}
        (out / f"{name}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
