"""Table 1, accuracy: every row on every problem, the paper's Table 2 beside it."""

from __future__ import annotations

from . import problems
from .formatting import TableOutput, cell, csv_number, fmt_number, markdown_table, summarise
from .presets import NOT_IN_PAPER, PAPER_TABLE2
from .problems import GENERATOR_MISSING, PROBLEMS, modes_per_axis
from .run import Run, sizes_note


def table_accuracy(run: Run) -> TableOutput:
    have_cfd_2d = problems.cfd_2d_generator() is not None  # looked up at call time: tests replace it
    results: dict[tuple[str, str], list[dict]] = {}
    for key in run.problems:
        if key == "cfd2d" and not have_cfd_2d:
            continue
        for seed in run.seeds:
            try:
                run.check_problem(key, seed)
            except Exception as exc:  # the generator itself failed: every row of the column
                for label in run.rows:
                    results.setdefault((key, label), []).append(
                        {"label": label, "problem": key, "seed": seed, "failed": type(exc).__name__}
                    )
                continue
            for label in run.rows:
                results.setdefault((key, label), []).append(run.fit(key, label, seed))

    header = ["model"]
    for title in (PROBLEMS[k] for k in run.problems):
        header += [title, f"{title} (paper)"]
    md_rows, csv_rows = [], []
    for label in run.rows:
        row = [label]
        for key in run.problems:
            if key == "cfd2d" and not have_cfd_2d:
                ours = GENERATOR_MISSING
                s = {"mean": None, "std": None, "n": 0, "failed": "", "values": []}
            else:
                s = summarise(results[key, label])
                ours = cell(s, len(run.seeds))
            paper = PAPER_TABLE2.get(label, {}).get(key)
            paper_text = (
                "not in paper" if key in NOT_IN_PAPER else ("n/a" if paper is None else fmt_number(paper))
            )
            row += [ours, paper_text]
            csv_rows.append(
                [
                    label,
                    key,
                    csv_number(s["mean"]),
                    csv_number(s["std"]),
                    s["n"],
                    len(run.seeds),
                    s["failed"] or (GENERATOR_MISSING if ours == GENERATOR_MISSING else ""),
                    " ".join(csv_number(v) for v in s["values"]),
                    csv_number(paper),
                ]
            )
        md_rows.append(row)
    notes = [
        "Cell: relative L2 error on the test set, mean ± std (population) over the seeds "
        f"{run.seeds}; for Navier-Stokes, CFD-1D and CFD-2D the mean over the rolled-out frames of "
        "`sklearn_amfno.metrics.rollout_error` (`AutoregressiveRegressor`, one-step teacher forcing, "
        "its default; predictions fed back for every target frame). Lower is better.",
        f"Same data, epochs ({run.budget.epochs}) and batch size ({run.budget.batch_size}) for every row; "
        + ("every estimator's default width" if run.budget.width is None else f"width {run.budget.width}")
        + " and otherwise its defaults (FNO: n_modes=12, FNO+: n_modes=None). The defaults include "
        "the learning rate: 1e-2 for AM-FNO and FNO (tuned, docs/defaults.md), 1e-3 for the other "
        "families (their papers'); at these short budgets that favours the first two.",
        "Sizes: " + sizes_note(run, [k for k in run.problems if k != "cfd2d" or have_cfd_2d]) + ".",
        "Darcy: solved on the grid twice as fine and subsampled; its permeability is piecewise constant.",
        "Airfoil and Pipe (the paper's Geo-FNO benchmarks): the package's own solvers "
        "(`make_airfoil`, `make_pipe`) on coarser body-fitted grids than the paper's 221 x 51 and "
        "129 x 129 (each sample is a steady solve of seconds); the input is the mesh, `(n, H, W, 2)` "
        "with `channel_axis=-1`, the target the Mach number (Airfoil) or the horizontal velocity (Pipe); "
        "see docs/datasets.md for how the data differ from the original files.",
        "(paper): the AM-FNO paper's Table 2 (`PAPER_TABLE2` in benchmarks/paper/presets.py); "
        "n/a = not transcribed (no verified text copy of the table was available; never filled from "
        "memory). The paper's resolutions and budgets differ from these.",
    ]
    small = [k for k in run.problems if modes_per_axis(run.sizes[k]) <= 12 and (k != "cfd2d" or have_cfd_2d)]
    if small:
        notes.append(
            f"On {', '.join(PROBLEMS[k] for k in small)} the grid has at most 12 modes per axis: "
            "FNO's 12 modes are all of them, so FNO and FNO+ are the same model there (same seed: "
            "same numbers)."
        )
    if not have_cfd_2d:
        notes.append("CFD-2D: `sklearn_amfno.datasets.make_cfd_2d` is not in this version of the package.")
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["model", "problem", "mean", "std", "n_ok", "n_seeds", "failed", "values", "paper"]
    raw = [r for rs in results.values() for r in rs]
    return TableOutput("accuracy", md, csv_header, csv_rows, raw)
