"""Data-parallel training under torchrun (2 CPU processes, gloo) and mixed precision.

Run as a script by ``torchrun`` (``__main__`` below), this file is also the worker: it fits the
estimators of the tests on 2 ranks and leaves their models in a folder for the test to compare
with one-process fits. The pieces of the data-parallel path (the shard sampler and loader, the
synchronised batch normalisation, the DDP training step) are also tested in this process, on a
process group of one rank.
"""

from __future__ import annotations

import copy
import functools
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

import sklearn_amfno
from sklearn_amfno import AMFNORegressor, FNORegressor, LSMRegressor, OperatorRegressor, UFNORegressor
from sklearn_amfno._distributed import (
    DataParallel,
    ShardBatchSampler,
    SyncedBatchNorm,
    placeholder_shard,
    shard_bounds,
    with_synced_batch_norm,
)
from sklearn_amfno._net import OperatorNet, ShardLoader, data_loader
from sklearn_amfno._precision import SPECTRAL_LAYERS, autocast_forward
from sklearn_amfno._torch_state import fit_generator
from sklearn_amfno.datasets import make_heat
from sklearn_amfno.nn.layers import BatchNorm, PointwiseLinear

# 16 samples in batches of 5: 5, 5, 5, 1 -> shards of 3/2 and, for the last batch, 1/0 (one
# rank with an empty shard).
PARAMS = {"width": 4, "n_layers": 1, "n_basis": 3, "kernel_hidden": 4, "max_epochs": 2, "batch_size": 5}
# The families with batch normalisation (their U-Nets), on the same batches.
BATCH_NORM_FAMILIES = {
    "ufno": (UFNORegressor, dict(width=4, n_layers=1, n_modes=4, n_unet_layers=1, unet_levels=1)),
    "lsm": (LSMRegressor, dict(width=4, unet_levels=1, patch_size=2, n_heads=2)),
}
BATCH_NORM_FIT = {"max_epochs": 2, "batch_size": 5, "random_state": 0}


class _BatchSizes(Callback):
    """The number of samples of each training batch this rank's callbacks see."""

    def __init__(self):
        self.sizes = []

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.sizes.append(len(batch[1]))


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
    free = AMFNORegressor(**PARAMS, callbacks=[_BatchSizes()]).fit(X, y)
    (sizes,) = [cb for _, cb in free.net_.callbacks_ if isinstance(cb, _BatchSizes)]
    batch_norm = {}
    for name, (cls, params) in BATCH_NORM_FAMILIES.items():
        fitted = cls(**params, **BATCH_NORM_FIT).fit(X, y)
        fitted.save(os.path.join(out, f"{name}.safetensors"))
        batch_norm[name] = {
            "state": fitted.module_.state_dict(),
            "losses": [float(h["train_loss"]) for h in fitted.net_.history],
            "layers": sorted({type(m).__name__ for m in fitted.module_.modules()}),
        }
    torch.save(
        {
            "seeded": est.module_.state_dict(),
            "free": free.module_.state_dict(),
            "losses": [float(h["train_loss"]) for h in est.net_.history],
            "batch_sizes": [h["train_batch_size"] for h in est.net_.history[-1, "batches"]],
            "seen_sizes": sizes.sizes,
            "device": est.device_,
            "batch_norm": batch_norm,
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
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
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
        # The history holds the global batch losses and sizes (the same on both ranks).
        np.testing.assert_allclose(state["losses"], [h["train_loss"] for h in single.net_.history], rtol=1e-5)
        assert state["batch_sizes"] == [5, 5, 5, 1]


@pytest.mark.slow
def test_each_rank_trains_on_its_shard_and_an_empty_shard_is_seen_empty(two_rank_run):
    _, (first, second) = two_rank_run
    # Batches 5, 5, 5, 1 per epoch, 2 epochs: shards 3/2, and 1/0 for the last batch.
    assert first["seen_sizes"] == [3, 3, 3, 1] * 2
    assert second["seen_sizes"] == [2, 2, 2, 0] * 2


@pytest.mark.slow
@pytest.mark.parametrize("family", BATCH_NORM_FAMILIES)
def test_batch_norm_families_train_on_two_processes_as_on_one(two_rank_run, family):
    # Synchronised batch statistics: weights, running statistics and losses of the one-process
    # fit, although rank 1's last shard is empty (its placeholder counts for nothing).
    _, states = two_rank_run
    X, y = _data()
    cls, params = BATCH_NORM_FAMILIES[family]
    single = cls(**params, **BATCH_NORM_FIT).fit(X, y)
    reference = single.module_.state_dict()
    assert any(name.endswith("running_var") for name in reference)
    for state in states:
        fitted = state["batch_norm"][family]
        assert fitted["state"].keys() == reference.keys()
        for name, value in reference.items():
            if name.endswith("encoder_kv.bias"):
                # LSM's attention key bias shifts every logit of a query alike: its gradient is
                # zero but for rounding (~1e-10), which AdamW's normalised steps turn into moves
                # of the learning rate's size. It changes no output.
                continue
            assert _relative_difference(fitted["state"][name], value) < 1e-5, name
        np.testing.assert_allclose(
            fitted["losses"], [h["train_loss"] for h in single.net_.history], rtol=1e-5
        )
        # net_.module_ stays the plain model: no synchronised layer left in it.
        assert "BatchNorm" in fitted["layers"] and "SyncedBatchNorm" not in fitted["layers"]


@pytest.mark.slow
@pytest.mark.parametrize("family", BATCH_NORM_FAMILIES)
def test_a_batch_norm_model_trained_on_two_processes_loads_and_predicts_on_one_cpu(two_rank_run, family):
    out, _ = two_rank_run
    X, y = _data()
    cls, params = BATCH_NORM_FAMILIES[family]
    single = cls(**params, **BATCH_NORM_FIT).fit(X, y)
    loaded = sklearn_amfno.load(os.path.join(out, f"{family}.safetensors"), device="cpu")
    assert not any(isinstance(m, SyncedBatchNorm) for m in loaded.module_.modules())
    np.testing.assert_allclose(loaded.predict(X), single.predict(X), rtol=1e-4, atol=1e-5)


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


@pytest.mark.parametrize(("n", "batch_size", "world"), [(16, 5, 2), (7, 3, 3), (2, 4, 3), (9, 9, 2)])
def test_shard_batches_are_the_one_process_batches_cut_by_rank(n, batch_size, world):
    order = list(torch.randperm(n, generator=torch.Generator().manual_seed(0)).tolist())
    expected = list(torch.utils.data.BatchSampler(order, batch_size, drop_last=False))
    samplers = [ShardBatchSampler(order, batch_size, r, world) for r in range(world)]
    shards = [list(sampler) for sampler in samplers]
    for b, batch in enumerate(expected):
        assert samplers[0].global_batch_sizes()[b] == len(batch)
        bounds = [shard_bounds(len(batch), r, world) for r in range(world)]
        assert sum((shards[r][b] for r in range(world) if bounds[r][1] > bounds[r][0]), []) == batch
        # An empty shard reads one sample, the placeholder: the global batch's first.
        for r in range(world):
            if bounds[r][1] == bounds[r][0]:
                assert shards[r][b] == batch[:1]
    assert all(len(sampler) == len(expected) for sampler in samplers)


class _Recording(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n, self.read = n, []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.read.append(i)
        return torch.full((2,), float(i)), torch.tensor([float(i)])


def test_shard_loader_reads_only_this_ranks_samples_in_the_one_process_order():
    # Two epochs of 11 samples in batches of 5 (5, 5, 1) on 2 ranks, the fit's generator seeded
    # alike on every rank and for the one-process loader.
    whole = _Recording(11)
    one_process = data_loader(whole, shuffle=True, generator=fit_generator(3), batch_size=5)
    expected = [[int(v) for v in y[:, 0]] for _ in range(2) for _, y in one_process]
    seen = []
    for rank in range(2):
        data = _Recording(11)
        loader = ShardLoader(data, DataParallel(rank, 2), 5, shuffle=True, generator=fit_generator(3))
        batches, global_sizes = [], []
        for _ in range(2):
            for _, y in loader:
                batches.append([int(v) for v in y[:, 0]])
                global_sizes.append(loader.global_size)
        assert global_sizes == [5, 5, 1] * 2
        seen.append(batches)
        placeholders = [batch[0] for batch in expected if shard_bounds(len(batch), rank, 2) == (1, 1)]
        assert sorted(data.read) == sorted(sum(batches, []) + placeholders)
    assert [a + b for a, b in zip(*seen, strict=True)] == expected
    # Rank 1's last shards are empty: yielded empty, with the global batch's first sample as the
    # placeholder.
    assert seen[1][2] == [] and seen[0][2] == expected[2]


@pytest.fixture
def one_rank_group():
    """A process group of one rank (gloo): the collectives are identities, the code paths run."""
    import torch.distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group is already running")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("layer", ["package", "torch", "torch_cumulative"])
def test_synced_batch_norm_equals_the_layer_on_one_rank(one_rank_group, layer):
    torch.manual_seed(0)
    if layer == "package":
        norm = BatchNorm(3)
    else:
        norm = torch.nn.BatchNorm2d(3, momentum=None if layer == "torch_cumulative" else 0.1)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
    reference = copy.deepcopy(norm)
    synced = SyncedBatchNorm(norm)
    for _ in range(2):
        x = (3 + 2 * torch.randn(4, 3, 5, 6)).requires_grad_()
        x_ref = x.detach().clone().requires_grad_()
        out, expected = synced(x), reference(x_ref)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        weights = torch.randn_like(out)
        (out * weights).sum().backward()
        (expected * weights).sum().backward()
        torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-5)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(norm.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(norm.weight.grad, reference.weight.grad, rtol=1e-4, atol=1e-5)
    # Outside training it is the layer itself.
    synced.eval(), reference.eval()
    x = torch.randn(2, 3, 5, 6)
    torch.testing.assert_close(synced(x), reference(x))


def test_synced_batch_norm_counts_a_placeholder_for_nothing(one_rank_group):
    # Alone and a placeholder: the global batch holds no value, so the package's layer
    # normalises with its running statistics and leaves them as they are.
    norm = BatchNorm(2)
    with torch.no_grad():
        norm.running_mean.fill_(1.0)
        norm.running_var.fill_(4.0)
    model = torch.nn.Sequential(with_synced_batch_norm(torch.nn.Sequential(norm)))
    x = torch.randn(3, 2, 4)
    with placeholder_shard(model):
        out = model(x)
    torch.testing.assert_close(out, (x - 1) / torch.sqrt(torch.tensor(4.0 + 1e-5)))
    assert torch.equal(norm.running_mean, torch.ones(2)) and torch.equal(
        norm.running_var, torch.full((2,), 4.0)
    )
    assert not any(layer.placeholder for layer in model.modules() if isinstance(layer, SyncedBatchNorm))


def test_synced_view_shares_the_weights_and_leaves_the_model_plain():
    X, y = _data()
    cls, params = BATCH_NORM_FAMILIES["ufno"]
    module = cls(**params, max_epochs=1, random_state=0).fit(X, y).module_
    before = [(name, type(m)) for name, m in module.named_modules()]
    view = with_synced_batch_norm(module)
    assert [(name, type(m)) for name, m in module.named_modules()] == before
    synced = [m for m in view.modules() if isinstance(m, SyncedBatchNorm)]
    assert len(synced) == sum(isinstance(m, BatchNorm) for m in module.modules()) > 0
    # The same parameter and buffer objects, in the same order.
    assert all(a is b for a, b in zip(view.parameters(), module.parameters(), strict=True))
    assert all(a is b for a, b in zip(view.buffers(), module.buffers(), strict=True))
    # A model without batch normalisation is its own view.
    amfno = AMFNORegressor(**PARAMS, random_state=0).fit(X, y).module_
    assert with_synced_batch_norm(amfno) is amfno


def _train_through_ddp_on_one_rank(monkeypatch):
    """Every net from now on trains through the data-parallel path (on the one-rank group)."""
    original = OperatorNet.__init__

    @functools.wraps(original)
    def init(self, *args, data_parallel=None, **kwargs):
        original(self, *args, data_parallel=DataParallel(0, 1), **kwargs)

    monkeypatch.setattr(OperatorNet, "__init__", init)


@pytest.mark.parametrize("family", ["amfno", "ufno"])
def test_the_ddp_step_on_one_rank_trains_as_one_process(one_rank_group, monkeypatch, family):
    X, y = _data()
    if family == "amfno":
        cls, params = AMFNORegressor, {**PARAMS, "random_state": 0}
    else:
        cls, params = BATCH_NORM_FAMILIES[family][0], {**BATCH_NORM_FAMILIES[family][1], **BATCH_NORM_FIT}
    single = cls(**params).fit(X, y)
    _train_through_ddp_on_one_rank(monkeypatch)
    est = cls(**params).fit(X, y)
    # DDP lived for the training loop only.
    assert est.net_.data_parallel == DataParallel(0, 1) and est.net_._distributed is None
    for name, value in single.module_.state_dict().items():
        assert _relative_difference(est.module_.state_dict()[name], value) < 1e-5, name
    np.testing.assert_allclose(
        [h["train_loss"] for h in est.net_.history], [h["train_loss"] for h in single.net_.history], rtol=1e-5
    )


class _WithUnusedParameter(torch.nn.Module):
    """A pointwise map and a torch BatchNorm, and a parameter no forward pass uses."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lift = torch.nn.Conv1d(in_channels, 4, 1, bias=False)  # BatchNorm follows
        self.norm = torch.nn.BatchNorm1d(4)
        self.project = torch.nn.Conv1d(4, out_channels, 1)
        self.unused = torch.nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.project(torch.relu(self.norm(self.lift(x))))


def test_the_ddp_step_leaves_an_unused_parameter_without_gradient(one_rank_group, monkeypatch):
    # As in one process: no gradient, so AdamW's weight decay leaves it alone; torch's
    # BatchNorm1d of a custom module is synchronised like the package's.
    X, y = _data()
    params = dict(max_epochs=2, batch_size=5, weight_decay=0.1, random_state=0)
    single = OperatorRegressor(_WithUnusedParameter, **params).fit(X, y)
    _train_through_ddp_on_one_rank(monkeypatch)
    est = OperatorRegressor(_WithUnusedParameter, **params).fit(X, y)
    assert est.module_.module.unused.grad is None
    assert torch.equal(est.module_.module.unused.detach(), torch.ones(3))
    for name, value in single.module_.state_dict().items():
        assert _relative_difference(est.module_.state_dict()[name].double(), value.double()) < 1e-5, name


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
