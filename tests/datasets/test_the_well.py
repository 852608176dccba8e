"""``load_the_well``: files written in The Well's HDF5 layout, read back as frame-major windows."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sklearn_amfno import AutoregressiveRegressor, FNORegressor
from sklearn_amfno._streaming import LazyArray
from sklearn_amfno.datasets import load_the_well

h5py = pytest.importorskip("h5py")
rng = np.random.default_rng(0)
AXES = ("x", "y", "z")


def field(data, *, sample_varying=True, time_varying=True, dim_varying=None):
    """A field to write: its stored array and its attributes."""
    return {
        "data": data,
        "sample_varying": sample_varying,
        "time_varying": time_varying,
        "dim_varying": dim_varying,
    }


def write_well(
    path,
    grid,
    n_traj,
    n_time,
    t0=None,
    t1=None,
    t2=None,
    *,
    boundaries=None,
    time_sample_varying=False,
    dt=0.5,
):
    """Write a file in The Well's layout (``docs/data_format.md``, ``utils/dummy_data.py``).

    ``t0``, ``t1``, ``t2``: ``{name: array or field(...)}``, stored as given; ``boundaries``:
    ``{axis: bc_type}``, a condition on both ends of the axis.
    """
    dims = list(AXES[: len(grid)])
    time = dt * np.arange(n_time, dtype=np.float32)
    with h5py.File(path, "w") as f:
        f.attrs["dataset_name"] = "test_well"
        f.attrs["grid_type"] = "cartesian"
        f.attrs["n_spatial_dims"] = len(grid)
        f.attrs["n_trajectories"] = n_traj
        f.attrs["simulation_parameters"] = ["nu"]
        f.attrs["nu"] = 0.01
        group = f.create_group("dimensions")
        group.attrs["spatial_dims"] = dims
        if time_sample_varying:
            group.create_dataset("time", data=np.stack([time + i for i in range(n_traj)]))
        else:
            group.create_dataset("time", data=time)
        group["time"].attrs["sample_varying"] = time_sample_varying
        for axis, n in zip(dims, grid):
            group.create_dataset(axis, data=np.linspace(0, 1, n, endpoint=False, dtype=np.float32))
            group[axis].attrs["sample_varying"] = False
            group[axis].attrs["time_varying"] = False
        group = f.create_group("boundary_conditions")
        for axis, kind in (boundaries or {}).items():
            sub = group.create_group(f"{axis}_{kind.lower()}")
            sub.attrs["associated_dims"] = [axis]
            sub.attrs["associated_fields"] = []
            sub.attrs["bc_type"] = kind
            sub.attrs["sample_varying"] = False
            sub.attrs["time_varying"] = False
            mask = np.zeros(grid[dims.index(axis)], dtype=bool)
            mask[[0, -1]] = True
            sub.create_dataset("mask", data=mask)
        group = f.create_group("scalars")
        group.attrs["field_names"] = ["nu"]
        group.create_dataset("nu", data=np.array(0.01))
        group["nu"].attrs["sample_varying"] = False
        group["nu"].attrs["time_varying"] = False
        for name, fields in (("t0_fields", t0), ("t1_fields", t1), ("t2_fields", t2)):
            group = f.create_group(name)
            group.attrs["field_names"] = list(fields or {})
            for key, value in (fields or {}).items():
                value = value if isinstance(value, dict) else field(value)
                ds = group.create_dataset(key, data=value["data"])
                ds.attrs["sample_varying"] = value["sample_varying"]
                ds.attrs["time_varying"] = value["time_varying"]
                ds.attrs["dim_varying"] = value["dim_varying"] or [True] * len(grid)
    return path


def frames(*arrays):
    """Expected frame-major channels from per-channel arrays of shape (n, T, *grid)."""
    stacked = np.stack(arrays, axis=-1)  # (n, T, *grid, C)
    moved = np.moveaxis(stacked, 1, -2)  # (n, *grid, T, C)
    return moved.reshape(moved.shape[:-2] + (-1,))


@pytest.mark.parametrize("grid", [(12,), (6, 5), (4, 3, 5)])
def test_vector_components_follow_the_scalars_frame_major_on_1d_2d_3d_grids(tmp_path, grid):
    n, t, d = 3, 5, len(grid)
    density = rng.random((n, t, *grid)).astype(np.float32)
    velocity = rng.random((n, t, *grid, d)).astype(np.float32)
    path = write_well(tmp_path / "w.hdf5", grid, n, t, t0={"density": density}, t1={"velocity": velocity})
    X, y, info = load_the_well(path, n_steps_in=2, n_steps_out=3, return_info=True)
    assert info.field_names == ["density"] + [f"velocity_{a}" for a in AXES[:d]]
    assert info.n_fields == 1 + d
    channels = [density] + [velocity[..., i] for i in range(d)]
    assert X.shape == (n, *grid, 2 * (1 + d)) and y.shape == (n, *grid, 3 * (1 + d))
    assert X.dtype == y.dtype == np.float64
    expected = frames(*channels)
    np.testing.assert_array_equal(X, expected[..., : 2 * (1 + d)])
    np.testing.assert_array_equal(y, expected[..., 2 * (1 + d) :])
    # Channel frame * n_fields + field: frame 1 of velocity_x, frame 4 (y's last) of density.
    np.testing.assert_array_equal(X[..., (1 + d) + 1], velocity[:, 1, ..., 0])
    np.testing.assert_array_equal(y[..., 2 * (1 + d)], density[:, 4])


@pytest.mark.parametrize("flattened", [False, True])
def test_tensor_components_are_row_major_and_named_as_the_well_names_them(tmp_path, flattened):
    n, t, grid = 2, 4, (5, 6)
    stress = rng.random((n, t, *grid, 2, 2))
    stored = stress.reshape(n, t, *grid, 4) if flattened else stress
    path = write_well(tmp_path / "w.h5", grid, n, t, t2={"stress": stored})
    X, y, info = load_the_well(path, n_steps_in=1, n_steps_out=1, return_info=True)
    assert info.field_names == ["stress_xx", "stress_xy", "stress_yx", "stress_yy"]
    expected = frames(stress[..., 0, 0], stress[..., 0, 1], stress[..., 1, 0], stress[..., 1, 1])
    np.testing.assert_array_equal(X, expected[..., :4])
    np.testing.assert_array_equal(y, expected[..., 4:8])


def test_fields_select_whole_fields_or_components_in_the_order_given(tmp_path):
    n, t, grid = 2, 4, (8,)
    density, pressure = rng.random((2, n, t, *grid))
    velocity = rng.random((n, t, *grid, 1))
    path = write_well(
        tmp_path / "w.h5",
        grid,
        n,
        t,
        t0={"density": density, "pressure": pressure},
        t1={"velocity": velocity},
    )
    X, y, info = load_the_well(
        path, fields=["velocity_x", "density"], n_steps_in=2, n_steps_out=2, return_info=True
    )
    assert info.field_names == ["velocity_x", "density"]
    np.testing.assert_array_equal(X, frames(velocity[..., 0], density)[..., :4])
    X, _ = load_the_well(path, fields="pressure", n_steps_in=1, n_steps_out=1)
    assert X.shape == (n, 8, 1)  # one field keeps its channel axis, as AutoregressiveRegressor needs
    np.testing.assert_array_equal(X[..., 0], pressure[:, 0])


def test_strides_keep_every_kth_frame_and_grid_point(tmp_path):
    n, t, grid = 3, 9, (9, 8)
    u = rng.random((n, t, *grid))
    path = write_well(tmp_path / "w.h5", grid, n, t, t0={"u": u})
    X, y, info = load_the_well(
        path, n_steps_in=2, n_steps_out=2, time_stride=2, spatial_stride=3, n_trajectories=2, return_info=True
    )
    assert X.shape == (2, 3, 3, 2) and y.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(X, np.moveaxis(u[:2, 0:4:2, ::3, ::3], 1, -1))
    np.testing.assert_array_equal(y, np.moveaxis(u[:2, 4:8:2, ::3, ::3], 1, -1))
    assert info.dt == pytest.approx(1.0)  # two stored frames of 0.5
    np.testing.assert_allclose(info.coordinates["x"], np.linspace(0, 1, 9, endpoint=False)[::3], rtol=1e-6)
    assert info.coordinates["y"].shape == (3,)


def test_defaults_give_the_first_frame_and_the_rest_of_the_trajectory(tmp_path):
    n, t, grid = 2, 6, (8,)
    u = rng.random((n, t, *grid))
    path = write_well(tmp_path / "w.h5", grid, n, t, t0={"u": u})
    X, y = load_the_well(path)
    np.testing.assert_array_equal(X[..., 0], u[:, 0])
    np.testing.assert_array_equal(y, np.moveaxis(u[:, 1:], 1, -1))
    # Every window: one output frame by default, as The Well's n_steps_output.
    X, y = load_the_well(path, windows="all")
    assert X.shape == y.shape == (n * (t - 1), 8, 1)


@pytest.mark.parametrize("time_stride", [1, 2])
def test_every_window_starts_at_every_stored_frame_where_it_fits(tmp_path, time_stride):
    n, t, grid = 3, 9, (4,)
    u = rng.random((n, t, *grid))
    v = rng.random((n, t, *grid, 1))
    path = write_well(tmp_path / "w.h5", grid, n, t, t0={"u": u}, t1={"v": v})
    n_in, n_out = 2, 1
    X, y, info = load_the_well(
        path, n_steps_in=n_in, n_steps_out=n_out, windows="all", time_stride=time_stride, return_info=True
    )
    # The Well's count: raw_steps_to_possible_sample_t0s = T - (1 + dt * (n_in + n_out - 1)) + 1.
    per_traj = t - (1 + time_stride * (n_in + n_out - 1)) + 1
    assert X.shape == (n * per_traj, 4, 2 * n_in) and y.shape == (n * per_traj, 4, 2 * n_out)
    for sample, (traj, start) in enumerate(info.windows):
        assert sample == traj * per_traj + start  # ordered by trajectory, then start
        stored = [start + time_stride * k for k in range(n_in + n_out)]
        expected = frames(u[traj, stored][None], v[traj, stored, :, 0][None])[0]
        np.testing.assert_array_equal(X[sample], expected[:, : 2 * n_in])
        np.testing.assert_array_equal(y[sample], expected[:, 2 * n_in :])


def test_invariant_fields_are_repeated_over_trajectories_frames_and_axes(tmp_path):
    n, t, grid = 3, 4, (5, 4)
    u = rng.random((n, t, *grid))
    mask = rng.random(grid)  # same for every trajectory and frame
    profile = rng.random((n, t, 5))  # varies along x only, the y axis left out (the spec's FieldC)
    ramp = rng.random((n, 5, 1))  # constant in time, varies along x, y stored with length 1
    path = write_well(
        tmp_path / "w.h5",
        grid,
        n,
        t,
        t0={
            "u": u,
            "mask": field(mask, sample_varying=False, time_varying=False),
            "profile": field(profile, dim_varying=[True, False]),
            "ramp": field(ramp, time_varying=False, dim_varying=[True, False]),
        },
    )
    X, y, info = load_the_well(path, n_steps_in=1, n_steps_out=2, return_info=True)
    assert info.field_names == ["u", "profile"]  # time-invariant fields only when named
    np.testing.assert_array_equal(X[..., 1], np.broadcast_to(profile[:, 0, :, None], (n, *grid)))
    X, y = load_the_well(path, fields=["u", "mask", "ramp"], n_steps_in=1, n_steps_out=2)
    for frame_channels in (X, y[..., :3], y[..., 3:]):
        np.testing.assert_array_equal(frame_channels[..., 1], np.broadcast_to(mask, (n, *grid)))
        np.testing.assert_array_equal(frame_channels[..., 2], np.broadcast_to(ramp, (n, *grid)))
    np.testing.assert_array_equal(y[..., 3], u[:, 2])


def test_only_time_invariant_fields_must_be_named(tmp_path):
    path = write_well(tmp_path / "w.h5", (4,), 2, 3, t0={"c": field(rng.random((2, 4)), time_varying=False)})
    with pytest.raises(ValueError, match="no time-varying field.*fields="):
        load_the_well(path)
    X, y = load_the_well(path, fields="c", n_steps_out=1)
    np.testing.assert_array_equal(X, y)


def test_info_describes_boundaries_coordinates_time_and_scalars(tmp_path):
    n, t, grid = 2, 5, (6, 4)
    path = write_well(
        tmp_path / "w.h5",
        grid,
        n,
        t,
        t0={"u": rng.random((n, t, *grid))},
        boundaries={"x": "PERIODIC", "y": "WALL"},
        time_sample_varying=True,
    )
    X, y, info = load_the_well(path, n_trajectories=1, return_info=True)
    assert info.dataset_name == "test_well" and info.grid_type == "cartesian"
    assert info.spatial_dims == ["x", "y"]
    assert info.boundary_types == {"x": ("periodic", "periodic"), "y": ("wall", "wall")}
    assert info.boundary_conditions["y_wall"].bc_type == "wall"
    assert info.boundary_conditions["y_wall"].associated_dims == ["y"]
    assert info.time.shape == (1, t)  # sample-varying times: one row per trajectory read
    assert info.dt == pytest.approx(0.5)
    assert float(info.scalars["nu"]) == pytest.approx(0.01)
    np.testing.assert_array_equal(info.windows, [[0, 0]])
    # An axis end without a condition is open, as in The Well's padding.
    path = write_well(tmp_path / "open.h5", grid, n, t, t0={"u": rng.random((n, t, *grid))})
    assert load_the_well(path, return_info=True)[2].boundary_types == {
        "x": ("open", "open"),
        "y": ("open", "open"),
    }


@pytest.mark.parametrize(
    "options",
    [
        {"n_steps_in": 2, "n_steps_out": 2},
        {"windows": "all", "n_steps_in": 2, "n_steps_out": 1, "time_stride": 2, "spatial_stride": 2},
        {"windows": "all", "fields": ["velocity_y", "mask"], "n_trajectories": 3},
    ],
)
def test_lazy_read_equals_the_eager_read(tmp_path, options):
    n, t, grid = 4, 7, (6, 5)
    path = write_well(
        tmp_path / "w.h5",
        grid,
        n,
        t,
        t0={
            "rho": rng.random((n, t, *grid)),
            "mask": field(rng.random(grid), sample_varying=False, time_varying=False),
        },
        t1={"velocity": rng.random((n, t, *grid, 2)).astype(np.float32)},
    )
    lazy = load_the_well(path, lazy=True, **options)
    eager = load_the_well(path, **options)
    for a, b in zip(lazy, eager, strict=True):
        assert isinstance(a, LazyArray) and a.shape == b.shape and a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(np.asarray(a), b)
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2 : len(b) - 1], b[2 : len(b) - 1])  # runs across trajectories
        np.testing.assert_array_equal(a[[len(b) - 1, 0, 2]], b[[len(b) - 1, 0, 2]])
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(a))[0], b[0])
        a.close()


def test_output_trains_an_autoregressive_regressor(tmp_path):
    n, t, grid = 6, 6, (8, 8)
    path = write_well(
        tmp_path / "w.h5",
        grid,
        n,
        t,
        t0={"density": rng.random((n, t, *grid))},
        t1={"velocity": rng.random((n, t, *grid, 2))},
        boundaries={"x": "PERIODIC", "y": "PERIODIC"},
    )
    X, y, info = load_the_well(path, n_steps_in=2, return_info=True)
    est = AutoregressiveRegressor(
        FNORegressor(width=4, n_modes=2, n_layers=1, max_epochs=1, random_state=0), n_fields=info.n_fields
    )
    pred = est.fit(X, y).predict(X)
    assert pred.shape == y.shape == (n, *grid, 4 * 3)
    assert np.isfinite(pred).all()


# -- errors ----------------------------------------------------------------------------------------


def test_errors_name_the_file_and_what_was_expected(tmp_path):
    n, t, grid = 2, 4, (6,)
    path = write_well(tmp_path / "w.h5", grid, n, t, t0={"rho": rng.random((n, t, *grid))})
    with pytest.raises(FileNotFoundError, match="The Well file not found"):
        load_the_well(tmp_path / "missing.hdf5")
    with pytest.raises(ValueError, match=r"has no field 'pressure'; available: the fields \['rho'\]"):
        load_the_well(path, fields=["rho", "pressure"])
    with pytest.raises(ValueError, match=r"n_steps_in=3 and n_steps_out=2.*spans 5 stored frames.*have 4"):
        load_the_well(path, n_steps_in=3, n_steps_out=2)
    with pytest.raises(ValueError, match="time_stride=2.*have 4"):
        load_the_well(path, n_steps_in=2, n_steps_out=1, time_stride=2)
    with pytest.raises(ValueError, match="n_steps_in=4 leaves no frame for y: .* have 4 frames"):
        load_the_well(path, n_steps_in=4)  # no frame left for y
    with pytest.raises(ValueError, match="n_trajectories=3 but .* holds 2 trajectories"):
        load_the_well(path, n_trajectories=3)
    with pytest.raises(ValueError, match="selects \\['rho'\\] more than once"):
        load_the_well(path, fields=["rho", "rho"])
    with pytest.raises(TypeError, match="fields must be field or component names"):
        load_the_well(path, fields=["rho", 0])
    with pytest.raises(ValueError, match="'windows' parameter of load_the_well"):
        load_the_well(path, windows="every")


def test_a_file_not_in_the_well_layout_is_refused(tmp_path):
    other = tmp_path / "pdebench.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("density", data=np.zeros((2, 3, 4)))
    with pytest.raises(KeyError, match=r"is not in The Well's layout.*it holds 'density' \(2, 3, 4\)"):
        load_the_well(other)
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        load_the_well(text)


def test_a_field_whose_shape_contradicts_its_attributes_is_refused(tmp_path):
    n, t, grid = 2, 4, (6, 5)
    path = write_well(tmp_path / "w.h5", grid, n, t, t1={"velocity": rng.random((n, t, *grid, 3))})
    with pytest.raises(
        ValueError, match=r"'/t1_fields/velocity' has shape \(2, 4, 6, 5, 3\), expected .*\(2, 4, 6, 5, 2\)"
    ):
        load_the_well(path)
    path = write_well(tmp_path / "listed.h5", grid, n, t, t0={"u": rng.random((n, t, *grid))})
    with h5py.File(path, "a") as f:
        f["t0_fields"].attrs["field_names"] = ["u", "ghost"]
    with pytest.raises(KeyError, match="lists the field 'ghost'"):
        load_the_well(path)
