"""Table 5, basis ablation: the basis of AM-FNO (MLP)'s frequency embedding, on Darcy."""

from __future__ import annotations

from .formatting import TableOutput, cell, csv_number, fmt_number, markdown_table, summarise
from .presets import ABLATION_ROWS
from .run import Run

#: The cells of a row the estimator cannot express.
NOT_SUPPORTED = "not supported by the estimator"


def no_embedding_basis():
    """The ``basis`` value that means "no embedding", if ``AMFNORegressor`` accepts one; else None.

    The estimator's ``basis`` is one of the four bases of ``sklearn_amfno.nn.layers.bases`` (and
    ``AmortizedSpectralKernel`` always embeds the MLP's input), so today this returns None.
    """
    from sklearn_amfno import AMFNORegressor

    for candidate in ("none", "identity", "raw"):
        try:
            AMFNORegressor(basis=candidate)._validate_params()
        except Exception:  # InvalidParameterError: not an accepted spelling
            continue
        return candidate
    return None


def table_ablation(run: Run) -> TableOutput:
    if "AM-FNO (MLP)" not in run.rows:
        md = "Not run: the row AM-FNO (MLP) is not selected (`--rows`)."
        return TableOutput(
            "ablation", md, ["basis", "error", "error_std", "n_parameters", "epoch_s", "failed"], []
        )
    header = ["basis", "Darcy 2-D rel. L2", "parameters", "s / epoch"]
    md_rows, csv_rows, raw = [], [], []
    none_basis = no_embedding_basis()
    for name, basis in ABLATION_ROWS.items():
        if basis is None:
            basis = none_basis
        if basis is None:
            md_rows.append([name, NOT_SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED])
            csv_rows.append([name, "", "", "", "", NOT_SUPPORTED])
            continue
        # The default basis is the accuracy table's AM-FNO (MLP) fit: reuse it.
        overrides = {} if basis == "chebyshev" else {"basis": basis}
        rs = [run.fit("darcy", "AM-FNO (MLP)", seed, **overrides) for seed in run.seeds]
        raw += rs
        s, ep = summarise(rs), summarise(rs, "epoch_s")
        params = next((r["n_parameters"] for r in rs if "failed" not in r), None)
        md_rows.append(
            [
                name,
                cell(s, len(run.seeds)),
                f"{params:,}" if params else "",
                fmt_number(ep["mean"]) if ep["n"] else "",
            ]
        )
        csv_rows.append(
            [
                name,
                csv_number(s["mean"]),
                csv_number(s["std"]),
                params or "",
                csv_number(ep["mean"]),
                s["failed"],
            ]
        )
    notes = [
        "AM-FNO (MLP) with each `basis` of its frequency embedding (n_basis=16, the default), on the "
        "accuracy table's Darcy data, seeds and budget (the chebyshev row is that table's fit; its "
        "s / epoch was measured then, the others later: on a shared machine compare them loosely).",
        "no embedding: "
        + (
            f"`basis={none_basis!r}`."
            if none_basis
            else "not supported by the estimator: `AMFNORegressor(basis=...)` accepts only "
            "chebyshev, fourier, legendre, polynomial, and `AmortizedSpectralKernel` always expands "
            "the scaled wavenumber in the basis before its MLP (the KAN kernel, a separate row of "
            "Table 1, is the only one that takes the raw wavenumber)."
        ),
    ]
    md = markdown_table(header, md_rows, align=["l"]) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    csv_header = ["basis", "error", "error_std", "n_parameters", "epoch_s", "failed"]
    return TableOutput("ablation", md, csv_header, csv_rows, raw)
