"""``verbose`` on the generators and solvers: an int, scikit-learn's convention, as on the estimators.

0 is silent; 1 or more shows the progress bar (the same bar for every level); True and False work
as 1 and 0. The parameter constraint is scikit-learn's ``"verbose"``: a non-negative int or a bool.
"""

import inspect
import re

import numpy as np
import pytest

import sklearn_amfno.datasets as datasets
from sklearn_amfno.datasets import LargeGenerationWarning, _budget, make_darcy

#: Every public function of the datasets that takes ``verbose``.
VERBOSE_FUNCTIONS = sorted(
    name
    for name in datasets.__all__
    if inspect.isfunction(getattr(datasets, name))
    and "verbose" in inspect.signature(getattr(datasets, name)).parameters
)

#: Valid positional arguments for the solvers (the generators' defaults are valid).
_STATE = np.ones(8)
_STATE_2D = np.ones((8, 8))
POSITIONAL = {
    "solve_burgers": (_STATE, 0.1, 0.1),
    "solve_euler_1d": (_STATE, 0 * _STATE, _STATE, 0.1),
    "solve_euler_2d": (_STATE_2D, 0 * _STATE_2D, 0 * _STATE_2D, _STATE_2D, 0.1),
    "solve_navier_stokes": (np.zeros((8, 8)), 1e-3, 0.1),
}


def _bar_lines(err):
    """The progress bar's final state per tqdm line ("Darcy: 100%| ... | 3/3"), without timings."""
    return [re.sub(r" \[.*$", "", part).strip() for part in err.split("\r") if part.strip()]


def test_every_public_verbose_is_an_int_defaulting_to_0():
    assert len(VERBOSE_FUNCTIONS) == 11, VERBOSE_FUNCTIONS
    for name in VERBOSE_FUNCTIONS:
        parameter = inspect.signature(getattr(datasets, name)).parameters["verbose"]
        assert parameter.default == 0 and type(parameter.default) is int, name
        assert parameter.annotation == "int", name
        doc = getattr(datasets, name).__doc__
        assert "verbose : int, default=0" in doc, name


@pytest.mark.parametrize("verbose", [1, 2, 3, True, np.True_])
def test_any_positive_verbose_shows_the_same_progress_bar(verbose, capsys):
    X1, y1 = make_darcy(3, 16, random_state=0, verbose=1)
    expected = _bar_lines(capsys.readouterr().err)
    assert expected and expected[-1].startswith("Darcy: 100%") and expected[-1].endswith("3/3")
    X, y = make_darcy(3, 16, random_state=0, verbose=verbose)
    assert _bar_lines(capsys.readouterr().err) == expected
    np.testing.assert_array_equal(y, y1)


@pytest.mark.parametrize("verbose", [0, False, np.False_])
def test_verbose_0_prints_nothing(verbose, capsys):
    make_darcy(3, 16, random_state=0, verbose=verbose)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize(
    ("verbose", "announced"),
    [
        (0, "Pass verbose=1 for a progress bar"),
        (1, "A progress bar follows"),
        (2, "A progress bar follows"),
    ],
)
def test_up_front_message_follows_verbose(verbose, announced, monkeypatch, capsys):
    # A zero time threshold makes a tiny request "large", so its cost message is given.
    monkeypatch.setattr(_budget, "TIME_WARNING_S", 0.0)
    with pytest.warns(LargeGenerationWarning, match=announced):
        make_darcy(3, 16, random_state=0, verbose=verbose)
    assert ("Darcy" in capsys.readouterr().err) == (verbose >= 1)


@pytest.mark.parametrize("name", VERBOSE_FUNCTIONS)
@pytest.mark.parametrize("verbose", [-1, 1.0, 0.5, None, "1"])
def test_invalid_verbose_is_refused_by_the_constraint(name, verbose):
    # scikit-learn's "verbose" constraint: an int in [0, inf) or a bool; refused before any work.
    func = getattr(datasets, name)
    match = (
        rf"The 'verbose' parameter of {name} must be an int in the range \[0, inf\), an instance of "
        r"'bool' or an instance of 'numpy.bool_?'\. Got"  # numpy.bool_ before numpy 2
    )
    with pytest.raises(ValueError, match=match):
        func(*POSITIONAL.get(name, ()), verbose=verbose)
