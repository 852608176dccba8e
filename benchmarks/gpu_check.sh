#!/usr/bin/env bash
# GPU checks of sklearn_amfno, one script, at most ~8 minutes on one GPU:
#
#   1. throughput (samples/s) and peak GPU memory of AM-FNO (MLP), FNO (12 modes) and FNO+ (all
#      modes) at 64 x 64 and 128 x 128 (width 32, 4 layers, batch 32): the estimator's own skorch
#      fit (median epoch after the first, what a user pays) and the bare torch module's training
#      step (synchronised, model only); neuraloperator's FNO (same modes, width and layers) when
#      `neuralop` is importable, skipped quietly otherwise;
#   2. a short accuracy run: AM-FNO (MLP) and FNO on generated Darcy flow 64 x 64 (800 training,
#      200 test samples, 40 epochs), test relative L2 error, which must be below 0.1;
#   3. a GPU-fit -> CPU-load round trip: fit on cuda, pickle, unpickle in a subprocess with
#      CUDA_VISIBLE_DEVICES="" (no GPU visible), predict, compare with the GPU predictions
#      (relative L2 difference at most 1e-4).
#
# Usage (from anywhere; it runs from the repository root):
#   bash benchmarks/gpu_check.sh               the checks on the GPU
#   bash benchmarks/gpu_check.sh --cpu-smoke   the same code paths, tiny, on the CPU (~1 min)
#
# Exit status: 0 every check ran and passed; 1 a check failed, crashed or ran out of its time;
# 3 no CUDA device (nothing was run; the message says so); 2 usage error.
# Reference for the measurements: benchmarks/bench_training.py.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

MODE=gpu
case "${1:-}" in
    "") ;;
    --cpu-smoke) MODE=cpu-smoke ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (expected --cpu-smoke or nothing)" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python}

if [[ $MODE == gpu ]]; then
    if ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        echo "gpu_check.sh: no CUDA device visible to torch (torch.cuda.is_available() is False):" \
            "nothing checked (exit 3). Run 'bash benchmarks/gpu_check.sh --cpu-smoke' to exercise" \
            "the script on the CPU." >&2
        exit 3
    fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PY="$WORK/gpu_check.py"
cat >"$PY" <<'PYTHON_EOF'
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

SECTION, MODE = sys.argv[1], sys.argv[2]
GPU = MODE == "gpu"
DEVICE = "cuda" if GPU else "cpu"
if not GPU:
    torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=UserWarning)

import sklearn_amfno  # noqa: E402
from sklearn_amfno import AMFNORegressor, FNORegressor  # noqa: E402
from sklearn_amfno.datasets import make_darcy  # noqa: E402
from sklearn_amfno.metrics import relative_l2_error  # noqa: E402

MODELS = {
    "AM-FNO (MLP)": (AMFNORegressor, {"kernel": "mlp"}),
    "FNO (12 modes)": (FNORegressor, {"n_modes": 12}),
    "FNO+ (all modes)": (FNORegressor, {"n_modes": None}),
}


def sync():
    if GPU:
        torch.cuda.synchronize()


def reset_peak():
    if GPU:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_mib():
    return torch.cuda.max_memory_allocated() / 2**20 if GPU else float("nan")


def mib(x):
    return "-" if x != x else f"{x:.0f}"  # "-" on the CPU (no GPU memory to report)


def step_throughput(model, X, y, batch, steps):
    """Samples/s of the bare module's training step (forward, MSE, backward, AdamW), synchronised."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    xb = torch.as_tensor(X[:batch, None], device=DEVICE)
    yb = torch.as_tensor(y[:batch, None], device=DEVICE)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up: cuFFT plans, allocator
        step()
    sync()
    reset_peak()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * batch / (time.perf_counter() - t0), peak_mib()


def neuralop_fno():
    """neuraloperator's FNO constructor, or None when the package is not importable."""
    try:
        from neuralop.models import FNO
    except Exception:
        return None
    return FNO


def throughput():
    grids = (64, 128) if GPU else (16, 32)
    n, epochs, batch, steps = (512, 4, 32, 20) if GPU else (16, 2, 8, 2)
    width = 32 if GPU else 8
    print(f"device {DEVICE}: width {width}, 4 layers, batch {batch}; fit: {n} samples, median epoch "
          f"of {epochs - 1} after the first; step: {steps} synchronised training steps of the module")
    header = f"{'grid':>7s} {'model':22s} {'params':>11s} {'fit samples/s':>14s} {'fit peak MiB':>13s} "
    print(header + f"{'step samples/s':>15s} {'step peak MiB':>14s}")
    no_fno = neuralop_fno()
    rng = np.random.default_rng(0)
    for grid in grids:
        X = rng.standard_normal((n, grid, grid)).astype(np.float32)
        y = np.roll(X, 3, axis=1) ** 2
        for name, (cls, params) in MODELS.items():
            est = cls(**params, width=width, n_layers=4, batch_size=batch, max_epochs=epochs,
                      device=DEVICE, random_state=0)
            reset_peak()
            est.fit(X, y)
            fit_peak = peak_mib()
            epoch = statistics.median([row["dur"] for row in est.net_.history][1:])
            step_sps, step_peak = step_throughput(est.net_.module_, X, y, batch, steps)
            print(f"{grid:4d}^2 {name:22s} {est.n_parameters_:11,d} {n / epoch:14.1f} {mib(fit_peak):>13s} "
                  f"{step_sps:15.1f} {mib(step_peak):>14s}", flush=True)
            del est
        if no_fno is not None:
            try:
                model = no_fno(n_modes=(12, 12), hidden_channels=width, in_channels=1, out_channels=1,
                               n_layers=4).to(DEVICE)
                n_params = sum(p.numel() for p in model.parameters())
                step_sps, step_peak = step_throughput(model, X, y, batch, steps)
                print(f"{grid:4d}^2 {'neuraloperator FNO':22s} {n_params:11,d} {'-':>14s} {'-':>13s} "
                      f"{step_sps:15.1f} {mib(step_peak):>14s}", flush=True)
            except Exception as exc:
                print(f"{grid:4d}^2 neuraloperator FNO: skipped ({type(exc).__name__}: {exc})")
    if no_fno is None:
        print("(neuraloperator not importable: its FNO skipped)")
    return True


def accuracy():
    if GPU:
        res, n_train, n_test, epochs, width, bound = 64, 800, 200, 40, 32, 0.1
    else:
        res, n_train, n_test, epochs, width, bound = 16, 24, 8, 2, 8, 2.0
    t0 = time.perf_counter()
    X, y = make_darcy(n_train + n_test, res, n_jobs=-1, random_state=0)
    print(f"Darcy {res} x {res}: {n_train} train / {n_test} test, generated in {time.perf_counter() - t0:.1f} s; "
          f"{epochs} epochs, width {width}, device {DEVICE}; pass: test relative L2 < {bound}")
    ok = True
    for name in ("AM-FNO (MLP)", "FNO (12 modes)"):
        cls, params = MODELS[name]
        est = cls(**params, width=width, max_epochs=epochs, device=DEVICE, random_state=0)
        t0 = time.perf_counter()
        est.fit(X[:n_train], y[:n_train])
        fit_s = time.perf_counter() - t0
        err = relative_l2_error(y[n_train:], est.predict(X[n_train:]))
        passed = bool(np.isfinite(err) and err < bound)
        ok &= passed
        print(f"  {name:16s} rel. L2 {err:.4f}  fit {fit_s:6.1f} s  on {est.device_}  "
              f"{'ok' if passed else 'FAILED'}", flush=True)
    return ok


def roundtrip():
    res, n, epochs, width = (64, 200, 5, 32) if GPU else (16, 16, 1, 8)
    X, y = make_darcy(n, res, n_jobs=-1, random_state=1)
    est = AMFNORegressor(width=width, max_epochs=epochs, device=DEVICE, random_state=0).fit(X[:-8], y[:-8])
    if GPU and not est.device_.startswith("cuda"):
        print(f"  fitted on {est.device_}, not on cuda: FAILED")
        return False
    pred = est.predict(X[-8:])
    model_path = os.path.join(sys.argv[3], "model.pkl")
    data_path = os.path.join(sys.argv[3], "data.npz")
    with open(model_path, "wb") as fh:
        pickle.dump(est, fh)
    np.savez(data_path, X=X[-8:], pred=pred)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, __file__, "roundtrip-load", MODE, sys.argv[3]], env=env,
                          capture_output=True, text=True)
    print(proc.stdout.rstrip())
    if proc.returncode:
        print(proc.stderr.rstrip()[-2000:])
        print(f"  fitted on {est.device_}, unpickled without a GPU: FAILED (exit {proc.returncode})")
        return False
    print(f"  fitted on {est.device_}, pickled, unpickled with CUDA_VISIBLE_DEVICES=\"\": ok")
    return True


def roundtrip_load():
    assert not torch.cuda.is_available(), "CUDA is still visible"
    with open(os.path.join(sys.argv[3], "model.pkl"), "rb") as fh:
        est = pickle.load(fh)
    data = np.load(os.path.join(sys.argv[3], "data.npz"))
    pred = est.predict(data["X"])
    ref = data["pred"]
    rel = float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))
    max_abs = float(np.abs(pred - ref).max())
    print(f"  CPU load: device_ {est.device_}, cuda visible {torch.cuda.is_available()}; CPU vs fit-device "
          f"predictions: relative L2 difference {rel:.2e}, max abs {max_abs:.2e} (pass: rel <= 1e-4)")
    sys.exit(0 if est.device_ == "cpu" and rel <= 1e-4 else 1)


if SECTION == "env":
    print(f"sklearn_amfno {sklearn_amfno.__version__}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
          f"numpy {np.__version__}; mode {MODE}")
    if GPU:
        props = torch.cuda.get_device_properties(0)
        print(f"GPU 0: {props.name}, {props.total_memory / 2**30:.1f} GiB, {torch.cuda.device_count()} visible")
    print(f"neuraloperator: {'importable' if neuralop_fno() else 'not importable (its FNO is skipped)'}")
    sys.exit(0)
if SECTION == "roundtrip-load":
    roundtrip_load()
ok = {"throughput": throughput, "accuracy": accuracy, "roundtrip": roundtrip}[SECTION]()
sys.exit(0 if ok else 1)
PYTHON_EOF

# Per-section limits (GPU: 30 + 200 + 150 + 90 s = 7.8 min at most; CPU smoke: same limits).
declare -A LIMIT=([env]=30 [throughput]=200 [accuracy]=150 [roundtrip]=90)
TITLE=([0]="environment" [1]="1. throughput and peak memory" [2]="2. short accuracy run (Darcy)" \
    [3]="3. GPU fit -> CPU load round trip")
STATUS=0
START=$SECONDS
i=0
for section in env throughput accuracy roundtrip; do
    echo "== ${TITLE[$i]} ($section, at most ${LIMIT[$section]} s) =="
    t0=$SECONDS
    timeout "${LIMIT[$section]}" "$PYTHON" "$PY" "$section" "$MODE" "$WORK"
    rc=$?
    if [[ $rc -eq 124 ]]; then
        echo "-- $section: ran out of its ${LIMIT[$section]} s: FAILED"
        STATUS=1
    elif [[ $rc -ne 0 ]]; then
        echo "-- $section: FAILED (exit $rc)"
        STATUS=1
    else
        echo "-- $section: ok ($((SECONDS - t0)) s)"
    fi
    i=$((i + 1))
done
echo "== gpu_check.sh ($MODE): $([[ $STATUS -eq 0 ]] && echo "all checks passed" || echo "FAILED"), $((SECONDS - START)) s =="
exit $STATUS
