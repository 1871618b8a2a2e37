"""CLI registrations for :mod:`geomrep.equivariant.gaunt`: checks, a QM9 demo and a quick benchmark.

The demo trains :class:`geomrep.equivariant.gaunt.interatomic.InteratomicModel` (the model of the
tutorial ``tutorials/gaunt_tensor_products.ipynb``) with Gaunt and with Clebsch–Gordan messages.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from e3nn import o3

from ..datasets import load_qm9
from ..equivariant.gaunt import GauntTensorProduct, gaunt_product
from ..equivariant.gaunt.interatomic import rotation_invariance_error, train_qm9
from .registry import register_benchmark, register_check, register_demo
from .timing import time_fn

__all__: list[str] = []


# ----------------------------------------------------------------------------- checks
def _wigner_d64(irreps: o3.Irreps, rot: torch.Tensor) -> torch.Tensor:
    """``irreps.D_from_matrix`` in float64 (e3nn builds D in the default dtype; restored afterwards)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return irreps.D_from_matrix(rot.to(torch.float64))
    finally:
        torch.set_default_dtype(previous)


@register_check(
    "gaunt.vs_dense",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="gaunt_product (default backend) equals the dense c·3j reference, L = 8 (relative)",
)
def _check_vs_dense(dtype: torch.dtype, generator: torch.Generator) -> float:
    lmax = 8
    x1 = torch.randn(16, (lmax + 1) ** 2, generator=generator, dtype=torch.float64)
    x2 = torch.randn(16, (lmax + 1) ** 2, generator=generator, dtype=torch.float64)
    ref = gaunt_product(x1, x2, lmax, lmax, lmax, backend="dense")
    out = gaunt_product(x1.to(dtype), x2.to(dtype), lmax, lmax, lmax)
    return float((out.double() - ref).abs().max() / ref.abs().max())


@register_check(
    "gaunt.rotation_equivariance",
    tol={torch.float32: 1e-5, torch.float64: 1e-10},
    description="GauntTensorProduct(L = 6) commutes with O(3) (Wigner D in float64; relative error)",
)
def _check_equivariance(dtype: torch.dtype, generator: torch.Generator) -> float:
    irreps = o3.Irreps([(4, (l, (-1) ** l)) for l in range(7)])
    tp = GauntTensorProduct(irreps, "1x0e+1x1o+1x2e", irreps).to(dtype)
    x1 = torch.randn(8, irreps.dim, generator=generator, dtype=dtype)
    x2 = torch.randn(8, 9, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    rot = -(q * torch.sign(torch.diagonal(r)))  # det −1: rotation times inversion
    d_in, d_sh = _wigner_d64(irreps, rot), _wigner_d64(o3.Irreps("1x0e+1x1o+1x2e"), rot)
    with torch.no_grad():
        y = tp(x1, x2).double() @ d_in.T
        y_rot = tp((x1.double() @ d_in.T).to(dtype), (x2.double() @ d_sh.T).to(dtype)).double()
    return float((y - y_rot).abs().max() / y.abs().max())


# ----------------------------------------------------------------------------- model
# ----------------------------------------------------------------------------- demo
@register_demo("gaunt.qm9", description="QM9 HOMO–LUMO gap: interatomic model with Gaunt vs e3nn CG messages")
def _demo(outdir: Path, quick: bool) -> list[dict]:
    n_train, n_test, epochs = (120, 60, 4) if quick else (300, 100, 15)
    mols = load_qm9(n_train + n_test, parts=(1,), seed=0)
    train, test = mols[:n_train], mols[n_train:]
    rows, histories = [], {}
    for kind in ("gaunt", "cg"):
        t0 = time.perf_counter()
        res = train_qm9(kind, train, test, epochs=epochs, lmax=3)
        seconds = time.perf_counter() - t0
        histories[kind] = res["mae_history"]
        rows.append(
            {
                "model": f"{kind} messages",
                "test MAE gap [eV]": res["mae"] * 27.2114,
                "baseline (predict mean) [eV]": res["baseline_mae"] * 27.2114,
                "step ms": res["step_ms"],
                "invariance err f64": rotation_invariance_error(res["model"], test[:20]),
                "seconds": seconds,
            }
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
    for kind, h in histories.items():
        ax.plot(range(1, len(h) + 1), [27.2114 * v for v in h], "o-", label=kind)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test MAE, HOMO–LUMO gap [eV]")
    ax.legend()
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    fig.savefig(outdir / "gaunt_qm9.png")
    plt.close(fig)
    return rows


# ----------------------------------------------------------------------------- benchmark
@register_benchmark(
    "gaunt.speed", description="gaunt_product vs e3nn TensorProduct on the Gaunt paths, fwd+bwd"
)
def _bench(quick: bool) -> list[dict]:
    from ..equivariant.gaunt import gaunt_constant, gaunt_paths

    rows = []
    for lmax in (2, 4) if quick else (2, 4, 6, 8):
        x1 = torch.randn(2048, (lmax + 1) ** 2, requires_grad=True)
        x2 = torch.randn(2048, (lmax + 1) ** 2, requires_grad=True)

        def ours_fn(x1=x1, x2=x2, lmax=lmax):
            gaunt_product(x1, x2, lmax, lmax, lmax).sum().backward()

        ours = time_fn(ours_fn, warmup=2, repeats=5)
        irreps = o3.Irreps([(32, (l, (-1) ** l)) for l in range(lmax + 1)])
        instr = [
            (a, b, c, "uuu", False, gaunt_constant(a, b, c) ** 2) for a, b, c in gaunt_paths(lmax, lmax, lmax)
        ]
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
        y1 = torch.randn(64, irreps.dim, requires_grad=True)
        y2 = torch.randn(64, irreps.dim, requires_grad=True)

        def base_fn(tp=tp, y1=y1, y2=y2):
            tp(y1, y2).sum().backward()

        base = time_fn(base_fn, warmup=1, repeats=3)
        rows.append(
            {
                "L": lmax,
                "gaunt fwd+bwd ms": 1e3 * ours,
                "e3nn TP (Gaunt paths) ms": 1e3 * base,
                "speed-up": base / ours,
            }
        )
    return rows
