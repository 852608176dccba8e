"""Small files in the published layouts, written by the reader tests (``tests/`` is on
``sys.path`` through its ``conftest.py``)."""

from __future__ import annotations

import numpy as np


def write_h5(path, **arrays):
    """An HDF5 file with one dataset per keyword (PDEBench's layout)."""
    import h5py

    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)
    return path


def savemat_v73(path, **arrays):
    """A MATLAB v7.3-style file: HDF5 with a 512-byte user block and reversed axes."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=np.asarray(v).T)
    with open(path, "r+b") as fh:
        # 116 bytes of text, 8 bytes of subsystem offset, version 0x0200 and endian mark "IM".
        text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 ."
        fh.write(text.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")
    return path
