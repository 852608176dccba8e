"""Exactness of the spectral machinery: FFT conventions, kernels, contraction, mode selection."""

import numpy as np
import pytest
import torch

from sklearn_amfno.datasets import heat_solution, make_advection, make_heat
from sklearn_amfno.nn.layers import (
    AmortizedSpectralKernel,
    DenseSpectralKernel,
    SpectralConv,
    contract_modes,
    grid_wavenumbers,
    scale_wavenumbers,
)


def test_contract_modes_matches_complex_einsum():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 7, 5, dtype=torch.cfloat, generator=gen)
    w = torch.randn(4, 6, 7, 5, dtype=torch.cfloat, generator=gen)
    expected = torch.einsum("bixy,ioxy->boxy", x, w)
    torch.testing.assert_close(contract_modes(x, w), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(8,), (6, 9), (4, 6, 8)])
def test_grid_wavenumbers_match_numpy(shape):
    ks = grid_wavenumbers(shape)
    for d, n in enumerate(shape[:-1]):
        np.testing.assert_array_equal(ks[d].numpy(), np.fft.fftfreq(n, 1 / n).round())
    np.testing.assert_array_equal(ks[-1].numpy(), np.fft.rfftfreq(shape[-1], 1 / shape[-1]))


def _heat_kernel(kernel, shape, factor):
    """Set a 1x1 dense kernel to the heat multiplier exp(-factor |k|^2) on its kept modes."""
    weight, index = kernel(shape)
    ks = [grid_wavenumbers(shape)[d][i] for d, i in enumerate(index)]
    ksq = sum(k.double() ** 2 for k in torch.meshgrid(*ks, indexing="ij"))
    with torch.no_grad():
        kernel.weight.copy_(torch.exp(-factor * ksq).to(torch.cfloat)[..., None, None])


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_dense_layer_with_exact_weights_is_the_heat_operator(n_dim):
    n, nu, t = 16, 0.01, 0.5
    X, y = make_heat(4, n, n_dim=n_dim, diffusivity=nu, time=t, max_wavenumber=5, random_state=0)
    modes = (n // 2,) * (n_dim - 1) + (n // 2 + 1,)
    kernel = DenseSpectralKernel(1, 1, modes)
    _heat_kernel(kernel, (n,) * n_dim, 4 * np.pi**2 * nu * t)
    out = SpectralConv(kernel, n_dim)(torch.tensor(X, dtype=torch.float32)[:, None])[:, 0]
    np.testing.assert_allclose(out.detach().numpy(), y, atol=1e-5)


def test_dense_kernel_keeps_the_same_physical_modes_on_every_grid():
    torch.manual_seed(0)
    kernel = DenseSpectralKernel(2, 3, (4, 3))
    conv = SpectralConv(kernel, 2)
    x = _assert_coarse_and_fine_grids_agree(conv)
    # A coarser grid than the kept modes drops the weights it cannot hold instead of failing.
    assert conv(x[..., ::4, ::4]).shape == (2, 3, 4, 4)


def _assert_coarse_and_fine_grids_agree(conv):
    """A band-limited 2-channel input on 16 x 16 and 32 x 32: the output on the fine grid, sampled
    at the coarse points, must equal the output on the coarse grid. Returns the coarse input."""
    # max_wavenumber 3 keeps X**2 (|k| <= 6) resolved on the coarse grid too.
    X, _ = make_heat(2, 16, n_dim=2, max_wavenumber=3, random_state=1)
    Xf, _ = make_heat(2, 32, n_dim=2, max_wavenumber=3, random_state=1)
    x = torch.tensor(np.stack([X, X**2], 1), dtype=torch.float32)
    xf = torch.tensor(np.stack([Xf, Xf**2], 1), dtype=torch.float32)
    with torch.no_grad():
        coarse, fine = conv(x), conv(xf)
    torch.testing.assert_close(fine[..., ::2, ::2], coarse, rtol=1e-4, atol=1e-5)
    return x


def test_amortized_kernel_is_zero_above_the_reference_nyquist():
    kernel = AmortizedSpectralKernel(2, 2, reference=(8,))
    weight, (index,) = kernel((64,))
    assert index.tolist() == list(range(9))  # wavenumbers 0..8 of the 33 held by 64 points
    assert weight.shape == (2, 2, 9)
    conv = SpectralConv(kernel, 1)
    # A pure mode above the reference is annihilated; one below is not.
    x = torch.linspace(0, 1, 65)[:-1]
    high = torch.cos(2 * np.pi * 20 * x).expand(1, 2, 64)
    low = torch.cos(2 * np.pi * 3 * x).expand(1, 2, 64)
    assert conv(high).abs().max() < 1e-5
    assert conv(low).abs().max() > 1e-3


@pytest.mark.parametrize("frequency_map", ["log", "linear"])
@pytest.mark.parametrize("factorization", ["separable", "joint"])
@pytest.mark.parametrize("kernel_type", ["mlp", "kan"])
def test_amortized_kernel_depends_on_physical_wavenumber_only(factorization, kernel_type, frequency_map):
    torch.manual_seed(0)
    kernel = AmortizedSpectralKernel(
        2, 2, reference=(8, 8), kernel=kernel_type, factorization=factorization, frequency_map=frequency_map
    )
    coarse, _ = kernel((16, 16))
    fine, index = kernel((48, 32))
    # On the finer grid the kept modes are the same wavenumbers |k| <= 8, in FFT order.
    assert [len(i) for i in index] == [17, 9]
    np.testing.assert_array_equal(index[0].numpy(), list(range(9)) + list(range(40, 48)))
    # The 16-point grid holds k = -8 but not k = +8 (same mode there); drop +8 to compare.
    common = [i for i in range(17) if i != 8]
    torch.testing.assert_close(fine[:, :, common], coarse)


@pytest.mark.parametrize("reference", [1, 8, 64])
def test_frequency_maps_are_odd_increasing_and_send_the_reference_to_one(reference):
    k = torch.arange(-reference, reference + 1)
    linear = scale_wavenumbers(k, reference, "linear")
    log = scale_wavenumbers(k, reference, "log")
    np.testing.assert_allclose(linear.numpy(), k.numpy() / reference, rtol=1e-6)
    expected = np.sign(k.numpy()) * np.log1p(np.abs(k.numpy())) / np.log1p(reference)
    np.testing.assert_allclose(log.numpy(), expected, rtol=1e-6, atol=1e-7)
    for t in (linear, log):
        assert t[reference] == 0 and t[-1] == pytest.approx(1) and t[0] == pytest.approx(-1)
        torch.testing.assert_close(t, -t.flip(0))  # odd
        assert bool((t.diff() > 0).all())  # increasing


def test_log_map_gives_the_low_modes_a_larger_share_of_the_interval():
    # At k_ref = 64 the linear map puts |k| <= 8 in the first eighth; the log map in half of it.
    assert scale_wavenumbers(torch.tensor([8]), 64, "linear").item() == pytest.approx(0.125)
    assert scale_wavenumbers(torch.tensor([8]), 64, "log").item() == pytest.approx(np.log(9) / np.log(65))
    assert scale_wavenumbers(torch.tensor([8]), 64, "log").item() > 0.5


def test_unknown_frequency_map_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="frequency_map must be one of"):
        AmortizedSpectralKernel(2, 2, reference=(8,), frequency_map="sqrt")
    with pytest.raises(ValueError, match="frequency_map must be one of"):
        scale_wavenumbers(torch.arange(3), 2, "sqrt")


def test_separable_kernel_is_the_product_of_axis_kernels():
    torch.manual_seed(0)
    kernel = AmortizedSpectralKernel(3, 2, reference=(4, 4), frequency_map="linear")
    weight, _ = kernel((8, 8))
    r0 = kernel._evaluate(kernel.nets[0], kernel_t(8, 4, full=True).unsqueeze(-1))
    r1 = kernel._evaluate(kernel.nets[1], kernel_t(8, 4, full=False).unsqueeze(-1))
    # per-axis kernels are (modes, in, out); the layer's weight is (in, out, modes_0, modes_1)
    torch.testing.assert_close(weight, torch.einsum("aio,bio->ioab", r0, r1))


def test_rank_r_kernel_is_the_sum_of_r_axis_products():
    torch.manual_seed(0)
    kernel = AmortizedSpectralKernel(3, 2, reference=(4, 4), frequency_map="linear", rank=3)
    weight, _ = kernel((8, 8))
    r0 = kernel._evaluate(kernel.nets[0], kernel_t(8, 4, full=True).unsqueeze(-1))  # (m0, rank, in, out)
    r1 = kernel._evaluate(kernel.nets[1], kernel_t(8, 4, full=False).unsqueeze(-1))
    assert r0.shape == (8, 3, 3, 2)
    torch.testing.assert_close(weight, torch.einsum("ario,brio->ioab", r0, r1))


def test_rank_is_ignored_where_the_kernel_does_not_factor_over_axes():
    assert AmortizedSpectralKernel(2, 2, reference=(8,), rank=4).rank == 1  # 1-D
    assert AmortizedSpectralKernel(2, 2, reference=(8, 8), rank=4, factorization="joint").rank == 1
    with pytest.raises(ValueError, match="rank must be a positive int"):
        AmortizedSpectralKernel(2, 2, reference=(8, 8), rank=0)


def kernel_t(n, ref, full):
    k = torch.fft.fftfreq(n, 1 / n) if full else torch.arange(n // 2 + 1.0)
    return k[k.abs() <= ref] / ref


def _fit_linear(conv, X, y, steps, lr):
    x = torch.tensor(X, dtype=torch.float32)[:, None]
    target = torch.tensor(y, dtype=torch.float32)[:, None]
    opt = torch.optim.Adam(conv.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((conv(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        pred = conv(x)[:, 0].numpy()
    return np.linalg.norm(pred - y) / np.linalg.norm(y)


@pytest.mark.slow
@pytest.mark.parametrize("kernel_type", ["mlp", "kan"])
@pytest.mark.parametrize("n_dim, n, max_wavenumber", [(1, 32, 12), (2, 16, 6), (3, 8, 3)])
def test_linear_amortized_layer_learns_the_heat_multiplier(n_dim, n, max_wavenumber, kernel_type):
    torch.manual_seed(0)
    kw = dict(n_dim=n_dim, diffusivity=0.002, max_wavenumber=max_wavenumber, decay=1.0)
    X, y = make_heat(64, n, random_state=0, **kw)
    conv = SpectralConv(AmortizedSpectralKernel(1, 1, reference=(n // 2,) * n_dim, kernel=kernel_type), n_dim)
    err = _fit_linear(conv, X, y, steps=500, lr=5e-2)
    assert err < 1e-2
    # and it generalises to fresh samples of the same operator
    Xt, yt = make_heat(16, n, random_state=1, **kw)
    with torch.no_grad():
        pred = conv(torch.tensor(Xt, dtype=torch.float32)[:, None])[:, 0].numpy()
    assert np.linalg.norm(pred - yt) / np.linalg.norm(yt) < 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("n_dim, n", [(1, 64), (2, 32), (3, 12)])
def test_linear_dense_layer_learns_the_advection_multiplier(n_dim, n):
    torch.manual_seed(0)
    kw = dict(n_dim=n_dim, velocity=0.3, time=0.5, max_wavenumber=min(6, n // 2 - 1))
    X, y = make_advection(64, n, random_state=0, **kw)
    modes = (n // 2,) * (n_dim - 1) + (n // 2 + 1,)
    conv = SpectralConv(DenseSpectralKernel(1, 1, modes), n_dim)
    assert _fit_linear(conv, X, y, steps=300, lr=5e-2) < 1e-2


def test_heat_solution_is_what_the_dense_layer_computes_on_any_input():
    # Cross-check the generator's solver and our FFT conventions on an arbitrary periodic field.
    rng = np.random.default_rng(0)
    u0 = rng.standard_normal((3, 16))
    kernel = DenseSpectralKernel(1, 1, (9,))
    _heat_kernel(kernel, (16,), 4 * np.pi**2 * 0.01 * 0.3)
    out = SpectralConv(kernel, 1)(torch.tensor(u0, dtype=torch.float32)[:, None])[:, 0]
    np.testing.assert_allclose(out.detach().numpy(), heat_solution(u0, 0.01, 0.3, n_dim=1), atol=1e-5)


# -- dense low modes on top of the amortized kernel ---------------------------------------------


def _low_mode_mask(shape, index, m):
    ks = [grid_wavenumbers(shape)[d][i] for d, i in enumerate(index)]
    mesh = torch.meshgrid(*ks, indexing="ij")
    return torch.stack([k.abs() < m for k in mesh]).all(0), mesh


@pytest.mark.parametrize("n_dim, n", [(1, 16), (2, 12), (3, 8)])
def test_dense_modes_add_their_stored_weight_on_exactly_the_low_modes(n_dim, n):
    torch.manual_seed(0)
    m, shape = 3, (n,) * n_dim
    kernel = AmortizedSpectralKernel(2, 3, (n // 2,) * n_dim, dense_modes=m)
    assert kernel.dense_weight.shape == (*[2 * m - 1] * (n_dim - 1), m, 2, 3, 2)
    with torch.no_grad():
        amortized, index = kernel(shape)
        kernel.dense_weight.normal_()
        both, _ = kernel(shape)
    low, mesh = _low_mode_mask(shape, index, m)
    added = both - amortized  # (in, out, *modes)
    assert torch.all(added[..., ~low] == 0)
    stored = torch.view_as_complex(kernel.dense_weight)
    for position in torch.nonzero(low):
        k = [int(mesh[d][tuple(position)]) for d in range(n_dim)]
        slot = tuple(kd % (2 * m - 1) for kd in k[:-1]) + (k[-1],)
        torch.testing.assert_close(added[(..., *position)], stored[slot])


@pytest.mark.parametrize("n_dim", [1, 2])
def test_dense_modes_alone_are_the_exact_heat_operator_on_band_limited_inputs(n_dim):
    # Kernel network silenced (its output layer zero): the layer is the stored low-mode weights,
    # set to the heat multiplier exp(-4 pi^2 nu t |k|^2) -- exact on inputs with |k_d| < m.
    n, m, nu, t = 16, 4, 0.01, 0.5
    X, y = make_heat(4, n, n_dim=n_dim, diffusivity=nu, time=t, max_wavenumber=m - 1, random_state=0)
    kernel = AmortizedSpectralKernel(1, 1, (n // 2,) * n_dim, dense_modes=m)
    with torch.no_grad():
        for net in kernel.nets:
            net[-1].weight.zero_()
            net[-1].bias.zero_()
        # Slot s of a full axis holds k = s (s < m) or s - (2m - 1); the last axis k = s.
        full_axis = torch.tensor([s if s < m else s - (2 * m - 1) for s in range(2 * m - 1)])
        ks = [full_axis] * (n_dim - 1) + [torch.arange(m)]
        ksq = sum(a.double() ** 2 for a in torch.meshgrid(*ks, indexing="ij"))
        kernel.dense_weight[..., 0, 0, 0] = torch.exp(-4 * np.pi**2 * nu * t * ksq).float()
        out = SpectralConv(kernel, n_dim)(torch.tensor(X, dtype=torch.float32)[:, None])[:, 0]
    np.testing.assert_allclose(out.numpy(), y, atol=1e-5)


def test_dense_modes_act_on_the_same_physical_wavenumbers_on_every_grid():
    torch.manual_seed(0)
    kernel = AmortizedSpectralKernel(2, 2, (8, 8), dense_modes=4)
    with torch.no_grad():
        kernel.dense_weight.normal_()
    conv = SpectralConv(kernel, 2)
    x = _assert_coarse_and_fine_grids_agree(conv)
    # The parameter count does not depend on the grid, and a grid with fewer modes than
    # dense_modes uses the weights it has.
    assert conv(x[..., ::4, ::4]).shape == (2, 2, 4, 4)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "4"])
def test_dense_modes_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="dense_modes"):
        AmortizedSpectralKernel(1, 1, (8,), dense_modes=bad)
