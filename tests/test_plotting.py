"""The displays of sklearn_amfno.plotting: what they draw is the data, in 1-D, 2-D and 3-D."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from numpydoc.docscrape import NumpyDocString  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

import sklearn_amfno.plotting  # noqa: E402
from sklearn_amfno import AutoregressiveRegressor, FNORegressor  # noqa: E402
from sklearn_amfno.metrics import rollout_error, spectral_error  # noqa: E402
from sklearn_amfno.plotting import (  # noqa: E402
    FieldDisplay,
    RolloutErrorDisplay,
    SpectrumDisplay,
    TrainingCurveDisplay,
)

GRIDS = {1: (16,), 2: (8, 6), 3: (6, 4, 5)}
TINY = dict(width=4, n_layers=1, n_modes=2, max_epochs=2, batch_size=4, random_state=0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(display) -> bytes:
    buffer = io.BytesIO()
    display.figure_.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    return data


def _data(n_dim: int, n_samples: int = 6, channels: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (n_samples, *GRIDS[n_dim]) + (() if channels is None else (channels,))
    X = rng.standard_normal(shape)
    y = np.cumsum(X, axis=1) / 3
    return X, y


@pytest.fixture(scope="module")
def fitted():
    """Tiny FNOs fitted in 1-D, 2-D and 3-D (with a validation split), channels last."""
    out = {}
    for n_dim in (1, 2, 3):
        X, y = _data(n_dim, n_samples=8, channels=2)
        est = FNORegressor(**TINY, channel_axis=-1, validation_fraction=0.25).fit(X, y)
        out[n_dim] = est, X, y
    return out


# -- FieldDisplay -----------------------------------------------------------------------------------


def test_field_display_1d_lines_are_the_arrays():
    X, y = _data(1, channels=3)
    pred = y + 0.1
    display = FieldDisplay.from_predictions(
        y, pred, X=X, channel_axis=-1, sample_index=2, channel_index=1, input_channel_index=-1
    )
    _png(display)
    lines = display.lines_
    x = np.arange(16) / 16
    for name, expected in [
        ("input", X[2, :, -1]),
        ("truth", y[2, :, 1]),
        ("prediction", pred[2, :, 1]),
        ("error", pred[2, :, 1] - y[2, :, 1]),
    ]:
        np.testing.assert_array_equal(lines[name].get_xdata(), x)
        np.testing.assert_allclose(lines[name].get_ydata(), expected, rtol=1e-15)
    assert len(display.ax_) == 3 and display.figure_ is display.ax_[0].figure


def test_field_display_2d_images_share_the_truth_prediction_scale_and_centre_the_error():
    X, y = _data(2)
    pred = 1.3 * y - 0.2
    display = FieldDisplay.from_predictions(y, pred, X=X, sample_index=-1)
    _png(display)
    images = display.images_
    true, p, err = y[-1], pred[-1], pred[-1] - y[-1]
    np.testing.assert_array_equal(images["truth"].get_array(), true.T)
    np.testing.assert_array_equal(images["prediction"].get_array(), p.T)
    np.testing.assert_array_equal(images["input"].get_array(), X[-1].T)
    low, high = min(true.min(), p.min()), max(true.max(), p.max())
    assert images["truth"].get_clim() == images["prediction"].get_clim() == (low, high)
    bound = np.abs(err).max()
    assert images["error"].get_clim() == (-bound, bound)
    assert images["input"].get_clim() == (X[-1].min(), X[-1].max())
    assert list(images["truth"].get_extent()) == [0.0, 1.0, 0.0, 1.0]
    assert set(display.colorbars_) == {"input", "field", "error"}
    assert len(display.ax_) == 4


def test_field_display_3d_draws_the_chosen_slice():
    X, y = _data(3)
    pred = y + 0.5
    display = FieldDisplay.from_predictions(y, pred, slice_axis=1, slice_index=3, sample_index=1)
    _png(display)
    np.testing.assert_array_equal(display.images_["truth"].get_array(), y[1][:, 3, :].T)
    default = FieldDisplay.from_predictions(y, pred)  # the middle of the last axis
    np.testing.assert_array_equal(default.images_["prediction"].get_array(), pred[0][:, :, 2].T)
    assert len(display.ax_) == 3  # no input panel without X


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_field_display_from_estimator_predicts_the_chosen_sample(fitted, n_dim):
    est, X, y = fitted[n_dim]
    display = FieldDisplay.from_estimator(est, X, y, sample_index=3, channel_index=1)
    _png(display)
    pred = est.predict(X[3:4])[0, ..., 1]
    if n_dim == 3:
        pred = pred[:, :, GRIDS[3][2] // 2]
    drawn = (
        display.lines_["prediction"].get_ydata()
        if n_dim == 1
        else display.images_["prediction"].get_array().T
    )
    np.testing.assert_allclose(drawn, pred, rtol=1e-6)


def test_field_display_draws_on_given_axes_and_refuses_wrong_counts_and_indices():
    X, y = _data(2)
    fig, axes = plt.subplots(2, 2)
    display = FieldDisplay.from_predictions(y, y, X=X, ax=axes)
    assert display.figure_ is fig and list(display.ax_) == list(axes.ravel())
    assert display.images_["error"].get_clim() == (-1.0, 1.0)  # a perfect prediction still gets a scale
    with pytest.raises(
        ValueError, match=r"expected 4 matplotlib axes \(input, truth, prediction, error\); got 3"
    ):
        FieldDisplay.from_predictions(y, y, X=X, ax=axes.ravel()[:3])
    with pytest.raises(ValueError, match=r"sample_index must be an int in \[-6, 5\] \(6 samples\); got 6"):
        FieldDisplay.from_predictions(y, y, sample_index=6)
    with pytest.raises(ValueError, match="channel_index must be an int in .* channels in y_true"):
        FieldDisplay.from_predictions(y[..., None], y[..., None], channel_axis=-1, channel_index=1)
    with pytest.raises(ValueError, match=r"Expected X on the grid \(8, 6\)"):
        FieldDisplay.from_predictions(y, y, X=X[:, :4])
    with pytest.raises(ValueError, match="shapes differ"):
        FieldDisplay.from_predictions(y, y[:, :4])
    with pytest.raises(ValueError, match="1, 2 or 3 grid axes"):
        FieldDisplay.from_predictions(y[:, 0, 0], y[:, 0, 0])


# -- SpectrumDisplay --------------------------------------------------------------------------------


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_spectrum_display_lines_are_the_shells_of_spectral_error(n_dim):
    _, y = _data(n_dim, channels=2)
    pred = 0.8 * y + 0.05 * _data(n_dim, channels=2, seed=1)[0]
    display = SpectrumDisplay.from_predictions(y, pred, channel_axis=-1)
    _png(display)
    zeros = np.zeros_like(y)
    for name, expected in [
        ("truth", spectral_error(zeros, y, bands="shells", channel_axis=-1)),
        ("prediction", spectral_error(zeros, pred, bands="shells", channel_axis=-1)),
        ("error", spectral_error(y, pred, bands="shells", channel_axis=-1)),
    ]:
        drawn = display.lines_[name].get_ydata()
        np.testing.assert_allclose(drawn[np.isfinite(drawn)], expected[expected > 0], rtol=1e-12)
        np.testing.assert_array_equal(display.lines_[name].get_xdata(), np.arange(expected.size))
    assert display.ax_.get_yscale() == "log"


def test_spectrum_display_one_channel_and_a_pure_mode():
    x = np.arange(32) / 32
    y = np.stack([np.sin(2 * np.pi * 3 * x), np.cos(2 * np.pi * 7 * x)], axis=-1)[None]
    display = SpectrumDisplay.from_predictions(y, y, channel_axis=-1, channel_index=1, show_error=False)
    powers = display.lines_["truth"].get_ydata()
    assert np.nanargmax(powers) == 7 and powers[7] == pytest.approx(0.5)
    assert np.isnan(np.delete(powers, 7)).all()  # empty shells left out of the log axis
    assert "error" not in display.lines_


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_spectrum_display_from_estimator(fitted, n_dim):
    est, X, y = fitted[n_dim]
    display = SpectrumDisplay.from_estimator(est, X, y)
    _png(display)
    expected = spectral_error(y, est.predict(X), bands="shells", channel_axis=-1)
    np.testing.assert_allclose(
        np.nan_to_num(display.lines_["error"].get_ydata()), expected, rtol=1e-5, atol=1e-12
    )
    assert display.lines_["prediction"].get_label() == "prediction (FNORegressor)"


# -- TrainingCurveDisplay ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_training_curve_lines_are_the_history(fitted, n_dim):
    est = fitted[n_dim][0]
    display = TrainingCurveDisplay.from_estimator(est, name="FNO")
    _png(display)
    np.testing.assert_array_equal(display.lines_["train"].get_xdata(), [1, 2])
    np.testing.assert_array_equal(display.lines_["train"].get_ydata(), est.net_.history[:, "train_loss"])
    np.testing.assert_array_equal(display.lines_["valid"].get_ydata(), est.net_.history[:, "valid_loss"])
    assert display.ax_.get_yscale() == "log"
    assert display.ax_.get_ylabel() == "loss (RelativeL2Loss)"
    assert display.lines_["valid"].get_label() == "FNO: validation"


def test_training_curve_without_validation_and_with_a_non_positive_loss():
    X, y = _data(1)
    est = FNORegressor(**TINY).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(est.net_)  # a skorch net works too
    assert set(display.lines_) == {"train"}
    linear = TrainingCurveDisplay(epochs=[1, 2], train_loss=[1.0, -0.5]).plot()
    assert linear.ax_.get_yscale() == "linear"
    with pytest.raises(TypeError, match="expected a fitted estimator of sklearn_amfno"):
        TrainingCurveDisplay.from_estimator(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]))


# -- RolloutErrorDisplay ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_rollout_error_display_is_rollout_error(n_dim):
    _, y = _data(n_dim, channels=6)  # 3 frames of 2 fields
    pred = y * np.repeat([1.0, 1.1, 1.3], 2)
    display = RolloutErrorDisplay.from_predictions(y, pred, n_fields=2, name="model")
    _png(display)
    np.testing.assert_allclose(display.line_.get_ydata(), [0.0, 0.1, 0.3], atol=1e-12)
    np.testing.assert_array_equal(display.line_.get_xdata(), [1, 2, 3])


@pytest.mark.slow
def test_rollout_error_display_from_an_autoregressive_estimator_on_one_axes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 16, 2))
    y = np.roll(X[..., -1:], 1, axis=1) * np.ones(4)
    est = AutoregressiveRegressor(FNORegressor(**TINY)).fit(X, y[..., :1])
    first = RolloutErrorDisplay.from_estimator(est, X, y)  # rolled out as far as y goes: 4 steps
    _png(first)
    np.testing.assert_allclose(
        first.line_.get_ydata(), rollout_error(y, est.predict(X, n_steps=4)), rtol=1e-6
    )
    assert first.line_.get_label() == "FNORegressor"
    second = RolloutErrorDisplay(errors=[0.1, 0.2, 0.3, 0.4]).plot(ax=first.ax_, name="other", log_scale=True)
    assert second.ax_ is first.ax_ and len(first.ax_.get_lines()) == 2
    field = FieldDisplay.from_estimator(est, X, y, channel_index=-1, input_channel_index=-1)
    np.testing.assert_allclose(field.lines_["truth"].get_ydata(), y[0, :, -1])
    _png(TrainingCurveDisplay.from_estimator(est))


# -- repr: what a cell's last expression prints in the gallery and notebooks -----------------------


def test_displays_repr_says_what_they_hold_and_whether_they_are_drawn():
    y = np.random.default_rng(0).standard_normal((2, 8, 6))
    field = FieldDisplay(y_true=y[0], y_pred=y[1])
    assert repr(field) == "<FieldDisplay: field on 8 x 6 points, not drawn>"
    assert repr(FieldDisplay.from_predictions(y, y, X=y)) == (
        "<FieldDisplay: field on 8 x 6 points with its input, drawn on 4 axes>"
    )
    spectrum = SpectrumDisplay.from_predictions(y, 1.1 * y)
    assert repr(spectrum) == (
        f"<SpectrumDisplay: {spectrum.wavenumbers.size} shells of truth, prediction and error, "
        "drawn on 1 axes>"
    )
    curve = TrainingCurveDisplay(
        epochs=np.arange(1, 4), train_loss=np.ones(3), valid_loss=np.ones(3), loss_name="RelativeL2Loss"
    )
    assert repr(curve) == (
        "<TrainingCurveDisplay: 3 epochs of training and validation loss (RelativeL2Loss), not drawn>"
    )
    rollout = RolloutErrorDisplay(errors=np.array([0.01, 0.1, 0.25])).plot()
    assert repr(rollout) == "<RolloutErrorDisplay: 3 steps, relative L2 error 0.01 to 0.25, drawn on 1 axes>"


def test_display_repr_never_raises_on_data_it_cannot_describe():
    # The constructors keep their arguments as they are; data whose shape cannot be read (numpy
    # 1.24+ refuses a ragged list; numpy 1.23 made it an object array, so a class whose
    # conversion fails stands for such data on every version).
    class Unreadable:
        def __array__(self, *args, **kwargs):
            raise ValueError("no array here")

        def __len__(self):
            raise ValueError("no length here")

    display = FieldDisplay(y_true=Unreadable(), y_pred=None)
    assert repr(display).startswith("<sklearn_amfno.plotting._field.FieldDisplay object at ")


# -- matplotlib is optional -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_module_imports_without_matplotlib_and_drawing_says_how_to_install_it():
    # One fresh interpreter (imports take seconds): importing the module loads no matplotlib;
    # with matplotlib hidden, drawing raises the ImportError with the install command.
    code = (
        "import sys\n"
        "from sklearn_amfno.plotting import RolloutErrorDisplay\n"
        "print('loaded' if 'matplotlib' in sys.modules else 'not loaded')\n"
        "sys.modules['matplotlib'] = sys.modules['matplotlib.pyplot'] = None\n"
        "try:\n"
        "    RolloutErrorDisplay(errors=[0.1]).plot()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, message = out.split("\n", 1)
    assert first == "not loaded"
    assert "RolloutErrorDisplay.plot needs matplotlib" in message
    assert 'pip install "sklearn_amfno[plot]"' in message


# -- docstrings (the rules of tests/test_docstrings.py) ---------------------------------------------

DISPLAYS = [getattr(sklearn_amfno.plotting, name) for name in sklearn_amfno.plotting.__all__]
CALLABLES = {
    f"{cls.__name__}.{name}": (getattr(cls, name))
    for cls in DISPLAYS
    for name in ("__init__", "plot", "from_estimator", "from_predictions")
    if hasattr(cls, name) and (name != "from_predictions" or cls is not TrainingCurveDisplay)
}


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_docstrings_document_every_parameter_in_order(name):
    func = CALLABLES[name]
    owner = (
        DISPLAYS[[c.__name__ for c in DISPLAYS].index(name.split(".")[0])]
        if name.endswith("__init__")
        else func
    )
    expected = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    documented = [
        part.strip()
        for entry in NumpyDocString(inspect.getdoc(owner) or "")["Parameters"]
        for part in entry.name.split(",")
    ]
    assert documented == expected


@pytest.mark.parametrize("cls", DISPLAYS, ids=lambda c: c.__name__)
def test_displays_have_attributes_and_examples_from_the_public_path(cls):
    doc = NumpyDocString(inspect.getdoc(cls))
    attributes = {entry.name for entry in doc["Attributes"]}
    assert {"figure_", "ax_"} <= attributes
    examples = "\n".join(doc["Examples"])
    assert "from sklearn_amfno.plotting import" in examples and "._" not in examples
