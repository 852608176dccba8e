"""benchmarks/short_budget.py: the variants, the equal-budget epochs, the paired report.

The runner is imported as ``benchmarks.short_budget``; one end-to-end run (slow tier, ``python -m
benchmarks.short_budget``) fits three variants on Burgers at a budget of a few seconds in a worker
process; the report is checked on lines written here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sb():
    from benchmarks import short_budget

    return short_budget


def _fit(problem, variant, seed, error, epochs=10):
    return {
        "kind": "fit",
        "problem": problem,
        "variant": variant,
        "seed": seed,
        "error": error,
        "epochs": epochs,
    }


def test_report_pairs_each_variant_with_the_defaults_on_the_same_seed(sb, tmp_path):
    lines = [
        _fit("burgers", "base", 0, 0.02),
        _fit("burgers", "base", 1, 0.01),
        _fit("burgers", "warmup", 0, 0.01),
        _fit("burgers", "warmup", 1, 0.02),
        _fit("darcy", "base", 0, 0.04),
        _fit("darcy", "warmup", 0, 0.01),
        _fit("darcy", "warmup", 1, 0.5),  # no base on seed 1: not paired
    ]
    info = {"command": "x", "stamp": "now", "budget": 120, "problems": ["burgers", "darcy"], "seeds": [0, 1]}
    sb.report(lines, info, tmp_path / "r.md")
    text = (tmp_path / "r.md").read_text()
    row = next(
        line
        for line in text.splitlines()
        if line.startswith("| warmup |") and "(" in line and "±" not in line
    )
    cells = [c.strip() for c in row.strip("|").split("|")]
    # Burgers: ratios 0.5 and 2 -> geometric mean 1; Darcy: one pair, 0.25; all: (0.5 * 2 * 0.25)^(1/3).
    assert cells[1] == "1.000 (2)" and cells[2] == "0.250 (1)"
    assert cells[3] == f"{0.25 ** (1 / 3):.3f}"


def test_every_variant_is_a_known_kind_of_change(sb):
    known = {"schedule", "kernel_lr", "kernel_init", "params"}
    # The baseline of the round that measured them: the defaults then, i.e. the cosine schedule.
    assert sb.VARIANTS["base"] == {"params": {"lr_schedule": "cosine"}}
    for name, spec in sb.VARIANTS.items():
        assert set(spec) <= known, name
        assert spec.get("schedule") in (None, "warmup", "onecycle"), name


def test_only_variants_that_change_an_epochs_cost_are_calibrated(sb, monkeypatch, tmp_path):
    ran = []

    def fake_run(tasks, jobs, log, deadline):
        ran.extend((t["kind"], t["variant"], t["epochs"]) for t in tasks)
        with open(log, "a") as f:  # batch 16 calibrates at twice the defaults' time per epoch
            for t in tasks:
                f.write(json.dumps({**t, "epoch_s": 2.0 if t["variant"] == "batch_16" else 1.0}) + "\n")

    monkeypatch.setattr(sb, "run", fake_run)
    monkeypatch.setattr(sb.tta, "generate_data", lambda *a: None)
    monkeypatch.setattr(sb, "report", lambda *a: None)
    variants = ["base", "warmup", "batch_16"]
    sb.main(["--problems", "burgers", "--seeds", "0", "--variants", *variants, "--out-dir", str(tmp_path)])
    # base's lr_schedule costs nothing: calibrated as the reference only, not as a costly variant.
    assert [v for kind, v, _ in ran if kind == "calibration"] == ["base", "batch_16"]
    epochs = {v: n for kind, v, n in ran if kind == "fit"}
    n = sb.committed_epochs(120)["burgers"]
    assert epochs == {"base": n, "warmup": n, "batch_16": round(n / 2)}


def test_the_committed_calibration_gives_the_two_minute_epochs(sb):
    # The epochs every fixed-cost variant gets: AM-FNO's own at 120 s on this machine.
    epochs = sb.committed_epochs(120)
    assert {"burgers", "darcy", "ns"} <= set(epochs)
    assert all(isinstance(n, int) and n >= 1 for n in epochs.values())


@pytest.mark.slow
def test_a_short_run_calibrates_the_costly_variant_and_fits_every_variant(tmp_path):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "benchmarks.short_budget",
        "--problems", "burgers",
        "--seeds", "0",
        "--budget", "3",
        "--variants", "base", "warmup", "batch_16",
        "--jobs", "1",
        "--out-dir", str(out),
        "--data-dir", str(tmp_path / "data"),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600, cwd=ROOT)
    lines = [json.loads(line) for line in (out / "short_budget.jsonl").read_text().splitlines()]
    calibration = {r["variant"]: r for r in lines if r["kind"] == "calibration"}
    fits = {r["variant"]: r for r in lines if r["kind"] == "fit"}
    assert set(calibration) == {"base", "batch_16"} and set(fits) == {"base", "warmup", "batch_16"}
    assert all(math.isfinite(r["error"]) for r in fits.values())
    # Same epochs for a variant of the same cost; the batch-16 fit gets the same wall-clock.
    assert fits["warmup"]["epochs"] == fits["base"]["epochs"]
    ratio = calibration["base"]["epoch_s"] / calibration["batch_16"]["epoch_s"]
    assert fits["batch_16"]["epochs"] == max(1, round(fits["base"]["epochs"] * ratio))
    assert "| warmup |" in (out / "short_budget.md").read_text()


def test_equal_cost_variants_share_the_ratio_of_one_calibration_run(sb):
    def cal(variant, epoch_s, run=None):
        line = {"kind": "calibration", "problem": "darcy", "variant": variant, "epoch_s": epoch_s}
        return line if run is None else {**line, "calibration_run": run}

    assert sb.cost_key("warmup+batch_16") == sb.cost_key("batch_16") == (("batch_size", 16),)
    assert sb.cost_key("warmup") == sb.cost_key("base") == ()
    lines = [cal("base", 1.0), cal("batch_16", 1.25), cal("base", 3.0, "b"), cal("ffn_ratio_2", 2.0, "b")]
    # Each ratio from the run that measured it beside the defaults, never across runs.
    assert sb.cost_ratios(lines, "darcy") == {(("batch_size", 16),): 0.8, (("ffn_ratio", 2),): 1.5}
    # A later run measuring the same cost again replaces it; one without the defaults counts for nothing.
    lines += [cal("base", 2.0, "c"), cal("warmup+batch_16", 4.0, "c"), cal("batch_16", 9.0, "d")]
    assert sb.cost_ratios(lines, "darcy")[(("batch_size", 16),)] == 0.5


@pytest.mark.parametrize("variant", ["base", "batch_64", "kernel_init_x0.1", "warmup", "warmup+batch_16"])
def test_every_variant_changes_one_thing_against_the_cosine_baseline(sb, monkeypatch, variant):
    seen = {}

    def fit_eval(problem, row, budget, seed, **overrides):
        seen.update(overrides)
        return {"error": 0.1}

    monkeypatch.setattr(sb.tta, "load_problem", lambda *a: None)
    monkeypatch.setattr(sb.paper, "fit_eval", fit_eval)
    sb.fit_one(
        {"cache": ".", "kind": "fit", "problem": "burgers", "variant": variant, "seed": 0, "epochs": 40}
    )
    # Round 4's baseline (the defaults then) whatever the package's default schedule is now.
    assert seen["lr_schedule"] == "cosine"
    spec = sb.VARIANTS[variant]
    assert {k: seen[k] for k in spec.get("params", {})} == spec.get("params", {})
    # A schedule variant's callback replaces the built-in schedule.
    names = [name for name, _ in seen.get("callbacks", [])]
    assert ("lr_schedule" in names) == (spec.get("schedule") is not None)
