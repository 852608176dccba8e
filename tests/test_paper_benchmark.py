"""benchmarks/paper: every table, the Markdown and CSV output, the stamp and failure recording.

The runner (the package ``benchmarks.paper``) is imported and run in-process with ``--smoke``
(tiny sizes, one torch thread); the cost table's per-model subprocess runs for one row only (each
subprocess pays an interpreter and torch start).
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["AM-FNO (MLP)", "AM-FNO (KAN)", "FNO", "FNO+", "F-FNO", "U-FNO", "AFNO", "OFormer", "LSM"]
NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@pytest.fixture(scope="module")
def paper():
    from benchmarks import paper

    return paper


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def md_table(md: str, title: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the Markdown table under the heading that contains ``title``."""
    section = md.split(title, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return split[0], split[2:]


def is_number(text: str) -> bool:
    match = NUMBER.match(text.replace(",", ""))
    return bool(match) and math.isfinite(float(match.group()))


def test_rows_and_tables_are_the_issue_s(paper):
    assert list(paper.ROWS) == LABELS
    assert paper.TABLES == ("accuracy", "cost", "superres", "spectral", "ablation")
    assert list(paper.ABLATION_ROWS) == ["chebyshev", "fourier", "legendre", "polynomial", "no embedding"]
    # Published numbers are never invented: every entry is a number from the paper or None.
    for values in paper.PAPER_TABLE2.values():
        assert all(v is None or isinstance(v, float) for v in values.values())


@pytest.mark.slow
def test_smoke_every_table_but_cost(paper, tmp_path, keep_threads):
    argv = ["--smoke", "--threads", "1", "--out-dir", str(tmp_path), "--inject-failure", "OFormer"]
    argv += ["--only", "accuracy", "superres", "spectral", "ablation"]
    paths = paper.main(argv)
    md = paths["md"].read_text()

    # Stamp: machine, versions, seeds, the exact command, wall time per table, sizes.
    for text in [
        "| machine |",
        "CPUs",
        "torch threads",
        "| device |",
        "| load average",
        "| seeds | [0] |",
        "| wall time per table |",
        "| sizes (smoke) |",
        "--inject-failure OFormer",
    ]:
        assert text in md, text
    for package in ["sklearn_amfno", "torch", "numpy", "scikit-learn", "skorch"]:
        assert re.search(rf"{package} \S+", md), package
    assert "python -m benchmarks.paper --smoke" in md
    for table in ["accuracy", "superres", "spectral", "ablation"]:
        assert re.search(rf"{table} \d+\.\d s", md), table

    # Table 1: every row, every problem; the injected failure in its cells, numbers elsewhere.
    header, rows = md_table(md, "Table 1.")
    assert header[0] == "model"
    titles = ["Burgers 1-D", "Darcy 2-D", "Navier-Stokes 2-D", "CFD-1D", "CFD-2D", "Airfoil", "Pipe"]
    assert header[1::2] == titles
    assert [r[0] for r in rows] == LABELS
    have_cfd_2d = paper.cfd_2d_generator() is not None
    for row in rows:
        ours = row[1::2]
        assert row[2] == "not in paper"  # Burgers is not one of the paper's benchmarks
        if not have_cfd_2d:
            assert ours[4] == "generator missing"
            ours = ours[:4] + ours[5:]
        if row[0] == "OFormer":
            assert all(c == "failed: InvalidParameterError" for c in ours), ours
        else:
            assert all(is_number(c) for c in ours), (row[0], ours)
    csv_header, csv_rows = read_csv(paths["accuracy"])
    assert csv_header == ["model", "problem", "mean", "std", "n_ok", "n_seeds", "failed", "values", "paper"]
    assert len(csv_rows) == len(LABELS) * len(titles)
    for model, problem, mean, *_, failed, _values, _paper in csv_rows:
        if model == "OFormer":
            assert failed == "InvalidParameterError" and mean == ""
        elif problem != "cfd2d" or have_cfd_2d:
            assert float(mean) > 0 and failed == ""

    # Table 3: the three models, errors on both grids and their ratio.
    header, rows = md_table(md, "Table 3.")
    assert [r[0] for r in rows] == ["AM-FNO (MLP)", "FNO", "FNO+"]
    ns = "Navier-Stokes 2-D (rollout)"
    assert header[1:] == [
        f"{ns} 8",
        f"{ns} 16",
        f"{ns} ratio",
        "Darcy 2-D 8",
        "Darcy 2-D 16",
        "Darcy 2-D ratio",
    ]
    assert all(is_number(c) for r in rows for c in r[1:])
    assert "piecewise constant" in md
    _, csv_rows = read_csv(paths["superres"])
    for r in csv_rows:
        assert float(r[8]) == pytest.approx(float(r[6]) / float(r[4]))  # one seed: ratio of the means

    # Table 4: the bands (shares of the squared relative error) are numbers >= 0.
    header, rows = md_table(md, "Table 4.")
    assert header == ["model", "rel. L2", "low [0, 4)", "mid [4, 12)", "high [12, Nyquist]"]
    assert [r[0] for r in rows] == ["AM-FNO (MLP)", "FNO", "FNO+"]
    _, csv_rows = read_csv(paths["spectral"])
    for r in csv_rows:
        bands = [float(r[i]) for i in (3, 5, 7)]
        assert min(bands) >= 0 and sum(bands) > 0

    # Table 5: the bases; "no embedding" as the estimator allows.
    _, rows = md_table(md, "Table 5.")
    assert [r[0] for r in rows] == list(paper.ABLATION_ROWS)
    for r in rows[:4]:
        assert is_number(r[1]) and is_number(r[2])
    if paper.no_embedding_basis() is None:
        assert rows[4][1:] == [paper.NOT_SUPPORTED] * 3
    # The chebyshev row is the accuracy table's AM-FNO (MLP) Darcy fit.
    assert rows[0][1] == md_table(md, "Table 1.")[1][0][3]

    raw = json.loads(paths["json"].read_text())
    assert raw["preset"] == "smoke" and raw["seeds"] == [0]
    assert set(raw["tables"]) == {"accuracy", "superres", "spectral", "ablation"}


@pytest.mark.slow
def test_smoke_cost_in_subprocess(paper, tmp_path, keep_threads):
    argv = ["--smoke", "--threads", "1", "--out-dir", str(tmp_path), "--only", "cost", "--rows", "FNO"]
    paths = paper.main(argv)
    header, rows = md_table(paths["md"].read_text(), "Table 2.")
    assert header[:4] == ["model", "parameters", "s / epoch", "samples / s"]
    assert [r[0] for r in rows] == ["FNO"]
    assert all(is_number(c) for c in rows[0][1:])
    csv_header, csv_rows = read_csv(paths["cost"])
    assert csv_header[0] == "model" and csv_rows[0][0] == "FNO"
    assert int(csv_rows[0][1]) > 0 and float(csv_rows[0][2]) > 0 and float(csv_rows[0][4]) >= 0


def test_cost_worker_records_a_failure(paper, tmp_path, keep_threads):
    data = tmp_path / "d.npz"
    X = np.random.default_rng(0).standard_normal((4, 8, 8)).astype(np.float32)
    np.savez(data, X=X, y=X)
    spec = {
        "label": "FNO",
        "data": str(data),
        "epochs": 1,
        "batch_size": 2,
        "width": 4,
        "device": "cpu",
        "threads": 1,
        "fail": ["FNO"],
    }
    out = paper.cost_worker(spec)
    assert out["failed"] == "InvalidParameterError"


@pytest.mark.slow
def test_missing_cfd_2d_generator(paper, tmp_path, keep_threads, monkeypatch):
    monkeypatch.setattr(paper.problems, "cfd_2d_generator", lambda: None)
    argv = ["--smoke", "--threads", "1", "--out-dir", str(tmp_path), "--only", "accuracy", "--rows", "FNO"]
    paths = paper.main(argv)
    _, rows = md_table(paths["md"].read_text(), "Table 1.")
    assert rows[0][0] == "FNO" and rows[0][9] == "generator missing"
    assert "make_cfd_2d` is not in this version" in paths["md"].read_text()


def test_cells_with_failures(paper):
    ok = [{"error": 0.1}, {"error": 0.3}]
    assert paper.cell(paper.summarise(ok), 2) == "0.2000 ± 0.1000"
    partial = ok + [{"failed": "RuntimeError"}]
    assert paper.cell(paper.summarise(partial), 3) == "0.2000 ± 0.1000 (failed: RuntimeError on 1/3 seeds)"
    assert paper.cell(paper.summarise([{"failed": "MemoryError"}]), 1) == "failed: MemoryError"


def test_cli_help():
    command = [sys.executable, "-m", "benchmarks.paper", "--help"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    for flag in ["--quick", "--smoke", "--out-dir", "--only", "--seeds", "--device", "--estimate"]:
        assert flag in out.stdout


def _rounded(cell: str) -> str:
    """A CSV cell with its numbers rounded to 6 significant digits."""
    return " ".join(f"{float(v):.6g}" if is_number(v) else v for v in cell.split(" ")) if cell else cell


@pytest.mark.slow
def test_jobs_fit_in_worker_processes_with_the_same_results(paper, tmp_path, keep_threads):
    # --jobs runs the tables' fits in worker interpreters (slowest first); the tables then only
    # assemble them. Same data, seeds and threads: the same errors as the in-process run, and an
    # injected failure is still recorded per cell.
    common = ["--smoke", "--threads", "1", "--only", "accuracy", "ablation", "--rows", "AM-FNO (MLP)", "FNO"]
    common += ["--inject-failure", "FNO"]
    serial = paper.main([*common, "--out-dir", str(tmp_path / "serial")])
    jobs = paper.main([*common, "--jobs", "2", "--out-dir", str(tmp_path / "jobs")])
    for table in ("accuracy", "ablation"):
        _, serial_rows = read_csv(serial[table])
        _, jobs_rows = read_csv(jobs[table])
        # Errors and failures agree; the ablation's s / epoch column is a timing.
        keep = (lambda r: r[:4] + r[5:]) if table == "ablation" else (lambda r: r)
        # Equal up to float rounding: a worker's arrays may be laid out differently in memory
        # (1e-8 relative on the Airfoil column's mesh input), which reorders float32 sums.
        assert [[_rounded(c) for c in keep(r)] for r in jobs_rows] == [
            [_rounded(c) for c in keep(r)] for r in serial_rows
        ]
    _, rows = read_csv(jobs["accuracy"])
    assert {r[6] for r in rows if r[0] == "FNO"} == {"InvalidParameterError"}
    assert "2 fitting process(es)" in jobs["md"].read_text()


@pytest.mark.slow
def test_a_worker_that_dies_replies_none_and_the_next_task_starts_a_fresh_one(paper):
    # The protocol of --jobs and of time_to_accuracy's workers: a worker that exits before its
    # reply (here at once, refusing its arguments) gives None, and is started again for the next.
    worker = paper.WorkerProcess("benchmarks.paper", "--no-such-option", stderr=subprocess.DEVNULL)
    try:
        assert worker.ask({"key": "burgers"}) is None
        first = worker.proc
        assert first is not None and first.wait() == 2  # argparse's usage error
        assert worker.ask({"key": "burgers"}) is None
        assert worker.proc is not first
    finally:
        worker.close()


def test_planned_fits_cover_every_table_once_slowest_first(paper):
    sizes = paper.SIZES["smoke"]
    budget = paper.Budget(1, 4, 8, "cpu")
    run = paper.Run(sizes, [0, 1], budget, list(paper.ROWS))
    plan = paper.planned_fits(run, paper.TABLES)
    memos = [(t["key"], t["label"], t["seed"], tuple(sorted(t["overrides"].items()))) for t in plan]
    assert len(memos) == len(set(memos))
    n_problems = len(paper.PROBLEMS) if paper.cfd_2d_generator() is not None else len(paper.PROBLEMS) - 1
    n_bases = sum(1 for b in paper.ABLATION_ROWS.values() if b is not None and b != "chebyshev")
    # accuracy (super-resolution reuses its fits) + spectral + the ablation's other bases
    assert len(plan) == 2 * (n_problems * len(paper.ROWS) + len(paper.RESOLUTION_ROWS) + n_bases)
    assert all(t["spectral"] == (t["key"] == "spectral") for t in plan)
    assert plan[0]["label"] in ("OFormer", "LSM")
