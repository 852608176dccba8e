"""Every reader error names the file, what was expected and what was found; nothing is dropped.

Each test writes its own small files in the published layouts (PDEBench HDF5, FNO MATLAB v5 and
v7.3, Geo-FNO .npy) and checks the message of one misleading or silent case.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.io
from file_formats import savemat_v73, write_h5

from sklearn_amfno.datasets import load_fno_mat, load_geofno, load_pdebench

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)


def _write_geofno(folder, prefix="Pipe", n=2, h=5, w=6, n_fields=3, q=None):
    np.save(folder / f"{prefix}_X.npy", rng.random((n, h, w)))
    np.save(folder / f"{prefix}_Y.npy", rng.random((n, h, w)))
    np.save(folder / f"{prefix}_Q.npy", rng.random((n, n_fields, h, w)) if q is None else q)


def _path(p):
    """The path as the messages quote it."""
    return re.escape(repr(str(p)))


@pytest.fixture(autouse=True)
def _no_silent_casts():
    # A ComplexWarning (or any other) would mean data were silently changed.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- MATLAB files holding other variables ---------------------------------------------------
def test_v5_file_with_other_variables_lists_them(tmp_path):
    # Before: "... has no 'coeff' (expected the FNO .mat (v5) layout); found keys []".
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"foo": np.ones((2, 4, 4)), "bar": np.ones(3)})
    with pytest.raises(KeyError) as info:
        load_fno_mat(path, problem="darcy")
    msg = str(info.value)
    assert msg.startswith(repr(str(path)))  # printed as written, not re-quoted by KeyError
    assert "has no 'coeff'" in msg
    assert "'coeff' and 'sol'" in msg and "(N, H, W)" in msg  # what the problem needs
    assert "'foo' (2, 4, 4) double" in msg and "'bar' (1, 3) double" in msg  # what is there
    assert "[]" not in msg


def test_v73_file_with_other_variables_lists_them(tmp_path):
    path = savemat_v73(tmp_path / "other73.mat", foo=np.ones((2, 4, 4)))
    with h5py.File(path, "a") as f:
        f.create_group("#refs#")  # MATLAB's bookkeeping group is not a variable
    with pytest.raises(
        KeyError, match=_path(path) + r" has no 'u' .*'u' of MATLAB shape \(N, H, W, T\)"
    ) as info:
        load_fno_mat(path, problem="navier_stokes")
    assert "'foo'" in str(info.value) and "#refs#" not in str(info.value)


def test_v5_second_variable_missing(tmp_path):
    path = tmp_path / "x.mat"
    scipy.io.savemat(path, {"coeff": np.ones((2, 4, 4))})
    with pytest.raises(KeyError, match=_path(path) + r" has no 'sol' .* it holds 'coeff' \(2, 4, 4\) double"):
        load_fno_mat(path, problem="darcy")


# -- files that are not what the reader reads -----------------------------------------------
def test_text_file_as_mat_is_not_called_truncated(tmp_path):
    # Before: "Unknown mat file type, version 115, 32" (no path); an empty file: "Mat file
    # appears to be truncated".
    path = tmp_path / "notes.mat"
    path.write_text("hello, this is not a MATLAB file\n")
    with pytest.raises(ValueError) as info:
        load_fno_mat(path, problem="darcy")
    msg = str(info.value)
    assert msg.startswith(repr(str(path)) + " is not a MATLAB MAT-file")
    assert "not a MATLAB/HDF5 file (starts with b'hello, this is not" in msg
    assert "truncated" not in msg


def test_empty_file_as_mat(tmp_path):
    path = tmp_path / "empty.mat"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=_path(path) + r" is not a MATLAB MAT-file: detected an empty file"):
        load_fno_mat(path, problem="burgers")


def test_corrupt_v5_file_names_it_and_its_format(tmp_path):
    path = tmp_path / "cut.mat"
    scipy.io.savemat(path, {"coeff": np.ones((2, 4, 4)), "sol": np.ones((2, 4, 4))})
    path.write_bytes(path.read_bytes()[:150])  # the header and a cut-off variable
    with pytest.raises(
        ValueError, match=_path(path) + r" cannot be read as a MATLAB MAT-file: detected a MATLAB v5"
    ):
        load_fno_mat(path, problem="darcy")


@pytest.mark.parametrize(
    "content,detected",
    [
        (b"", r"an empty file \(0 bytes\)"),
        (b"time,density\n0,1.0\n", r"not a MATLAB/HDF5 file \(starts with b'time,density"),
    ],
)
def test_non_hdf5_file_given_to_pdebench(tmp_path, content, detected):
    # Before: h5py's "OSError: Unable to synchronously open file (file signature not found)",
    # without the path.
    path = tmp_path / "data.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=_path(path) + " is not an HDF5 file: detected " + detected):
        load_pdebench(path)


def test_mat_v5_given_to_pdebench_says_what_it_is(tmp_path):
    path = tmp_path / "data.h5"
    scipy.io.savemat(path, {"u": np.ones((2, 3))}, appendmat=False)
    with pytest.raises(ValueError, match=_path(path) + " is not an HDF5 file: detected a MATLAB v5 MAT-file"):
        load_pdebench(path)


def test_truncated_hdf5_names_the_file(tmp_path):
    path = write_h5(tmp_path / "cut.h5", tensor=rng.random((4, 5, 64)))
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(
        ValueError, match=_path(path) + r" starts like an HDF5 file .* cannot be opened as HDF5"
    ):
        load_pdebench(path)


@pytest.mark.parametrize("content", [b"", b"x,y\n1,2\n"])
def test_non_npy_file_given_to_geofno(tmp_path, content):
    _write_geofno(tmp_path)
    (tmp_path / "Pipe_Q.npy").write_bytes(content)
    path = tmp_path / "Pipe_Q.npy"
    # Before: "EOFError: No data left in file" or numpy's advice to unpickle the file.
    with pytest.raises(ValueError, match=_path(path) + " is not a NumPy .npy file: detected"):
        load_geofno(tmp_path, "pipe")


# -- missing paths, wrong kinds of path ------------------------------------------------------
@pytest.mark.parametrize(
    "load",
    [
        lambda p: load_pdebench(p),
        lambda p: load_fno_mat(p, problem="darcy"),
    ],
)
def test_missing_file_and_directory(tmp_path, load):
    with pytest.raises(FileNotFoundError, match="file not found: " + _path(tmp_path / "nope")):
        load(tmp_path / "nope")
    # Before: "file not found" for a folder that exists.
    with pytest.raises(IsADirectoryError, match=_path(tmp_path) + " is a directory"):
        load(tmp_path)


def test_geofno_folder_that_is_a_file_or_missing(tmp_path):
    _write_geofno(tmp_path)
    with pytest.raises(NotADirectoryError, match=_path(tmp_path / "Pipe_X.npy") + " is a file"):
        load_geofno(tmp_path / "Pipe_X.npy", "pipe")
    with pytest.raises(FileNotFoundError, match="folder not found: " + _path(tmp_path / "nowhere")):
        load_geofno(tmp_path / "nowhere", "pipe")
    (tmp_path / "Pipe_Y.npy").unlink()
    with pytest.raises(FileNotFoundError, match=_path(tmp_path / "Pipe_Y.npy")):
        load_geofno(tmp_path, "pipe")


def test_pdebench_missing_dataset_lists_contents(tmp_path):
    path = write_h5(tmp_path / "cfd.h5", density=np.ones((2, 3, 4)), Vx=np.ones((2, 3, 4)))
    with pytest.raises(KeyError, match=_path(path) + r" has no 'pressure' .*'density' \(2, 3, 4\) float64"):
        load_pdebench(path, n_steps_in=1)
    other = write_h5(tmp_path / "other.h5", foo=np.zeros(3))
    with pytest.raises(KeyError, match=_path(other) + r": cannot detect the PDEBench layout.*'foo' \(3,\)"):
        load_pdebench(other)


def test_pdebench_group_instead_of_dataset(tmp_path):
    path = tmp_path / "grp.h5"
    with h5py.File(path, "w") as f:
        f.create_group("tensor")
    # Before: "AttributeError: 'Group' object has no attribute 'ndim'".
    with pytest.raises(ValueError, match=_path(path) + ": 'tensor' is an HDF5 group, expected a dataset"):
        load_pdebench(path)


# -- wrong ranks and shapes --------------------------------------------------------------------
def test_wrong_rank_names_file_expected_and_found(tmp_path):
    mat = tmp_path / "rank.mat"
    scipy.io.savemat(mat, {"coeff": np.ones((2, 4)), "sol": np.ones((2, 4))})
    with pytest.raises(
        ValueError, match=_path(mat) + r": 'coeff' has MATLAB shape \(2, 4\), expected \(N, H, W\)"
    ):
        load_fno_mat(mat, problem="darcy")
    v73 = savemat_v73(tmp_path / "rank73.mat", u=np.ones((2, 4, 4)))
    with pytest.raises(
        ValueError, match=_path(v73) + r": 'u' has MATLAB shape \(2, 4, 4\), expected \(N, H, W, T\)"
    ):
        load_fno_mat(v73, problem="navier_stokes")
    h5 = write_h5(tmp_path / "rank.h5", tensor=np.ones((2, 3)))
    with pytest.raises(
        ValueError, match=_path(h5) + r": PDEBench 1-D Burgers expects .*\(N, T, X\), got \(2, 3\)"
    ):
        load_pdebench(h5)
    darcy = write_h5(tmp_path / "d.h5", nu=np.ones((2, 4, 4)), tensor=np.ones((2, 4, 4)))
    with pytest.raises(
        ValueError, match=_path(darcy) + r": PDEBench Darcy expects .* got \(2, 4, 4\) and \(2, 4, 4\)"
    ):
        load_pdebench(darcy)
    _write_geofno(tmp_path)
    np.save(tmp_path / "Pipe_Y.npy", np.ones((2, 5, 7)))
    with pytest.raises(
        ValueError, match=_path(tmp_path) + r": Geo-FNO pipe expects .* got \(2, 5, 6\), \(2, 5, 7\)"
    ):
        load_geofno(tmp_path, "pipe")


def test_fno_shape_mismatch_names_file(tmp_path):
    path = tmp_path / "y.mat"
    scipy.io.savemat(path, {"coeff": np.ones((2, 4, 4)), "sol": np.ones((2, 4, 5))})
    with pytest.raises(
        ValueError, match=_path(path) + r": FNO darcy expects .* got \(2, 4, 4\) and \(2, 4, 5\)"
    ):
        load_fno_mat(path, problem="darcy")


# -- more samples or frames than the file holds ---------------------------------------------
def test_n_samples_larger_than_available(tmp_path):
    # Before: silently fewer samples than asked for.
    h5 = write_h5(tmp_path / "b.h5", tensor=np.ones((2, 3, 4)))
    msg = r"n_samples=5 but {} holds 2 samples.*pass n_samples <= 2"
    with pytest.raises(ValueError, match=msg.format(_path(h5))):
        load_pdebench(h5, n_samples=5)
    darcy = write_h5(tmp_path / "d.h5", nu=np.ones((3, 4, 4)), tensor=np.ones((3, 1, 4, 4)))
    with pytest.raises(ValueError, match=rf"n_samples=4 but {_path(darcy)} holds 3 samples"):
        load_pdebench(darcy, n_samples=4)
    mat = tmp_path / "b.mat"
    scipy.io.savemat(mat, {"a": np.ones((2, 8)), "u": np.ones((2, 8))})
    with pytest.raises(ValueError, match=msg.format(_path(mat))):
        load_fno_mat(mat, problem="burgers", n_samples=5)
    v73 = savemat_v73(tmp_path / "b73.mat", a=np.ones((2, 8)), u=np.ones((2, 8)))
    with pytest.raises(ValueError, match=msg.format(_path(v73))):
        load_fno_mat(v73, problem="burgers", n_samples=5)
    _write_geofno(tmp_path)
    with pytest.raises(ValueError, match=msg.format(_path(tmp_path / "Pipe_X.npy"))):
        load_geofno(tmp_path, "pipe", n_samples=5)
    # Exactly the number available still works.
    assert load_pdebench(h5, n_samples=2)[0].shape[0] == 2


def test_empty_sample_axis(tmp_path):
    h5 = write_h5(tmp_path / "b.h5", tensor=np.ones((0, 3, 4)))
    with pytest.raises(ValueError, match=_path(h5) + r" holds no samples"):
        load_pdebench(h5)


def test_frames_out_of_range_name_the_file(tmp_path):
    h5 = write_h5(tmp_path / "b.h5", tensor=np.ones((2, 3, 4)))
    shape = r"'tensor' has shape \(2, 3, 4\) = \(N, T, \*grid\)"
    with pytest.raises(
        ValueError,
        match=_path(h5) + r": n_steps_in=5 needs frames 0\.\.4, but the file has 3 frames.*" + shape,
    ):
        load_pdebench(h5, n_steps_in=5)
    with pytest.raises(
        ValueError, match=_path(h5) + r": output_frames must lie within the 3 available frames.*got \[7\]"
    ):
        load_pdebench(h5, output_frames=[7])
    mat = tmp_path / "ns.mat"
    scipy.io.savemat(mat, {"u": np.ones((2, 4, 4, 7))})
    with pytest.raises(ValueError, match=_path(mat) + r": n_steps_in \+ n_steps_out must be <= T=7 .*got 20"):
        load_fno_mat(mat, problem="navier_stokes")


def test_non_integer_frames_are_refused_not_truncated(tmp_path):
    h5 = write_h5(tmp_path / "b.h5", tensor=rng.random((2, 4, 4)))
    # Before: 1.5 read as frame 1.
    with pytest.raises(
        ValueError, match=r"input_frames must be a sequence of frame indices \(ints\), got \[1\.5\]"
    ):
        load_pdebench(h5, input_frames=[1.5])
    # Integral floats keep working, as before.
    np.testing.assert_array_equal(
        load_pdebench(h5, input_frames=[2.0])[0], load_pdebench(h5, input_frames=[2])[0]
    )


# -- Geo-FNO field selection ---------------------------------------------------------------------
def test_geofno_empty_fields_refused(tmp_path):
    _write_geofno(tmp_path)
    # Before: a target of shape (n, H, W, 0).
    with pytest.raises(
        ValueError, match=r"fields must select at least one field.*\['velocity_x', 'velocity_y', 'pressure'\]"
    ):
        load_geofno(tmp_path, "pipe", fields=[])


@pytest.mark.parametrize("bad", [[1.7], [True], [None]])
def test_geofno_fields_that_are_not_names_or_ints(tmp_path, bad):
    _write_geofno(tmp_path)
    # Before: 1.7 read as field 1, True as field 1.
    with pytest.raises(ValueError, match="fields must be field names or int indices; available: "):
        load_geofno(tmp_path, "pipe", fields=bad)


def test_geofno_field_index_out_of_range_names_file(tmp_path):
    _write_geofno(tmp_path)
    with pytest.raises(
        ValueError, match=_path(tmp_path / "Pipe_Q.npy") + r" has 3 fields \(indices 0\.\.2\)"
    ):
        load_geofno(tmp_path, "pipe", fields=[0, 3])


# -- complex and non-numeric data ----------------------------------------------------------------
_COMPLEX = r"holds complex values .*np\.stack\(\[z\.real, z\.imag\], axis=-1\)"


def test_complex_v5_refused(tmp_path):
    path = tmp_path / "c.mat"
    scipy.io.savemat(path, {"coeff": np.ones((2, 4, 4)) * (1 + 2j), "sol": np.ones((2, 4, 4))})
    # Before: a ComplexWarning and the real part only.
    with pytest.raises(ValueError, match=_path(path) + ": 'coeff' " + _COMPLEX):
        load_fno_mat(path, problem="darcy")


def test_complex_v73_refused(tmp_path):
    # MATLAB v7.3 stores complex arrays as a compound of 'real' and 'imag'.
    path = savemat_v73(tmp_path / "c73.mat", sol=np.ones((2, 4, 4)))
    z = np.zeros((4, 4, 2), dtype=[("real", "<f8"), ("imag", "<f8")])
    with h5py.File(path, "a") as f:
        f.create_dataset("coeff", data=z)
    # Before: "TypeError: Cannot cast array data from dtype([('real', ...".
    with pytest.raises(ValueError, match=_path(path) + ": 'coeff' " + _COMPLEX):
        load_fno_mat(path, problem="darcy")


def test_complex_hdf5_refused(tmp_path):
    path = write_h5(tmp_path / "c.h5", tensor=np.ones((2, 3, 4)) * (1 + 1j))
    with pytest.raises(ValueError, match=_path(path) + ": 'tensor' " + _COMPLEX):
        load_pdebench(path)


def test_complex_npy_refused(tmp_path):
    _write_geofno(tmp_path, q=np.ones((2, 3, 5, 6)) * (1 + 1j))
    with pytest.raises(ValueError, match=_path(tmp_path / "Pipe_Q.npy") + " " + _COMPLEX):
        load_geofno(tmp_path, "pipe")


def test_non_numeric_variables_refused(tmp_path):
    path = tmp_path / "cell.mat"
    scipy.io.savemat(path, {"a": np.array([[1, "x"]], dtype=object), "u": np.ones((1, 2))})
    with pytest.raises(
        ValueError, match=_path(path) + ": 'a' holds object data, expected a real numeric array"
    ):
        load_fno_mat(path, problem="burgers")
    h5 = write_h5(tmp_path / "s.h5", tensor=np.array([[[b"ab"]]]))
    with pytest.raises(ValueError, match=_path(h5) + ": 'tensor' holds \\|S2 data"):
        load_pdebench(h5)


def test_real_files_still_read_unchanged(tmp_path):
    # The checks leave successful reads as they were.
    coeff, sol = rng.random((3, 9, 9)), rng.random((3, 9, 9))
    scipy.io.savemat(tmp_path / "v5.mat", {"coeff": coeff, "sol": sol})
    savemat_v73(tmp_path / "v73.mat", coeff=coeff, sol=sol)
    for name in ("v5.mat", "v73.mat"):
        X, y = load_fno_mat(tmp_path / name, problem="darcy", spatial_stride=2, n_samples=2)
        np.testing.assert_array_equal(X, coeff[:2, ::2, ::2])
        np.testing.assert_array_equal(y, sol[:2, ::2, ::2])
    ints = write_h5(tmp_path / "i.h5", tensor=np.arange(24).reshape(2, 3, 4))
    X, y = load_pdebench(ints)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(y, np.arange(24).reshape(2, 3, 4)[:, -1])
