"""Print the defaults sweep (``benchmarks/results/defaults_sweep.jsonl``) as a Markdown table.

Usage::

    python benchmarks/summarise_sweep.py [FILE]
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/defaults_sweep.jsonl"
    with open(path) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    table: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        table.setdefault((r["estimator"], r["config"]), {})[r["problem"]] = r["test_rel_l2"]
    print("| estimator | config | " + " | ".join(problems) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in problems) + " |")
    for (estimator, config), errors in table.items():
        cells = [f"{errors[p]:.4f}" if p in errors else "" for p in problems]
        print(f"| {estimator} | {config} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
