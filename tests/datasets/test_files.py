import sys

import numpy as np
import pytest
import scipy.io

from sklearn_amfno.datasets import load_fno_mat, load_pdebench

h5py = pytest.importorskip("h5py")


def test_h5py_missing_gives_install_advice(tmp_path, monkeypatch):
    path = tmp_path / "b.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("tensor", data=np.ones((2, 3, 4)))
    monkeypatch.setitem(sys.modules, "h5py", None)  # "import h5py" now raises ImportError
    with pytest.raises(ImportError, match="pip install h5py"):
        load_pdebench(path)
    # MATLAB v5 files do not need h5py.
    scipy.io.savemat(tmp_path / "d.mat", {"coeff": np.ones((2, 4, 4)), "sol": np.ones((2, 4, 4))})
    X, _ = load_fno_mat(tmp_path / "d.mat", problem="darcy")
    assert X.shape == (2, 4, 4)
