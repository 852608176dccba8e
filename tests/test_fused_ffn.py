"""benchmarks/fused_ffn.py: the fused, chunked bf16 FFN measured for issue 17 (not adopted).

Its exactness is what makes ``benchmarks/bench_precision.py``'s comparison fair: in float32 it
must equal the package's ``PointwiseMLP``, gradients included.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_amfno import AMFNORegressor
from sklearn_amfno.datasets import make_darcy
from sklearn_amfno.nn.layers.pointwise import PointwiseMLP

_spec = importlib.util.spec_from_file_location(
    "fused_ffn_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "fused_ffn.py"
)
pointwise = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pointwise)
fused_ffn, fused_pointwise_mlp = pointwise.fused_ffn, pointwise.fused_pointwise_mlp

# (input shape, chunk): a chunk that splits a sample with a ragged tail, and one that groups
# short samples with a ragged last group, over 1-D, 2-D and 3-D grids.
CASES = [
    ((3, 5, 37), 8),
    ((8, 5, 10), 64),
    ((2, 5, 9, 11), 16),
    ((5, 5, 3, 4), 40),
    ((2, 5, 3, 4, 5), 7),
]


def _outputs_and_grads(forward, mlp: PointwiseMLP, x: torch.Tensor, seed: int = 1):
    out = forward(x)
    grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    grads = torch.autograd.grad(out, [x, *mlp.parameters()], grad)
    return out, grads


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


@pytest.mark.parametrize(("shape", "chunk"), CASES)
def test_fused_ffn_in_float32_matches_the_unfused_mlp_and_all_its_gradients(shape, chunk):
    torch.manual_seed(0)
    mlp = PointwiseMLP(5, 20, 6)
    x = torch.randn(*shape, requires_grad=True)
    ref, ref_grads = _outputs_and_grads(mlp, mlp, x)
    out, grads = _outputs_and_grads(
        lambda v: fused_pointwise_mlp(v, mlp.fc1, mlp.fc2, torch.float32, chunk=chunk), mlp, x
    )
    assert out.shape == ref.shape == (shape[0], 6, *shape[2:])
    assert _relative(out, ref) < 1e-5
    for got, want in zip(grads, ref_grads):  # x, fc1 weight and bias, fc2 weight and bias
        assert got.dtype == want.dtype == torch.float32
        assert _relative(got, want) < 1e-5


def test_fused_ffn_passes_gradcheck_in_float64():
    gen = torch.Generator().manual_seed(0)
    tensors = [
        torch.randn(*s, dtype=torch.float64, generator=gen, requires_grad=True)
        for s in [(3, 2, 5), (4, 2), (4,), (3, 4), (3,)]
    ]
    assert torch.autograd.gradcheck(
        lambda *t: pointwise._FusedPointwiseMLP.apply(*t, torch.float64, 4), tensors
    )


def test_fused_ffn_refuses_double_backward():
    mlp = PointwiseMLP(2, 4, 2)
    x = torch.randn(2, 2, 6, requires_grad=True)
    with pytest.raises(RuntimeError, match="double backward"):
        torch.autograd.grad(fused_pointwise_mlp(x, mlp.fc1, mlp.fc2).sum(), x, create_graph=True)


@pytest.mark.parametrize(("shape", "chunk"), [((4, 8, 16, 16), 100), ((6, 8, 50), 128)])
def test_bf16_autocast_runs_the_fused_ffn_within_bf16_tolerance_with_float32_gradients(shape, chunk):
    torch.manual_seed(0)
    mlp = PointwiseMLP(8, 32, 8)
    x = torch.randn(*shape, requires_grad=True)
    ref, ref_grads = _outputs_and_grads(mlp, mlp, x)
    calls = []

    def fused(*args, **kwargs):
        calls.append(args[3])
        return fused_pointwise_mlp(*args[:3], torch.bfloat16, chunk=chunk)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pointwise, "fused_pointwise_mlp", fused)
        with fused_ffn(), torch.autocast("cpu", dtype=torch.bfloat16):
            out, grads = _outputs_and_grads(mlp, mlp, x)
    assert calls == [torch.bfloat16]
    assert out.dtype == torch.float32
    assert _relative(out, ref) < 2e-2
    for got, want in zip(grads, ref_grads):
        assert got.dtype == torch.float32  # weight gradients land in the float32 parameters' dtype
        assert _relative(got, want) < 2e-2


def test_fused_ffn_without_grad_saves_nothing_and_matches_the_graph_path(monkeypatch):
    torch.manual_seed(0)
    mlp = PointwiseMLP(4, 16, 4)
    x = torch.randn(3, 4, 20)
    with_graph = fused_pointwise_mlp(x, mlp.fc1, mlp.fc2, chunk=16)

    def refuse(*args):
        raise AssertionError("the autograd Function ran under no_grad")

    monkeypatch.setattr(pointwise._FusedPointwiseMLP, "apply", refuse)
    with torch.no_grad():
        out = fused_pointwise_mlp(x, mlp.fc1, mlp.fc2, chunk=16)
    assert out.grad_fn is None
    assert torch.equal(out, with_graph.detach())


def _darcy():
    X, y = make_darcy(24, 16, random_state=0)
    return X[:16], y[:16], X[16:], y[16:]


def test_bf16_estimator_fits_through_the_fused_ffn_and_predicts_finite_values(monkeypatch):
    X, y, X_test, _ = _darcy()
    calls = []
    original = pointwise.fused_pointwise_mlp

    def counted(*args, **kwargs):
        calls.append(torch.is_grad_enabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(pointwise, "fused_pointwise_mlp", counted)
    est = AMFNORegressor(width=8, n_layers=1, max_epochs=2, precision="bf16", random_state=0)
    with fused_ffn():
        est.fit(X, y)
        assert True in calls  # training steps went through the fused FFN
        calls.clear()
        pred = est.predict(X_test)
    assert calls and not any(calls)  # and so did prediction, without a graph
    assert np.isfinite(pred).all()
    losses = est.net_.history[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


@pytest.mark.parametrize(("precision", "enabled"), [("fp32", True), ("bf16", False)])
def test_fused_ffn_is_used_only_when_asked_for_and_under_bf16(monkeypatch, precision, enabled):
    X, y, X_test, _ = _darcy()

    def refuse(*args, **kwargs):
        raise AssertionError("fused FFN used")

    monkeypatch.setattr(pointwise, "fused_pointwise_mlp", refuse)
    est = AMFNORegressor(width=8, n_layers=1, max_epochs=2, precision=precision, random_state=0)
    with fused_ffn(enabled) if enabled else contextlib.nullcontext():
        assert np.isfinite(est.fit(X, y).predict(X_test)).all()


def test_fused_ffn_context_nests_and_restores():
    assert not pointwise._FUSED_FFN.get()
    with fused_ffn():
        assert pointwise._FUSED_FFN.get()
        with fused_ffn(False):
            assert not pointwise._FUSED_FFN.get()
        assert pointwise._FUSED_FFN.get()
    assert not pointwise._FUSED_FFN.get()
