"""benchmarks/time_to_accuracy.py: the plan, the epochs per budget, resuming, the report.

The runner is imported as ``benchmarks.time_to_accuracy``; one end-to-end run fits one tiny
problem in worker processes (``--smoke``, one row, one budget), the rest works on result lines
written here.
"""

from __future__ import annotations

import csv
import json

import pytest


@pytest.fixture(scope="module")
def tta():
    from benchmarks import time_to_accuracy

    return time_to_accuracy


ALL_ROWS = [
    "AM-FNO (MLP)",
    "FNO",
    "neuralop FNO",
    "AM-FNO (KAN)",
    "FNO+",
    "F-FNO",
    "U-FNO",
    "AFNO",
    "OFormer",
    "LSM",
]


def test_the_full_plan_runs_the_curve_rows_at_every_budget_and_the_others_at_the_middle(tta):
    preset = tta.PRESETS["full"]
    plan = tta.plan_fits(preset, preset["budgets"], preset["seeds"], ALL_ROWS)
    keys = [(t["problem"], t["label"], t["budget_s"], t["seed"]) for t in plan]
    assert len(keys) == len(set(keys))
    curve = {"AM-FNO (MLP)", "FNO", "neuralop FNO"}
    for t in plan:
        if t["label"] not in curve:
            assert t["budget_s"] == preset["middle"] and t["seed"] in preset["seeds_middle_rows"]
        if t["budget_s"] == max(preset["budgets"]):
            assert t["seed"] in preset["seeds_longest"]
    for problem in ("burgers", "darcy", "ns", "cfd1d", "cfd2d"):
        for label in curve:
            assert {(b, s) for p, lab, b, s in keys if p == problem and lab == label} == {
                (60, 0),
                (60, 1),
                (60, 2),
                (120, 0),
                (120, 1),
                (120, 2),
                (960, 0),
            }
        assert {lab for p, lab, b, s in keys if p == problem} == set(ALL_ROWS)
        for label in set(ALL_ROWS) - curve:  # the other rows pair seeds with AM-FNO's
            assert {(b, s) for p, lab, b, s in keys if p == problem and lab == label} == {
                (120, 0),
                (120, 1),
                (120, 2),
            }


def test_a_partial_run_has_every_row_at_the_middle_budget_first(tta):
    preset = tta.PRESETS["full"]
    plan = tta.plan_fits(preset, preset["budgets"], preset["seeds"], ALL_ROWS)
    first = plan[: 5 * len(ALL_ROWS)]
    assert {(t["budget_s"], t["seed"]) for t in first} == {(120, 0)}
    assert {t["label"] for t in first} == set(ALL_ROWS)
    assert plan[-1]["budget_s"] == 960


def test_epochs_fill_the_budget_after_the_setup_and_are_at_least_one(tta):
    cal = {"epoch_s": 2.0, "setup_s": 5.0}
    assert tta.epochs_for(cal, 60) == 27
    assert tta.epochs_for(cal, 6) == 1
    assert tta.epochs_for(cal, 1) == 1


def test_the_calibration_counts_the_first_epochs_warm_up_as_setup(tta):
    lines = [
        {
            "kind": "calibration",
            "problem": "darcy",
            "label": "FNO",
            "fit_s": 10.0,
            "epochs_s": 9.0,
            "n_epochs": 3,
            "epoch_s": 2.0,
        },
        {"kind": "calibration", "problem": "ns", "label": "FNO", "failed": "ValueError"},
    ]
    cal = tta.calibrations(lines)
    assert cal == {("darcy", "FNO"): {"epoch_s": 2.0, "setup_s": 4.0}}


def test_a_recorded_setup_is_used_as_it_is(tta):
    # A calibration on a subset records its setup: its epoch_s is scaled to the full set, so the
    # setup cannot be recovered from fit_s and the scaled epochs.
    line = {"kind": "calibration", "problem": "airfoil", "label": "FNO", "fit_s": 10.0, "n_epochs": 2}
    cal = tta.calibrations([{**line, "epoch_s": 40.0, "epoch_s_subset": 4.0, "setup_s": 2.0}])
    assert cal == {("airfoil", "FNO"): {"epoch_s": 40.0, "setup_s": 2.0}}


def _write_problem(path, X, y, n_train, **estimator_params):
    """A static problem as ``generate_data`` writes it for the workers."""
    import numpy as np

    np.savez(
        path,
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        n_fields=np.int64(-1),
        estimator_params=np.array(json.dumps(estimator_params)),
    )


def test_a_calibration_on_a_subset_scales_the_epoch_to_the_full_training_set(tta, tmp_path):
    import numpy as np
    import torch

    X = np.random.default_rng(0).normal(size=(12, 8, 8)).astype(np.float32)
    _write_problem(tmp_path / "darcy_0.npz", X, 2 * X, n_train=8)
    task = {
        "kind": "calibration",
        "problem": "darcy",
        "label": "FNO",
        "seed": 0,
        "budget_s": None,
        "epochs": 2,
        "calibration_samples": 2,
        "threads": torch.get_num_threads(),
        "device": "cpu",
        "cache": str(tmp_path),
    }
    out = tta.fit_one(task)
    assert "failed" not in out, out
    assert out["calibration_samples"] == 2 and out["n_epochs"] == 2
    assert out["epoch_s"] == pytest.approx(4 * out["epoch_s_subset"])
    assert out["setup_s"] == pytest.approx(max(0.0, out["fit_s"] - 2 * out["epoch_s_subset"]))
    # Without a subset (or one as large as the set) the epoch is the one measured.
    full = tta.fit_one({**task, "calibration_samples": None})
    assert "epoch_s_subset" not in full
    assert full["setup_s"] == pytest.approx(max(0.0, full["fit_s"] - 2 * full["epoch_s"]))


def test_per_point_input_scaling_puts_a_per_point_scaler_in_front_of_mesh_problems_only(tta, tmp_path):
    import numpy as np
    import torch

    from sklearn_amfno.preprocessing import GridStandardScaler

    scaler = tta.input_scaler("point", "airfoil")
    assert isinstance(scaler, GridStandardScaler)
    assert scaler.get_params() == {"channel_axis": -1, "per_point": True}
    assert tta.input_scaler("point", "darcy") is None
    assert tta.input_scaler("channel", "airfoil") is None
    with pytest.raises(ValueError, match="input scaling must be one of"):
        tta.input_scaler("grid", "airfoil")
    # A mesh-like problem (node coordinates on the last axis) fits through the pipeline.
    X = np.random.default_rng(0).normal(size=(8, 8, 6, 2)).astype(np.float32)
    _write_problem(tmp_path / "airfoil_0.npz", X, X[..., 0] * X[..., 1], n_train=6, channel_axis=-1)
    task = {
        "kind": "fit",
        "problem": "airfoil",
        "label": "FNO",
        "seed": 0,
        "budget_s": 1,
        "epochs": 1,
        "input_scaling": "point",
        "threads": torch.get_num_threads(),
        "device": "cpu",
        "cache": str(tmp_path),
    }
    out = tta.fit_one(task)
    assert "failed" not in out, out
    assert out["input_scaling"] == "point" and out["n_epochs"] == 1 and out["n_parameters"] > 0


def test_per_point_input_scaling_is_refused_without_a_mesh_problem(tta, tmp_path):
    with pytest.raises(SystemExit, match="mesh problems"):
        tta.main(["--smoke", "--input-scaling", "point", "--out-dir", str(tmp_path)])


def test_the_airfoil_preset_calibrates_on_a_subset(tta):
    preset = tta.PRESETS["airfoil"]
    assert preset["calibration_samples"] < preset["sizes"]["airfoil"]["n_train"]
    assert all("calibration_samples" not in p for name, p in tta.PRESETS.items() if name != "airfoil")


def _config(label):
    from benchmarks.time_to_accuracy import row_config

    return row_config(label, "fit")


def _fit(problem, label, budget, seed, error, fit_s=None, epochs=10):
    return {
        "kind": "fit",
        "problem": problem,
        "label": label,
        "budget_s": budget,
        "seed": seed,
        "epochs": epochs,
        "error": error,
        "fit_s": fit_s or budget,
        "config": _config(label),
    }


def test_the_report_tables_ratios_and_figure_come_from_the_result_lines(tta, tmp_path):
    lines = []
    for seed, noise in enumerate((0.0, 0.002, -0.002)):
        lines += [
            _fit("darcy", "AM-FNO (MLP)", 120, seed, 0.02 + noise),
            _fit("darcy", "FNO", 120, seed, 0.04 + noise),
            _fit("darcy", "AM-FNO (MLP)", 60, seed, 0.03 + noise),
            _fit("darcy", "FNO", 60, seed, 0.05 + noise),
        ]
    lines += [_fit("darcy", "LSM", 120, 0, 0.015), _fit("darcy", "neuralop FNO", 120, 0, 0.05)]
    lines.append({**_fit("darcy", "OFormer", 120, 0, 0), "failed": "RuntimeError", "message": "boom"})
    info = {
        "command": "python -m benchmarks.time_to_accuracy",
        "date_utc": "today",
        "machine": "m",
        "versions": "v",
        "preset": "full",
    }
    stem = tmp_path / "tta"
    tta.report(lines, info, stem)
    md = stem.with_suffix(".md").read_text()
    assert "| AM-FNO (MLP) | 0.0300 ± 0.0020 (10 ep, 60 s) | 0.0200 ± 0.0020 (10 ep, 120 s) |" in md
    assert "| Darcy 2-D | 120 s | 0.50 met [3] (0.6) | 0.40 met [1] | 1.33 **missed** [1] (LSM) |" in md
    # Ratios pair the seeds: against LSM's one seed, AM-FNO's seed 0 only, not its mean of three.
    paired = [_fit("darcy", "AM-FNO (MLP)", 120, s, e) for s, e in ((0, 0.03), (1, 0.01), (2, 0.01))]
    paired.append(_fit("darcy", "LSM", 120, 0, 0.015))
    assert tta._ratio(paired, "darcy", "AM-FNO (MLP)", "LSM", 120) == (2.0, 1)
    assert tta._ratio(paired, "darcy", "AM-FNO (MLP)", "FNO", 120) is None
    assert "OFormer" in md and "RuntimeError: boom" in md
    assert "| Darcy 2-D | 60 s" not in md  # the targets start at 2 minutes
    # The headline: every model at the budget most of them ran at, the column's best in bold.
    assert "## Every model at 120 s" in md and "| LSM | **0.0150** |" in md and "| FNO | 0.0400 |" in md
    with open(stem.with_suffix(".csv")) as f:
        rows = list(csv.DictReader(f))
    amfno = [r for r in rows if r["model"] == "AM-FNO (MLP)" and r["budget_s"] == "120"]
    assert float(amfno[0]["error_mean"]) == pytest.approx(0.02) and amfno[0]["n_seeds"] == "3"
    assert stem.with_suffix(".png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_run_fits_in_worker_processes_and_a_second_run_resumes_without_refitting(tta, tmp_path):
    argv = ["--smoke", "--problems", "burgers", "--rows", "FNO", "--budgets", "1", "--out-dir", str(tmp_path)]
    md = tta.main(argv)
    lines = [json.loads(x) for x in (tmp_path / "time_to_accuracy_smoke.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in lines] == ["calibration", "fit"]
    fit = lines[1]
    assert "failed" not in fit and fit["error"] > 0 and fit["epochs"] >= 1 and fit["fit_s"] > 0
    assert "Burgers 1-D" in md.read_text()
    tta.main(argv)  # everything is there: nothing runs again
    assert len((tmp_path / "time_to_accuracy_smoke.jsonl").read_text().splitlines()) == 2


def test_results_of_a_changed_default_neither_count_as_done_nor_enter_the_report(tta, tmp_path):
    legacy = [
        {k: v for k, v in _fit(key, label, 120, 0, 0.02).items() if k != "config"}
        for key, label in (("darcy", "AM-FNO (MLP)"), ("darcy", "FNO"))
    ]
    # Lines from before configurations were recorded: AM-FNO (MLP) ran the cosine then, FNO its
    # defaults of now.
    kept = tta.current_lines(legacy)
    assert [r["label"] for r in kept] == ["FNO"]
    assert tta.row_config("AM-FNO (MLP)", "fit", legacy=True) != tta.row_config("AM-FNO (MLP)", "fit")
    # A calibration ignores the schedule (an epoch costs the same): the old one still holds.
    calibration = {"kind": "calibration", "problem": "darcy", "label": "AM-FNO (MLP)", "seed": 0}
    assert tta.current_lines([calibration]) == [calibration]
    # Any other configuration recorded is superseded too.
    stale = {**_fit("darcy", "FNO", 120, 1, 0.03), "config": "0123456789ab"}
    assert tta.current_lines([stale]) == []
    info = {"command": "x", "date_utc": "now", "machine": "m", "versions": "v", "preset": "full"}
    tta.report([*legacy, stale], info, tmp_path / "tta")
    md = (tmp_path / "tta.md").read_text()
    assert "2 earlier results of configurations since changed" in md
    assert "| AM-FNO (MLP) |" not in md and "| FNO | 0.0200 (10 ep, 120 s) |" in md


def test_the_airfoil_preset_plans_the_paper_sized_airfoil_and_reports_it_without_an_fno_target(tta, tmp_path):
    preset = tta.PRESETS["airfoil"]
    assert preset["sizes"]["airfoil"] == {"n_train": 1000, "n_test": 200, "resolution": (221, 51)}
    plan = tta.plan_fits(preset, preset["budgets"], preset["seeds"], ALL_ROWS, preset["problems"])
    assert {t["problem"] for t in plan} == {"airfoil"}
    assert {t["label"] for t in plan if t["budget_s"] == preset["middle"]} == set(ALL_ROWS)
    lines = [_fit("airfoil", "AM-FNO (MLP)", 900, 0, 0.02), _fit("airfoil", "FNO", 900, 0, 0.04)]
    lines.append(_fit("airfoil", "F-FNO", 900, 0, 0.01))
    info = {"command": "c", "date_utc": "d", "machine": "m", "versions": "v", "preset": "airfoil"}
    tta.report(lines, info, tmp_path / "tta")
    md = (tmp_path / "tta.md").read_text()
    assert "| Airfoil | 900 s | 0.50 [1] (none) | not run | 2.00 **missed** [1] (F-FNO) |" in md


@pytest.mark.slow
def test_an_airfoil_run_keeps_the_mesh_channel_axis(tta, tmp_path, monkeypatch):
    # A tiny subsonic Airfoil in place of the paper's sizes: X is (n, 41, 9, 2), the mesh
    # coordinates on the last axis, which the workers must read as channels (channel_axis=-1).
    tiny = {"airfoil": {"n_train": 2, "n_test": 2, "resolution": (41, 9), "mach": 0.5}}
    monkeypatch.setitem(tta.PRESETS["airfoil"], "sizes", tiny)
    argv = ["--airfoil", "--rows", "FNO", "--budgets", "1", "--jobs", "1", "--out-dir", str(tmp_path)]
    tta.main(argv)
    lines = [json.loads(x) for x in (tmp_path / "time_to_accuracy_airfoil.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in lines] == ["calibration", "fit"]
    assert all("failed" not in r for r in lines), lines
    assert 0 < lines[1]["error"] < 1
    # The per-point scaling writes its own files and says so in its report.
    tta.main([*argv, "--input-scaling", "point"])
    point = [
        json.loads(x) for x in (tmp_path / "time_to_accuracy_airfoil_point.jsonl").read_text().splitlines()
    ]
    assert [(r["kind"], r["input_scaling"]) for r in point] == [("calibration", "point"), ("fit", "point")]
    assert all("failed" not in r for r in point), point
    assert "per_point=True)` in a pipeline" in (tmp_path / "time_to_accuracy_airfoil_point.md").read_text()
    assert "`--input-scaling point` gives" in (tmp_path / "time_to_accuracy_airfoil.md").read_text()
    assert (
        "Data: `make_airfoil(4, (41, 9), random_state=seed)`"
        in (tmp_path / "time_to_accuracy_airfoil.md").read_text()
    )
    # Another C-grid: its own files, and the report names the data it ran on.
    tta.main([*argv, "--airfoil-grid", "45", "9"])
    coarse = [
        json.loads(x) for x in (tmp_path / "time_to_accuracy_airfoil_45x9.jsonl").read_text().splitlines()
    ]
    assert [r["kind"] for r in coarse] == ["calibration", "fit"]
    assert all("failed" not in r for r in coarse), coarse
    assert (
        "Data: `make_airfoil(4, (45, 9), random_state=seed)`: the first 2 samples train, the last 2 test."
        in (tmp_path / "time_to_accuracy_airfoil_45x9.md").read_text()
    )


def test_the_airfoil_grid_applies_to_the_airfoil_preset_only(tta):
    assert tta.parse_args(["--airfoil", "--airfoil-grid", "111", "26"]).airfoil_grid == [111, 26]
    with pytest.raises(SystemExit):
        tta.parse_args(["--airfoil-grid", "111", "26"])
