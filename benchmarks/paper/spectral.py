"""Table 4, error per wavenumber band (low, mid, high) on Darcy."""

from __future__ import annotations

from .formatting import TableOutput, cell, csv_number, markdown_table, summarise
from .presets import RESOLUTION_ROWS
from .run import Run, sizes_note


def table_spectral(run: Run) -> TableOutput:
    labels = [label for label in RESOLUTION_ROWS if label in run.rows]
    bands = ("low", "mid", "high")
    header = ["model", "rel. L2", "low [0, 4)", "mid [4, 12)", "high [12, Nyquist]"]
    md_rows, csv_rows, raw = [], [], []
    for label in labels:
        rs = [run.fit("spectral", label, seed, spectral=True) for seed in run.seeds]
        raw += rs
        flat = [r if "failed" in r else {**r, **{f"band_{b}": r["bands"][b] for b in bands}} for r in rs]
        total = summarise(flat, "error")
        per_band = [summarise(flat, f"band_{b}") for b in bands]
        md_rows.append([label, cell(total, len(run.seeds))] + [cell(s, len(run.seeds)) for s in per_band])
        csv_rows.append(
            [label, csv_number(total["mean"]), csv_number(total["std"])]
            + [x for s in per_band for x in (csv_number(s["mean"]), csv_number(s["std"]))]
            + [total["failed"]]
        )
    res = run.sizes["spectral"]["resolution"]
    notes = [
        f"Darcy {res} x {res} ({sizes_note(run, ['spectral'])}), trained and tested on that grid, "
        f"same epochs ({run.budget.epochs}) and batch size for the three rows.",
        "Bands: `sklearn_amfno.metrics.spectral_error(y_test, y_pred, relative=True)`, radial "
        "wavenumber, PDEBench's edges 4 and 12: each band's share of the squared relative L2 error of "
        "the pooled test set (the three add up to it, by Parseval); rel. L2 is the mean per-sample "
        "relative L2 error (not the square).",
        f"FNO keeps the wavenumbers -12 <= k < 12 per axis (the grid has |k| <= {res // 2}); FNO+ and "
        "AM-FNO all of them. The paper's "
        "Table 3 is on CFD-2D; Darcy is used here (cheap, and its solution has a decaying spectrum). "
        "The FFT treats the grid as periodic; Darcy's zero boundary values keep the extension continuous.",
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = [
        "model",
        "error",
        "error_std",
        "low",
        "low_std",
        "mid",
        "mid_std",
        "high",
        "high_std",
        "failed",
    ]
    return TableOutput("spectral", md, csv_header, csv_rows, raw)
