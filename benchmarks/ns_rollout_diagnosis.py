"""Why does AM-FNO's one-step Navier-Stokes model roll out worse than FNO's?

Same data, seeds and budget as ``benchmarks/paper`` (full preset, Navier-Stokes 32 x 32, 10
frames in, 10 out, one-step teacher-forced training). For each row and seed it separates the two
things a rollout error is made of:

- the **one-step error**: every test window is fed the *true* previous frames (teacher forcing),
  so the error at frame ``t`` is the model's own error, without accumulated input errors;
- the **rollout error**: predictions are fed back (what Table 1 reports).

A model whose one-step error is as small as FNO's but whose rollout error grows faster amplifies
its own errors (an unstable one-step map); a model that starts worse is simply less accurate. The
error of the last rolled-out frame is split into wavenumber bands (``metrics.spectral_error``,
low ``[0, 4)``, mid ``[4, 12)``, high ``[12, 16]``) to see where the amplified error lives.

    python -m benchmarks.ns_rollout_diagnosis [--rows "AM-FNO (MLP)" FNO] [--seeds 0 1 2]
        [--params '{"training": "rollout"}'] [--epochs 20]
        [--out benchmarks/results/ns_rollout_diagnosis.jsonl]

``--params`` sets parameters of the inner estimator; the keys ``training`` and ``rollout_steps``
go to ``AutoregressiveRegressor`` instead. One JSON line per (row, seed) is appended to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmarks import paper

WRAPPER_KEYS = ("training", "rollout_steps")


def one_step_predictions(model, X, y, n_in: int) -> np.ndarray:
    """Teacher-forced predictions, frame-major like ``y``: frame ``t`` from the true frames before it."""
    trajectory = np.concatenate([X, y], axis=-1)
    frames = [model.estimator_.predict(trajectory[..., t : t + n_in]) for t in range(y.shape[-1])]
    return np.concatenate(frames, axis=-1)


def per_frame_errors(y: np.ndarray, pred: np.ndarray) -> list[float]:
    from sklearn_amfno.metrics import relative_l2_error

    return [float(relative_l2_error(y[..., t], pred[..., t])) for t in range(y.shape[-1])]


def diagnose(row: str, seed: int, params: dict, threads: int, epochs: int | None = None) -> dict:
    from sklearn_amfno import AutoregressiveRegressor
    from sklearn_amfno.metrics import rollout_error, spectral_error

    torch.set_num_threads(threads)
    sizes = paper.SIZES["full"]
    epochs = epochs or sizes["epochs"]
    budget = paper.Budget(epochs, sizes["batch_size"], sizes["width"], "cpu", frozenset())
    problem = paper.make_problem("ns", sizes["ns"], seed)
    inner_params = {k: v for k, v in params.items() if k not in WRAPPER_KEYS}
    wrapper_params = {k: v for k, v in params.items() if k in WRAPPER_KEYS}
    model = AutoregressiveRegressor(
        paper.make_estimator(row, budget, seed, **inner_params), n_fields=1, **wrapper_params
    )
    t0 = time.perf_counter()
    model.fit(problem.X_train, problem.y_train)
    fit_s = time.perf_counter() - t0
    n_in = problem.X_train.shape[-1]
    rolled = model.predict(problem.X_test)
    rollout = [float(e) for e in rollout_error(problem.y_test, rolled)]
    one_step = one_step_predictions(model, problem.X_test, problem.y_test, n_in)
    one_step_test = per_frame_errors(problem.y_test, one_step)
    one_step_train = per_frame_errors(
        problem.y_train, one_step_predictions(model, problem.X_train, problem.y_train, n_in)
    )
    last = problem.y_test.shape[-1] - 1
    bands_rollout = spectral_error(problem.y_test[..., last], rolled[..., last], relative=True)
    bands_one_step = spectral_error(problem.y_test[..., last], one_step[..., last], relative=True)
    return {
        "row": row,
        "seed": seed,
        "params": params,
        "epochs": epochs,
        "rollout_mean": float(np.mean(rollout)),
        "rollout": rollout,
        "one_step_test": one_step_test,
        "one_step_test_mean": float(np.mean(one_step_test)),
        "one_step_train_mean": float(np.mean(one_step_train)),
        "bands_last_rollout": {k: float(v) for k, v in bands_rollout.items()},
        "bands_last_one_step": {k: float(v) for k, v in bands_one_step.items()},
        "fit_s": round(fit_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["AM-FNO (MLP)", "FNO"], choices=list(paper.ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--params", default="{}", help="JSON object of parameters (see the docstring)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None, help="default: the full preset's (20)")
    parser.add_argument("--out", default="benchmarks/results/ns_rollout_diagnosis.jsonl")
    args = parser.parse_args()
    params = json.loads(args.params)
    for seed in args.seeds:
        for row in args.rows:
            result = diagnose(row, seed, params, args.threads, args.epochs)
            line = json.dumps(result)
            head = f"{row:14s} seed {seed} {params or ''} {result['epochs']} epochs"
            print(
                f"{head}: rollout {result['rollout_mean']:.4f}, one-step test "
                f"{result['one_step_test_mean']:.4f} (train {result['one_step_train_mean']:.4f}), "
                f"last frame bands rollout {result['bands_last_rollout']}, one-step "
                f"{result['bands_last_one_step']} ({result['fit_s']} s)",
                flush=True,
            )
            with open(args.out, "a") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
