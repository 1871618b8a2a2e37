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
    # measured 8.8e-16 / 1.6e-13 / 6.5e-11 (solution), 8.5e-16 / 8.1e-14 / 2.8e-11 (residual)
    assert rel_err(X, ref) < 1e-15 * cond + 1e-14
    assert rel_err(A @ X + X @ A, C) < 5e-16 * cond + 1e-14


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


@pytest.mark.parametrize("cond", [1.0, 1e3, 1e6])
@pytest.mark.parametrize("symmetric", [True, False])
def test_ns_matches_scipy(cond, symmetric):
    A = spd_with_cond(8, cond, seed=2)
    C = torch.randn(8, 8, dtype=F64, generator=torch.Generator().manual_seed(3))
    if symmetric:
        C = sym(C)
    X = solve_lyapunov(A, C, method="ns")
    ref = sl.solve_continuous_lyapunov(A.numpy(), C.numpy())
    # measured 4.6e-15 / 3.9e-14 / 1.3e-11 at κ = 1 / 1e3 / 1e6 (scipy's own error is of that order)
    assert rel_err(X, ref) < 5e-14 + 1e-16 * cond


@pytest.mark.parametrize("point", range(3))
def test_ns_gradcheck(point):
    A = [*degenerate_points(), random_spd(4, seed=3)][point]
    C = torch.randn(4, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert torch.autograd.gradcheck(
        lambda X, Y: solve_lyapunov(sym(X), Y, method="ns"), (A.clone().requires_grad_(), C.requires_grad_())
    )


def test_float32_ns_accuracy():
    A = spd_with_cond(32, 1e3, seed=1)
    C = sym(torch.randn(32, 32, dtype=F64, generator=torch.Generator().manual_seed(0)))
    ref = sl.solve_continuous_lyapunov(A.numpy(), C.numpy())
    assert rel_err(solve_lyapunov(A.float(), C.float(), method="ns"), ref) < 5e-5  # measured 5.1e-6


def test_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        solve_lyapunov(-torch.eye(3, dtype=F64), torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="positive definite"):
        solve_lyapunov(-torch.eye(3, dtype=F64), torch.eye(3, dtype=F64), method="ns")
    with pytest.raises(ValueError, match="method"):
        solve_lyapunov(torch.eye(3), torch.eye(3), method="bogus")
    with pytest.raises(ValueError, match="C must have"):
        solve_lyapunov(torch.eye(3), torch.eye(4))
    with pytest.raises(TypeError, match="dtype"):
        solve_lyapunov(torch.eye(3), torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="cond"):
        solve_lyapunov(torch.eye(3), torch.eye(3), method="ns", cond=float("inf"))
    with pytest.raises(ValueError, match="broadcast"):
        solve_lyapunov(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(4, 3, 3))
