"""Time formulations of the spectral contraction ``out[b,o,m] = sum_i x[b,i,m] w[i,o,m]``.

Forward plus backward, median over repeats, on the shape of one 2-D AM-FNO / FNO+ layer at the
training benchmark's setting: a 64 x 64 grid (64 x 33 ``rfft2`` modes, all of them kept), width
32 in and out, batch 32, complex64. Run:

    python benchmarks/bench_contraction.py [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from sklearn_amfno.nn.layers import contract_modes


def einsum_complex(x, w):
    return torch.einsum("bim,iom->bom", x, w)


def bmm_complex(x, w):
    out = torch.bmm(x.permute(2, 0, 1), w.permute(2, 0, 1))  # (m, b, o)
    return out.permute(1, 2, 0)


def four_real_bmm(x, w):
    xr, xi = x.real.permute(2, 0, 1), x.imag.permute(2, 0, 1)
    wr, wi = w.real.permute(2, 0, 1), w.imag.permute(2, 0, 1)
    re = torch.bmm(xr, wr) - torch.bmm(xi, wi)
    im = torch.bmm(xr, wi) + torch.bmm(xi, wr)
    return torch.complex(re, im).permute(1, 2, 0)


VARIANTS = {
    "einsum (complex)": einsum_complex,
    "bmm (complex)": bmm_complex,
    "4 real bmm": four_real_bmm,
    "interleaved real bmm (package)": contract_modes,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    b, c, m = 32, 32, 64 * 33
    x = torch.randn(b, c, m, dtype=torch.cfloat, requires_grad=True)
    # The package's kernels produce weights modes-first and hand over a (in, out, modes) view.
    w_modes_first = torch.randn(m, c, c, dtype=torch.cfloat, requires_grad=True)
    w = w_modes_first.permute(1, 2, 0)
    reference = einsum_complex(x, w).detach()
    shapes = f"x {tuple(x.shape)}, w {tuple(w.shape)}"
    print(f"threads={args.threads}, {shapes}; fwd+bwd, median of {args.repeats}")
    timings = {}
    for name, fn in VARIANTS.items():
        torch.testing.assert_close(fn(x, w).detach(), reference, rtol=1e-4, atol=1e-3)
        samples = []
        for i in range(args.repeats + 3):
            start = time.perf_counter()
            out = fn(x, w)
            (out.real.sum() + out.imag.sum()).backward()
            if i >= 3:
                samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples)
    base = timings["einsum (complex)"]
    for name, t in timings.items():
        print(f"{name:32s} {1e3 * t:8.2f} ms   speed-up vs einsum {base / t:5.2f}x")


if __name__ == "__main__":
    main()
