"""Lyapunov solver vs scipy.linalg.solve_continuous_lyapunov; gradients."""

from __future__ import annotations

import pytest
import scipy.linalg as sl
import torch

from geomrep.linalg import solve_lyapunov, sym

from ._helpers import degenerate_points, random_spd, rel_err, spd_with_cond

F64 = torch.float64


@pytest.mark.parametrize("cond", [1.0, 1e3, 1e6])
def test_eig_matches_scipy(cond):
    A = spd_with_cond(6, cond, seed=1)
    C = torch.randn(6, 6, dtype=F64, generator=torch.Generator().manual_seed(0))
    X = solve_lyapunov(A, C)
    ref = sl.solve_continuous_lyapunov(A.numpy(), C.numpy())
    assert rel_err(X, ref) < 1e-14 * cond + 1e-13
    assert rel_err(A @ X + X @ A, C) < 1e-15 * cond + 1e-12


@pytest.mark.parametrize("point", range(3))
def test_gradcheck(point):
    A = [*degenerate_points(), random_spd(4, seed=3)][point]
    C = torch.randn(4, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert torch.autograd.gradcheck(
        lambda X, Y: solve_lyapunov(sym(X), Y), (A.clone().requires_grad_(), C.requires_grad_())
    )


def test_batch_broadcast():
    A = random_spd(4, batch=(2, 3), seed=1)
    C = torch.eye(4, dtype=F64)
    X = solve_lyapunov(A, C)
    assert X.shape == (2, 3, 4, 4)
    assert rel_err(A @ X + X @ A, C.expand(2, 3, 4, 4)) < 1e-12
