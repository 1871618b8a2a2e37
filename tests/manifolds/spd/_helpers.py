"""Random SPD inputs shared by the spd tests."""

from __future__ import annotations

import numpy as np
import torch


def random_spd(*batch, n, cond=10.0, dtype=torch.float64, seed=0, distinct=True):
    """SPD matrices ``(*batch, n, n)`` with eigenvalues log-spaced in ``[1/cond, 1]`` (randomly jittered)."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(*batch, n, n, dtype=torch.float64, generator=g)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))[..., None, :]
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    if distinct:
        t = t + 0.3 / max(n, 2) * torch.rand(*batch, n, dtype=torch.float64, generator=g)
    lam = cond ** (-t)
    return ((Q * lam[..., None, :]) @ Q.mT).to(dtype)


def random_sym(*batch, n, dtype=torch.float64, seed=1, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(*batch, n, n, dtype=torch.float64, generator=g)
    return (scale * (A + A.mT) / 2).to(dtype)


def np64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).numpy()
