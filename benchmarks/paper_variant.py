"""One row of the paper runner's accuracy table with changed estimator parameters.

Same data, seeds, budget and error as ``benchmarks/paper`` (full preset): fits the row
``--row`` on problem ``--problem`` for each seed with the JSON ``--params`` overrides, prints the
test error per seed. Used for the Navier-Stokes variants of ``docs/paper_results.md``.

    python -m benchmarks.paper_variant --problem ns --params '{"n_basis": 32}' --seeds 0 1 2
    python -m benchmarks.paper_variant --problem darcy --row FNO --epochs 100
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from benchmarks import paper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problem",
        default="ns",
        choices=[*paper.PROBLEMS, "spectral"],
        help="a column of Table 1, or 'spectral' (Table 4's Darcy 64 x 64, with its band errors)",
    )
    parser.add_argument("--row", default="AM-FNO (MLP)", choices=list(paper.ROWS))
    parser.add_argument("--params", default="{}", help="JSON object of estimator parameters")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="default: the full preset's (20)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = paper.SIZES["full"]
    epochs = args.epochs or sizes["epochs"]
    budget = paper.Budget(epochs, sizes["batch_size"], sizes["width"], "cpu", frozenset())
    overrides = json.loads(args.params)
    for seed in args.seeds:
        problem = paper.make_problem(args.problem, sizes[args.problem], seed)
        start = time.perf_counter()
        spectral = args.problem == "spectral"
        result = paper.fit_eval(problem, args.row, budget, seed, spectral, **overrides)
        print(
            json.dumps(
                {
                    "problem": args.problem,
                    "row": args.row,
                    "params": overrides,
                    "epochs": epochs,
                    "seed": seed,
                    "error": result.get("error"),
                    "error_fine": result.get("error_fine"),
                    "n_parameters": result.get("n_parameters"),
                    **({"bands": result.get("bands")} if spectral else {}),
                    "status": f"failed: {result['failed']}" if "failed" in result else "ok",
                    "seconds": round(time.perf_counter() - start, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
