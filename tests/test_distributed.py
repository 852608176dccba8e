"""Data-parallel training under torchrun (2 CPU processes, gloo) and mixed precision.

Run as a script by ``torchrun`` (``__main__`` below), this file is also the worker: it fits the
estimators of the tests on 2 ranks and leaves their models in a folder for the test to compare
with one-process fits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, FNORegressor
from sklearn_amfno._distributed import DataParallel, all_reduce_gradients, shard_bounds
from sklearn_amfno._precision import SPECTRAL_LAYERS, autocast_forward
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.nn.layers import PointwiseLinear

# 16 samples in batches of 5: 5, 5, 5, 1 -> shards of 3/2 and, for the last batch, 1/0 (one
# rank with an empty shard).
PARAMS = {"width": 4, "n_layers": 1, "n_basis": 3, "kernel_hidden": 4, "max_epochs": 2, "batch_size": 5}


def _data():
    return make_heat(16, 16, random_state=0)


def _worker(out: str) -> None:
    """What each torchrun rank runs."""
    rank = int(os.environ["RANK"])
    X, y = _data()
    from skorch.callbacks import Checkpoint

    checkpoints = os.path.join(out, "checkpoints")
    est = AMFNORegressor(
        **PARAMS,
        random_state=0,
        callbacks=[Checkpoint(monitor="train_loss_best", dirname=checkpoints)],
    ).fit(X, y)
    # Every rank asks; only rank 0 may write.
    est.save(os.path.join(out, f"model_rank{rank}.safetensors"))
    # random_state=None: the ranks must still agree (rank 0's seed) and train one model.
    free = AMFNORegressor(**PARAMS).fit(X, y)
    torch.save(
        {
            "seeded": est.module_.state_dict(),
            "free": free.module_.state_dict(),
            "losses": [float(h["train_loss"]) for h in est.net_.history],
            "device": est.device_,
        },
        os.path.join(out, f"state_rank{rank}.pt"),
    )
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp(min=1e-12))


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    """Fit under ``torchrun --nproc_per_node=2`` (gloo on CPU) once for the tests below."""
    out = str(tmp_path_factory.mktemp("ddp"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--nnodes=1",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        __file__,
        out,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    states = [torch.load(os.path.join(out, f"state_rank{r}.pt")) for r in range(2)]
    return out, states


@pytest.mark.slow
def test_two_process_fit_equals_one_process_fit_with_the_same_global_batch(two_rank_run):
    _, states = two_rank_run
    X, y = _data()
    single = AMFNORegressor(**PARAMS, random_state=0).fit(X, y)
    reference = single.module_.state_dict()
    for state in states:
        assert state["seeded"].keys() == reference.keys()
        for name, value in reference.items():
            assert _relative_difference(state["seeded"][name], value) < 1e-5, name
        # The history holds the global batch losses (the same on both ranks).
        np.testing.assert_allclose(state["losses"], [h["train_loss"] for h in single.net_.history], rtol=1e-5)


@pytest.mark.slow
def test_ranks_train_one_model_without_random_state(two_rank_run):
    _, (first, second) = two_rank_run
    for name, value in first["free"].items():
        assert torch.equal(value, second["free"][name]), name
    assert first["device"] == second["device"] == "cpu"


@pytest.mark.slow
def test_only_rank_zero_writes_the_model_and_checkpoints_and_the_file_loads(two_rank_run):
    out, states = two_rank_run
    assert os.path.exists(os.path.join(out, "model_rank0.safetensors"))
    assert not os.path.exists(os.path.join(out, "model_rank1.safetensors"))
    written = [d for d, _, files in os.walk(os.path.join(out, "checkpoints")) if files]
    assert len(written) == 1
    loaded = sklearn_amfno.load(os.path.join(out, "model_rank0.safetensors"))
    X, y = _data()
    single = AMFNORegressor(**PARAMS, random_state=0).fit(X, y)
    np.testing.assert_allclose(loaded.predict(X), single.predict(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("n", "world", "expected"),
    [(5, 2, [(0, 3), (3, 5)]), (1, 2, [(0, 1), (1, 1)]), (7, 3, [(0, 3), (3, 5), (5, 7)])],
)
def test_shards_cover_the_batch_contiguously(n, world, expected):
    assert [shard_bounds(n, r, world) for r in range(world)] == expected


def test_gradient_sum_keeps_missing_gradients_missing_on_one_process():
    # A one-rank gloo group: the reduction is the identity, the bookkeeping is what is tested.
    import torch.distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group is already running")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        used = torch.nn.Parameter(torch.ones(2, dtype=torch.complex64))
        unused = torch.nn.Parameter(torch.ones(3))
        used.grad = torch.tensor([1 + 2j, 3 - 4j])
        loss = all_reduce_gradients([used, unused], torch.tensor(0.5))
        assert loss.item() == 0.5
        assert torch.equal(used.grad, torch.tensor([1 + 2j, 3 - 4j]))
        assert unused.grad is None
    finally:
        dist.destroy_process_group()


def test_data_parallel_describes_the_rank():
    assert DataParallel(1, 2).local_rank == 0


def test_bf16_fits_and_keeps_the_spectral_part_in_float32():
    X, y = _data()
    est = FNORegressor(n_modes=4, width=4, n_layers=1, max_epochs=1, precision="bf16", random_state=0)
    est.fit(X, y)
    assert est.predict(X).dtype == np.float64
    assert np.isfinite(est.predict(X)).all()
    seen: dict[str, set] = {"spectral": set(), "pointwise": set()}

    def record(kind):
        def hook(module, args, output):
            seen[kind].add(output.dtype)

        return hook

    module = est.module_
    handles = []
    for layer in module.modules():
        if isinstance(layer, SPECTRAL_LAYERS):
            handles.append(layer.register_forward_hook(record("spectral")))
        elif isinstance(layer, torch.nn.Linear | torch.nn.Conv1d | PointwiseLinear):
            handles.append(layer.register_forward_hook(record("pointwise")))
    x = torch.as_tensor(X[:4, None], dtype=torch.float32)
    with autocast_forward(module, "cpu", "bf16"), torch.no_grad():
        out = module(x)
    for handle in handles:
        handle.remove()
    assert seen["spectral"] == {torch.float32}
    # Autocast did act on the model: some pointwise layer ran in bfloat16.
    assert torch.bfloat16 in seen["pointwise"] or out.dtype == torch.bfloat16
    # The hooks are gone after the context: the model pickles and runs in float32 again.
    assert not any(layer._forward_hooks for layer in module.modules() if isinstance(layer, SPECTRAL_LAYERS))


def test_precision_is_validated():
    X, y = _data()
    with pytest.raises(ValueError, match="precision"):
        FNORegressor(precision="fp16").fit(X, y)


def test_bf16_predictions_stay_close_to_the_float32_model():
    X, y = _data()
    est = AMFNORegressor(**PARAMS, random_state=0).fit(X, y)
    reference = est.predict(X)
    est.net_.precision = "bf16"
    # bfloat16 keeps 8 bits of mantissa: the pointwise layers err by ~1e-2 relative.
    error = np.linalg.norm(est.predict(X) - reference) / np.linalg.norm(reference)
    assert 0 < error < 5e-2


if __name__ == "__main__":
    _worker(sys.argv[1])
