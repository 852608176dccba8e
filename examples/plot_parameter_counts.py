"""
=====================================================
Parameters against grid size: AM-FNO, FNO and FNO+
=====================================================

A classic FNO stores one complex ``width x width`` matrix per kept Fourier mode. Keeping a fixed
number of modes (12 per axis) caps its parameter count but throws away the high frequencies of
fine grids; keeping all of them (FNO+) lets the count grow with the grid. AM-FNO keeps every mode
at a fixed cost, because a small network of the wavenumber produces the matrices.

No training here: the torch models of :mod:`sklearn_amfno.nn` are built for each grid and their
real scalars counted (a complex weight counts two, as ``n_parameters_`` of the estimators does).
"""

import matplotlib.pyplot as plt

from sklearn_amfno.nn import AMFNO, FNO


def n_parameters(model):
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


grids = [16, 32, 64, 128]
models = {
    "AM-FNO (MLP kernel)": lambda n: AMFNO(1, 1, (n, n)),
    "AM-FNO (KAN kernel)": lambda n: AMFNO(1, 1, (n, n), kernel="kan"),
    "FNO (12 modes)": lambda n: FNO(1, 1, (n, n), n_modes=12),
    "FNO+ (all modes)": lambda n: FNO(1, 1, (n, n), n_modes=None),
}
counts = {name: [n_parameters(build(n)) for n in grids] for name, build in models.items()}

print(f"{'model':22s}" + "".join(f"{f'{n}x{n}':>12s}" for n in grids))
for name, values in counts.items():
    print(f"{name:22s}" + "".join(f"{v:12,d}" for v in values))

# %%
# At the defaults (width 32, 4 layers), FNO with 12 modes has a fixed count on grids of 24 points
# per axis or more; on 16 x 16 only 8 modes per axis fit, and it equals FNO+. FNO+ grows with the
# number of grid points; both AM-FNO variants stay constant while using every mode.
fig, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
for name, values in counts.items():
    ax.plot(grids, values, marker="o", label=name)
ax.set(xscale="log", yscale="log", xlabel="grid points per axis", ylabel="parameters")
ax.set_xticks(grids, [str(n) for n in grids])
ax.set_xticks([], minor=True)  # the log axis's minor ticks would add labels between the grids
ax.legend(fontsize="small")
plt.show()
