"""What the runner compares: the rows, the tables, the preset sizes and the paper's numbers."""

from __future__ import annotations

#: Row label -> (estimator class in ``sklearn_amfno``, its parameters). Labels are fixed.
ROWS: dict[str, tuple[str | type, dict]] = {
    "AM-FNO (MLP)": ("AMFNORegressor", {"kernel": "mlp"}),
    "AM-FNO (KAN)": ("AMFNORegressor", {"kernel": "kan"}),
    "FNO": ("FNORegressor", {"n_modes": 12}),
    "FNO+": ("FNORegressor", {"n_modes": None}),
    "F-FNO": ("FFNORegressor", {}),
    "U-FNO": ("UFNORegressor", {}),
    "AFNO": ("AFNORegressor", {}),
    "OFormer": ("OFormerRegressor", {}),
    "LSM": ("LSMRegressor", {}),
}

#: Rows of the super-resolution and spectral tables (the paper's Tables 3 and 4).
RESOLUTION_ROWS = ("AM-FNO (MLP)", "FNO", "FNO+")

#: Rows of the basis ablation: label -> ``basis`` value (None: "no embedding", see
#: :func:`no_embedding_basis`).
ABLATION_ROWS: dict[str, str | None] = {
    "chebyshev": "chebyshev",
    "fourier": "fourier",
    "legendre": "legendre",
    "polynomial": "polynomial",
    "no embedding": None,
}

# AM-FNO paper (Xiao, Kou, Hao, Lin, Deng: "Amortized Fourier Neural Operators", NeurIPS 2024),
# Table 2: relative L2 test errors on its six benchmarks (Darcy, Airfoil and Pipe from Geo-FNO,
# NS-2D from FNO, CFD-1D and CFD-2D from PDEBench). Burgers 1-D is not one of its benchmarks.
# None prints "n/a". No value is filled in: the table could not be checked against a text copy of
# the paper when this runner was written, and a number recalled from memory is not a citation.
# Fill an entry only from the paper itself, as printed. The paper's data, resolutions and budgets
# (hundreds of epochs on a GPU, full resolution) differ from the reduced runs here, so the two
# columns show orders of magnitude and rankings, not a reproduction.
PAPER_TABLE2: dict[str, dict[str, float | None]] = {
    label: {key: None for key in ("darcy", "airfoil", "pipe", "ns", "cfd1d", "cfd2d")} for label in ROWS
}
#: Problems the paper has no benchmark for.
NOT_IN_PAPER = {"burgers"}

# Presets. "full" (the default) is sized for about two hours on 2 CPU cores: ``--estimate`` on the
# shared 2-core development machine (1 torch thread, load average ~4) projected 136 min (accuracy
# 114, ablation 10, spectral 8, cost 5), dominated by OFormer and LSM on the 2-D problems (~70-90 ms
# per sample and epoch at 32 x 32, 5-15x the FNO family); 2 free cores with 2 threads are 1.4-2x
# faster (docs/performance.md). ``width=None`` keeps every estimator's default width (32 for all
# families). Rollout problems train on every one-step window of each trajectory:
# ``n_train * n_steps_out`` samples per epoch.
SIZES: dict[str, dict] = {
    "full": {
        "seeds": [0, 1, 2],
        "width": None,
        "epochs": 20,
        "batch_size": 16,
        "burgers": {"n_train": 200, "n_test": 50, "resolution": 256},
        "darcy": {"n_train": 128, "n_test": 50, "resolution": 32},
        "ns": {"n_train": 16, "n_test": 8, "resolution": 32, "n_steps_in": 10, "n_steps_out": 10},
        "cfd1d": {"n_train": 40, "n_test": 10, "resolution": 128, "n_steps_in": 10, "n_steps_out": 5},
        "cfd2d": {"n_train": 16, "n_test": 8, "resolution": 32, "n_steps_in": 10, "n_steps_out": 5},
        "airfoil": {"n_train": 64, "n_test": 16, "resolution": (111, 26)},
        "pipe": {"n_train": 96, "n_test": 32, "resolution": 33},
        "spectral": {"n_train": 64, "n_test": 32, "resolution": 64},
        "cost": {"resolution": 64, "n_samples": 64, "epochs": 3, "width": None, "batch_size": 32},
    },
    "quick": {
        "seeds": [0],
        "width": 8,
        "epochs": 8,
        "batch_size": 8,
        "burgers": {"n_train": 48, "n_test": 16, "resolution": 128},
        "darcy": {"n_train": 48, "n_test": 16, "resolution": 16},
        "ns": {"n_train": 8, "n_test": 4, "resolution": 16, "n_steps_in": 10, "n_steps_out": 4},
        "cfd1d": {"n_train": 8, "n_test": 4, "resolution": 64, "n_steps_in": 10, "n_steps_out": 4},
        "cfd2d": {"n_train": 6, "n_test": 4, "resolution": 16, "n_steps_in": 10, "n_steps_out": 2},
        "airfoil": {"n_train": 16, "n_test": 4, "resolution": (61, 15)},
        "pipe": {"n_train": 32, "n_test": 8, "resolution": 17},
        "spectral": {"n_train": 32, "n_test": 16, "resolution": 32},
        "cost": {"resolution": 64, "n_samples": 16, "epochs": 2, "width": 8, "batch_size": 8},
    },
    "smoke": {
        "seeds": [0],
        "width": 8,
        "epochs": 1,
        "batch_size": 4,
        "burgers": {"n_train": 4, "n_test": 2, "resolution": 16},
        "darcy": {"n_train": 4, "n_test": 2, "resolution": 8},
        "ns": {"n_train": 2, "n_test": 2, "resolution": 8, "n_steps_in": 2, "n_steps_out": 2},
        "cfd1d": {"n_train": 2, "n_test": 2, "resolution": 16, "n_steps_in": 2, "n_steps_out": 2},
        "cfd2d": {"n_train": 2, "n_test": 2, "resolution": 8, "n_steps_in": 2, "n_steps_out": 1},
        # Mach 0.5: subsonic flow converges in a few steps on the smallest C-grid.
        "airfoil": {"n_train": 2, "n_test": 2, "resolution": (41, 9), "mach": 0.5},
        "pipe": {"n_train": 2, "n_test": 2, "resolution": 9},
        "spectral": {"n_train": 4, "n_test": 2, "resolution": 16},
        "cost": {"resolution": 16, "n_samples": 4, "epochs": 2, "width": 8, "batch_size": 4},
    },
}

TABLES = ("accuracy", "cost", "superres", "spectral", "ablation")

TABLE_TITLES = {
    "accuracy": "Table 1. Accuracy: test relative L2 error",
    "cost": "Table 2. Cost on Darcy",
    "superres": "Table 3. Zero-shot super-resolution: train on the coarse grid, test on both",
    "spectral": "Table 4. Error per wavenumber band on Darcy",
    "ablation": "Table 5. Basis ablation of AM-FNO (MLP) on Darcy",
}
