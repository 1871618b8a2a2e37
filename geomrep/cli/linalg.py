"""CLI registrations for :mod:`geomrep.linalg`: checks, a whitening demo and a quick benchmark.

The measurement helpers here (:func:`time_root_methods`, :func:`root_errors`) are also used by
``benchmarks/bench_linalg.py`` (full sizes).
"""

from __future__ import annotations

import gzip
import math
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from ..datasets import data_root
from ..linalg import invsqrtm, sqrtm, sqrtm_invsqrtm
from .registry import register_benchmark, register_check, register_demo

__all__ = [
    "BENCH_METHODS",
    "spd_with_condition",
    "exact_roots",
    "relative_error",
    "plain_eigh_sqrtm",
    "plain_eigh_inv",
    "time_root_methods",
    "root_errors",
    "mnist_class_covariances",
]

#: Methods compared by the benchmark (``"auto"`` included; it resolves per device).
BENCH_METHODS = ("auto", "eig", "sns", "ns", "mpa", "mtp")


# ----------------------------------------------------------------------------- helpers


def spd_with_condition(
    n: int, cond: float, batch: int, *, dtype=torch.float32, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random SPD ``Q diag(λ) Qᵀ`` (built in float64, then rounded), λ log-spaced in ``[1/cond, 1]``."""
    Q, _ = torch.linalg.qr(torch.randn(batch, n, n, dtype=torch.float64, generator=generator))
    lam = torch.logspace(0.0, -math.log10(cond), n, dtype=torch.float64)
    A = (Q * lam) @ Q.mT
    return (0.5 * (A + A.mT)).to(dtype)


def exact_roots(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference ``(A^½, A^{-½})`` of the (rounded) input, float64.

    float32 (and lower) inputs: ``eigh`` in float64 (independent of the float32 arithmetic under
    test). float64 inputs: ``scipy.linalg.sqrtm`` (Schur method, an independent algorithm) and its
    inverse.
    """
    if A.dtype != torch.float64:
        L, U = torch.linalg.eigh(A.double())
        return (U * L.sqrt()[..., None, :]) @ U.mT, (U * L.rsqrt()[..., None, :]) @ U.mT
    flat = A.detach().reshape(-1, *A.shape[-2:]).numpy()
    S = np.stack([np.real(scipy.linalg.sqrtm(a)) for a in flat])
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    R = np.linalg.inv(S)
    R = 0.5 * (R + np.swapaxes(R, -1, -2))
    return torch.from_numpy(S).reshape(A.shape), torch.from_numpy(R).reshape(A.shape)


def relative_error(X: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest relative Frobenius error over the batch, ``max_b ‖X_b − R_b‖_F / ‖R_b‖_F``."""
    X = X.detach().double()
    return float((torch.linalg.matrix_norm(X - ref) / torch.linalg.matrix_norm(ref)).max())


def plain_eigh_sqrtm(A: torch.Tensor) -> torch.Tensor:
    """The baseline: ``torch.linalg.eigh`` with its own autograd, ``U diag(√λ) Uᵀ``."""
    L, U = torch.linalg.eigh(A)
    return (U * L.sqrt()[..., None, :]) @ U.mT


def time_root_methods(
    n: int,
    batch: int,
    *,
    methods=BENCH_METHODS,
    dtype=torch.float32,
    cond: float = 1e3,
    rounds: int = 7,
    seed: int = 0,
) -> dict[str, float]:
    """Forward+backward time of ``sqrtm`` per method as a ratio to the plain ``eigh`` baseline.

    Rounds are interleaved (baseline, then each method, per round) and the ratio is the median over
    rounds of ``t_method / t_baseline`` measured in the same round, after one warm-up call each, so
    that slow drifts of a shared machine cancel. Returns ``{"eigh_seconds": median baseline time,
    method: ratio, ...}``.
    """
    gen = torch.Generator().manual_seed(seed)
    A = spd_with_condition(n, cond, batch, dtype=dtype, generator=gen).requires_grad_()
    G = torch.randn(batch, n, n, dtype=dtype, generator=gen)

    def run(fn):
        A.grad = None
        (fn(A) * G).sum().backward()

    fns = {"eigh": plain_eigh_sqrtm, **{m: (lambda X, m=m: sqrtm(X, method=m)) for m in methods}}
    for fn in fns.values():  # warm-up
        run(fn)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            run(fn)
            times[k].append(time.perf_counter() - t0)
    out = {"eigh_seconds": statistics.median(times["eigh"])}
    for m in methods:
        out[m] = statistics.median(t / b for t, b in zip(times[m], times["eigh"]))
    return out


def root_errors(
    n: int, cond: float, *, methods=BENCH_METHODS, dtype=torch.float32, batch: int = 8, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """``{method: (error of A^½, error of A^{-½})}`` vs the float64 roots of the rounded input."""
    gen = torch.Generator().manual_seed(seed)
    A = spd_with_condition(n, cond, batch, dtype=dtype, generator=gen)
    S0, R0 = exact_roots(A)
    out = {}
    with torch.no_grad():
        for m in methods:
            S, R = sqrtm_invsqrtm(A, method=m)
            out[m] = (relative_error(S, S0), relative_error(R, R0))
        out["plain eigh"] = (relative_error(plain_eigh_sqrtm(A), S0), float("nan"))
    return out


def _random_orthogonal(n: int, dtype, generator) -> torch.Tensor:
    Q, R = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=generator))
    return (Q * torch.sign(torch.diagonal(R))).to(dtype)


# ----------------------------------------------------------------------------- checks


@register_check(
    "linalg.sqrtm_congruence",
    tol={torch.float32: 2e-5, torch.float64: 1e-12},
    description="sqrtm(Q A Qᵀ) = Q sqrtm(A) Qᵀ, Q orthogonal (auto and sns, κ = 1e3, n = 16)",
)
def _check_congruence(dtype: torch.dtype, generator: torch.Generator) -> float:
    A = spd_with_condition(16, 1e3, 4, dtype=dtype, generator=generator)
    Q = _random_orthogonal(16, dtype, generator)
    worst = 0.0
    for method in ("auto", "sns"):
        lhs = sqrtm(Q @ A @ Q.mT, method=method)
        rhs = Q @ sqrtm(A, method=method) @ Q.mT
        worst = max(worst, relative_error(lhs, rhs.double()))
    return worst


@register_check(
    "linalg.sqrtm_square",
    tol={torch.float32: 2e-5, torch.float64: 1e-12},
    description="sqrtm(A)² = A and sqrtm(A)·invsqrtm(A) = I (auto and sns, κ = 1e3, n = 16)",
)
def _check_square(dtype: torch.dtype, generator: torch.Generator) -> float:
    A = spd_with_condition(16, 1e3, 4, dtype=dtype, generator=generator)
    worst = 0.0
    for method in ("auto", "sns"):
        S = sqrtm(A, method=method)
        worst = max(worst, relative_error(S @ S, A.double()))
    # the inverse root: S R = I up to κ(S)·eps; scaled by 1/√κ to compare on the same footing
    S, R = sqrtm_invsqrtm(A, method="sns")
    eye = torch.eye(16, dtype=torch.float64).expand(4, 16, 16)
    worst = max(worst, relative_error(S @ R, eye) / math.sqrt(1e3))
    return worst


# ----------------------------------------------------------------------------- benchmark


@register_benchmark(
    "linalg.sqrtm",
    description="sqrtm forward+backward time per method / plain eigh autograd (CPU, float32, batch 64)",
)
def _bench(quick: bool) -> list[dict]:
    sizes = (16,) if quick else (16, 64)
    rows = []
    for n in sizes:
        res = time_root_methods(n, 64, rounds=3 if quick else 7)
        errs = root_errors(n, 1e3, batch=4)
        for m in BENCH_METHODS:
            rows.append(
                {
                    "n": n,
                    "method": m,
                    "time / eigh": round(res[m], 2),
                    "eigh ms": round(1e3 * res["eigh_seconds"], 2),
                    "err sqrt κ=1e3": f"{errs[m][0]:.1e}",
                }
            )
    return rows


# ----------------------------------------------------------------------------- demo


def mnist_class_covariances(root=None, pool: int = 4, shrinkage: float = 1e-3) -> torch.Tensor:
    """Per-class pixel covariances (10, d, d) of MNIST test images average-pooled by ``pool``.

    ``d = (28 // pool)²`` (49 for ``pool = 4``); a shrinkage ``shrinkage · tr(C)/d · I`` makes the
    (otherwise singular: border pixels are constant) matrices positive definite. float64.
    """
    folder = data_root(root, "mnist_test")
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as fh:
        X = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as fh:
        y = np.frombuffer(fh.read(), np.uint8, offset=8)
    imgs = torch.from_numpy(X.astype(np.float64) / 255.0)[:, None]
    pooled = torch.nn.functional.avg_pool2d(imgs, pool).flatten(1)
    labels = torch.from_numpy(y.astype(np.int64))
    covs = []
    for c in range(10):
        Z = pooled[labels == c]
        Z = Z - Z.mean(0)
        C = Z.T @ Z / (Z.shape[0] - 1)
        d = C.shape[0]
        covs.append(C + shrinkage * torch.trace(C) / d * torch.eye(d, dtype=torch.float64))
    return torch.stack(covs)


@register_demo(
    "linalg.whitening",
    description="ZCA whitening of MNIST class covariances with invsqrtm: error and time per method vs eigh",
)
def _demo(outdir: Path, quick: bool) -> list[dict]:
    import matplotlib  # optional dependency ([tutorials] extra), only needed for the plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    C64 = mnist_class_covariances()
    C = C64.float()
    _, W0 = exact_roots(C)  # reference whitening matrix of the rounded input
    d = C.shape[-1]
    eye = torch.eye(d, dtype=torch.float64)
    kappa = torch.linalg.cond(C64)
    rows = []
    repeats = 3 if quick else 10
    fns = {"plain eigh": plain_eigh_inv, **{m: (lambda X, m=m: invsqrtm(X, method=m)) for m in BENCH_METHODS}}
    times: dict[str, list[float]] = {k: [] for k in fns}
    outs = {}
    with torch.no_grad():
        for k, fn in fns.items():  # warm-up
            outs[k] = fn(C)
        for _ in range(repeats):  # interleaved rounds: machine-load drifts hit every method alike
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn(C)
                times[k].append(time.perf_counter() - t0)
    t_ref = statistics.median(times["plain eigh"])
    for label, W in outs.items():
        t = statistics.median(times[label])
        W = W.double()
        whiten = float((torch.linalg.matrix_norm(W @ C64 @ W - eye) / math.sqrt(d)).max())
        rows.append(
            {
                "method": label,
                "rel. err of C^-1/2": f"{relative_error(W, W0):.1e}",
                "whitening err ‖WCW−I‖/√d": f"{whiten:.1e}",
                "time / eigh": f"{t / t_ref:.3g}",
                "ms": f"{1e3 * t:.3g}",
                "max κ": f"{float(kappa.max()):.1e}",
            }
        )
    fig, ax = plt.subplots(figsize=(6, 3.5))
    errs = [float(r["rel. err of C^-1/2"]) for r in rows]
    ax.bar([r["method"] for r in rows], errs)
    ax.set_yscale("log")
    ax.set_ylabel("relative error of C^{-1/2} (float32)")
    ax.set_title(f"MNIST class covariances, d = {d}, κ ≤ {float(kappa.max()):.0e}")
    fig.tight_layout()
    fig.savefig(outdir / "linalg_whitening.png", dpi=80)
    plt.close(fig)
    return rows


def plain_eigh_inv(A: torch.Tensor) -> torch.Tensor:
    """Baseline inverse square root ``U diag(λ^{-½}) Uᵀ`` with plain ``eigh``."""
    L, U = torch.linalg.eigh(A)
    return (U * L.rsqrt()[..., None, :]) @ U.mT
