"""Table 3, zero-shot super-resolution: trained on the coarse grid, tested on it and the one twice as fine."""

from __future__ import annotations

from .formatting import TableOutput, cell, csv_number, markdown_table, summarise
from .presets import RESOLUTION_ROWS
from .run import Run


def table_superres(run: Run) -> TableOutput:
    keys = {"ns": "Navier-Stokes 2-D (rollout)", "darcy": "Darcy 2-D"}
    labels = [label for label in RESOLUTION_ROWS if label in run.rows]
    header, csv_rows, md_rows = ["model"], [], []
    grids = {}
    for key in keys:
        res = run.sizes[key]["resolution"]
        grids[key] = (res, 2 * res)
        header += [f"{keys[key]} {res}", f"{keys[key]} {2 * res}", f"{keys[key]} ratio"]
    raw = []
    for label in labels:
        row = [label]
        for key in keys:
            rs = [run.fit(key, label, seed) for seed in run.seeds]
            raw += rs
            coarse, fine = summarise(rs, "error"), summarise(rs, "error_fine")
            ratios = [r["error_fine"] / r["error"] for r in rs if "failed" not in r and r["error"] > 0]
            ratio = summarise([{"ratio": x} for x in ratios] + [r for r in rs if "failed" in r], "ratio")
            row += [cell(coarse, len(run.seeds)), cell(fine, len(run.seeds)), cell(ratio, len(run.seeds))]
            c, f = grids[key]
            csv_rows.append(
                [
                    label,
                    key,
                    c,
                    f,
                    csv_number(coarse["mean"]),
                    csv_number(coarse["std"]),
                    csv_number(fine["mean"]),
                    csv_number(fine["std"]),
                    csv_number(ratio["mean"]),
                    csv_number(ratio["std"]),
                    coarse["failed"],
                ]
            )
        md_rows.append(row)
    ns, darcy = grids["ns"], grids["darcy"]
    notes = [
        f"Trained on {ns[0]} x {ns[0]} (the accuracy table's fits, same data and seeds), tested on the "
        f"same test trajectories / samples at {ns[0]} and {ns[1]} (Darcy: {darcy[0]} and {darcy[1]}); "
        "ratio = fine error / coarse error (per seed, then averaged); 1 = no loss on the finer grid.",
        f"Navier-Stokes: generated at {ns[1]} x {ns[1]}, the coarse data are every other point; the "
        "whole rollout is predicted on the fine grid.",
        f"Darcy: generated at {darcy[1]} x {darcy[1]} and subsampled to {darcy[0]}. Its permeability is "
        "piecewise constant (two values, jumps along the level set of a random field), so the fine "
        "inputs have sharper interfaces than any the model saw and the coarse grid aliases them: part of "
        "the fine-grid error is this, not the operator's resolution.",
        "FNO keeps 12 modes on any grid; FNO+ keeps all modes of the training grid (none above); "
        "AM-FNO's kernel is zero above the training grid's Nyquist wavenumber.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = [
        "model",
        "problem",
        "train_grid",
        "fine_grid",
        "error",
        "error_std",
        "error_fine",
        "error_fine_std",
        "ratio",
        "ratio_std",
        "failed",
    ]
    return TableOutput("superres", md, csv_header, csv_rows, raw)
