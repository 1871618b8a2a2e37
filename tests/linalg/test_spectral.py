"""Eigen-functions: forward vs scipy, Daleckii–Krein backward vs finite differences at ties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from geomrep.linalg import expm, invsqrtm_eig, logm, powm, spectral_map, sqrtm_eig, sqrtm_invsqrtm_eig, sym

from ._helpers import degenerate_points, fd_directional, random_spd, rel_err, spd_with_cond

F64 = torch.float64


def _scipy_ref(name, A, p=None):
    A = A.detach().double().numpy()
    if name == "sqrt":
        return np.real(sl.sqrtm(A))
    if name == "invsqrt":
        return np.linalg.inv(np.real(sl.sqrtm(A)))
    if name == "log":
        return np.real(sl.logm(A))
    if name == "exp":
        return sl.expm(A)
    if name == "pow":
        return np.real(sl.fractional_matrix_power(A, p))
    raise KeyError(name)


FUNCS = {
    "sqrt": (sqrtm_eig, dict()),
    "invsqrt": (invsqrtm_eig, dict()),
    "log": (logm, dict()),
    "exp": (expm, dict()),
    "pow": (lambda X: powm(X, 0.37), dict(p=0.37)),
    "pow_neg": (lambda X: powm(X, -1.5), dict(p=-1.5)),
}


# measured relative errors at κ = 2 / 10 / 1e4 (n = 6, seed 1); bounds ~10x. Negative powers and the
# inverse root grow like eps·κ^{|p|}-ish (invsqrt 1.2e-13, pow -1.5: 1.3e-12 at κ = 1e4).
FORWARD_BOUNDS = {
    "sqrt": (2e-14, 2e-14, 3e-14),
    "invsqrt": (2e-14, 2e-14, 1.2e-12),
    "log": (3e-14, 2e-14, 2.2e-13),
    "exp": (2e-14, 3e-14, 3e-14),
    "pow": (2e-14, 2e-14, 5e-14),
    "pow_neg": (2e-14, 3e-14, 1.3e-11),
}


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("k, cond", list(enumerate([2.0, 10.0, 1e4])))
def test_forward_matches_scipy(name, k, cond):
    fn, kw = FUNCS[name]
    ref_name = "pow" if name.startswith("pow") else name
    A = spd_with_cond(6, cond, seed=1)
    if name == "exp":
        A = A * 3 - torch.eye(6, dtype=F64)  # indefinite is fine for exp
    ref = _scipy_ref(ref_name, A, kw.get("p"))
    assert rel_err(fn(A), ref) < FORWARD_BOUNDS[name][k]


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_shapes_and_dtype(batch, dtype):
    A = random_spd(5, batch=batch, dtype=dtype, seed=2)
    for fn in (sqrtm_eig, invsqrtm_eig, logm, expm, lambda X: powm(X, 0.5)):
        Y = fn(A)
        assert Y.shape == A.shape and Y.dtype == dtype
    S = sqrtm_eig(A)
    ref = np.stack([np.real(sl.sqrtm(a)) for a in A.double().reshape(-1, 5, 5).numpy()]).reshape(A.shape)
    assert rel_err(S, ref) < (5e-6 if dtype == torch.float32 else 3e-14)  # measured 4.5e-7 / 2.7e-15


def test_sqrtm_invsqrtm_shared():
    A = random_spd(5, batch=(2,), seed=3)
    S, R = sqrtm_invsqrtm_eig(A)
    assert rel_err(S @ R, torch.eye(5, dtype=F64).expand(2, 5, 5)) < 1e-14  # measured 1.0e-15
    assert rel_err(S @ S, A) < 1e-14


def _points():
    return [*degenerate_points(), random_spd(4, seed=5)]


@pytest.mark.parametrize("name", list(FUNCS) + ["generic_sin"])
@pytest.mark.parametrize("point", range(3))
def test_backward_matches_finite_differences(name, point):
    if name == "generic_sin":
        fn = lambda X: spectral_map(X, torch.sin, torch.cos)  # noqa: E731
    else:
        fn = FUNCS[name][0]
    A = _points()[point]
    gen = torch.Generator().manual_seed(point)
    E = sym(torch.randn(4, 4, dtype=F64, generator=gen))
    G = torch.randn(4, 4, dtype=F64, generator=gen)
    Ar = A.clone().requires_grad_()
    (fn(Ar) * G).sum().backward()
    analytic = float((Ar.grad * E).sum())
    # independent reference: finite differences of the scipy function along E
    ref_name = "pow" if name.startswith("pow") else name
    p = FUNCS[name][1].get("p") if name in FUNCS else None
    if name == "generic_sin":

        def ref_fn(X):
            return torch.from_numpy(np.real(sl.funm(X.numpy(), np.sin)))

    else:

        def ref_fn(X):
            return torch.from_numpy(_scipy_ref(ref_name, X, p))

    fd = float((fd_directional(ref_fn, A, E, h=1e-5) * G).sum())
    assert math.isfinite(analytic)
    assert abs(analytic - fd) <= 1e-8 * max(1.0, abs(fd)), (analytic, fd)  # measured ≤ 5.7e-10


@pytest.mark.parametrize("name", list(FUNCS))
def test_gradcheck(name):
    fn = FUNCS[name][0]
    for A in _points():
        Ar = A.clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda X: fn(sym(X)), (Ar,))


def test_eigh_autograd_fails_where_ours_does_not():
    """The motivating failure: plain eigh autograd is not finite at 2I; spectral_map is."""
    A = (2.0 * torch.eye(3, dtype=F64)).requires_grad_()
    L, U = torch.linalg.eigh(A)
    ((U * L.sqrt()) @ U.mT).sum().backward()
    assert not torch.isfinite(A.grad).all()
    A.grad = None
    sqrtm_eig(A).sum().backward()
    # d/dA sum(sqrt(A)) at 2I along E is sum(E)/(2 sqrt 2): gradient = ones/(2√2)
    assert torch.allclose(A.grad, torch.ones(3, 3, dtype=F64) / (2 * math.sqrt(2.0)))


def test_generic_near_tie_branch():
    """Eigenvalues closer than sqrt(eps) use f' at the midpoint; result matches a divided difference."""
    d = torch.tensor([1.0, 1.0 + 1e-10, 2.0], dtype=F64)
    A = torch.diag(d).requires_grad_()
    G = torch.ones(3, 3, dtype=F64)
    (spectral_map(A, torch.exp, torch.exp) * G).sum().backward()
    # off-diagonal gradient entries: K_01 = (e^a - e^b)/(a - b) ≈ e^{1} (tie) and K_02 exact
    assert abs(float(A.grad[0, 1]) - math.e) < 1e-9
    assert abs(float(A.grad[0, 2]) - (math.exp(1) - math.exp(2)) / (1 - 2)) < 1e-12


def test_compile_aot_eager():
    A = random_spd(4, batch=(2,), seed=7).requires_grad_()
    for fn in (sqrtm_eig, logm, lambda X: powm(X, 0.3), lambda X: spectral_map(X, torch.sin, torch.cos)):
        cfn = torch.compile(fn, backend="aot_eager", fullgraph=True)
        y = cfn(A)
        (g,) = torch.autograd.grad(y.sum(), A)
        y0 = fn(A)
        (g0,) = torch.autograd.grad(y0.sum(), A)
        assert torch.allclose(y, y0) and torch.allclose(g, g0)
