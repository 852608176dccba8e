"""File helpers shared by the benchmark-file readers: existence checks, key lookup, optional h5py."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_file", "import_h5py", "require_key"]


def import_h5py():
    """Import h5py on first use, with installation advice when it is missing."""
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - exercised only without h5py
        raise ImportError(
            "Reading HDF5 files (PDEBench .h5/.hdf5, MATLAB v7.3 .mat) requires h5py: pip install h5py"
        ) from exc
    return h5py


def check_file(path: str | os.PathLike, what: str) -> Path:
    """Return ``path`` as a :class:`Path`, or raise FileNotFoundError naming the ``what`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {str(path)!r}")
    return path


def require_key(container, key: str, path: Path, layout: str):
    """``container[key]``, or a KeyError naming the file, the expected layout and the keys found."""
    if key not in container:
        raise KeyError(
            f"{str(path)!r} has no {key!r} (expected the {layout} layout); "
            f"found keys {sorted(k for k in container.keys() if not k.startswith('__'))}"
        )
    return container[key]
