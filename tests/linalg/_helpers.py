"""Shared helpers for the linalg tests: SPD matrices with a prescribed spectrum and degenerate points."""

from __future__ import annotations

import numpy as np
import torch


def spd_with_cond(n, cond, *, batch=(), dtype=torch.float64, seed=0):
    """Random SPD ``Q diag(λ) Qᵀ`` (float64 construction), eigenvalues log-spaced in [1/cond, 1]."""
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(*batch, n, n, dtype=torch.float64, generator=gen))
    lam = torch.logspace(0, -np.log10(cond), n, dtype=torch.float64)
    A = (Q * lam) @ Q.mT
    return (0.5 * (A + A.mT)).to(dtype)


def random_spd(n, *, batch=(), dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(*batch, n, n, dtype=torch.float64, generator=gen)
    return (X @ X.mT / n + 0.5 * torch.eye(n, dtype=torch.float64)).to(dtype)


def degenerate_points(dtype=torch.float64):
    """The points where eigh's autograd fails: diag(1, 1, 2, 3) and 2I."""
    return [
        torch.diag(torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=dtype)),
        2.0 * torch.eye(4, dtype=dtype),
    ]


def fd_directional(fn, A, E, h=1e-6):
    """Central finite difference of ``fn`` at ``A`` along the symmetric direction ``E`` (float64)."""
    return (fn(A + h * E) - fn(A - h * E)) / (2 * h)


def rel_err(X, Y):
    X = torch.as_tensor(X, dtype=torch.float64)
    Y = torch.as_tensor(Y, dtype=torch.float64)
    return float(torch.linalg.matrix_norm(X - Y).max() / torch.linalg.matrix_norm(Y).min())
