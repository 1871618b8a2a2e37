"""Property-based tests over the public :mod:`geomrep.manifolds.spd` API (hypothesis).

Inputs: batch shapes with empty (0) and singleton dimensions, n = 1..4, float32/float64, scales
1e-30..1e30, condition numbers 1..1e12 (float32: up to 1e6, beyond which its matrices are numerically
singular). Each property states the documented behaviour:

- values against an independent float64 reference on the *rounded* input (numpy/scipy), with
  ``κ₁ = min(κ(X)·κ(Y), 1/eps)``:
  ``|d² − d²_ref| ≤ 20·n·eps·√κ₁·(tr X + tr Y)`` for :func:`bw_distance` (a perturbation ``eps·‖M‖`` of
  the smallest eigenvalue of ``M = X^½ Y X^½`` moves its root by ``eps·√κ·√‖M‖/2``);
- exact algebraic identities: homogeneity ``d²(cX, cY) = c·d²(X, Y)``, ``Exp_P(Log_P X) = X``,
  ``mean of one matrix = that matrix``, ``karcher_mean(cX) = c·karcher_mean(X)``, scale invariance of
  :class:`SPDBatchNorm` in training mode (``eps = 0``), all up to rounding bounds stated per test;
- a ``TypeError`` naming the argument for every dtype other than float32/float64, a ``ValueError``
  naming the user's argument (first or second) for non-symmetric, non-finite or indefinite matrices,
  reporting that matrix's own smallest eigenvalue.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomrep.manifolds.spd import (
    SPDBatchNorm,
    bw_distance,
    bw_exp,
    bw_geodesic,
    bw_inner,
    bw_log,
    bw_mean,
    bw_transport_from_identity,
    bw_transport_to_identity,
    gbw_distance,
    gbw_inner,
    gbw_log,
    karcher_mean,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([torch.float32, torch.float64])
SCALES = st.sampled_from([1e-30, 1e-10, 1.0, 1e10, 1e30])
BATCH = st.lists(st.integers(0, 2), max_size=2).map(tuple)
SEEDS = st.integers(0, 2**31 - 1)
BAD_DTYPES = st.sampled_from(
    [torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.bool, torch.complex64]
)


def _conds(dtype):
    return [1.0, 10.0, 1e3, 1e6] + ([1e9, 1e12] if dtype == torch.float64 else [])


def _spd(seed, batch, n, cond, scale, dtype):
    """Rotated SPD with eigenvalues scale·[1 .. 1/cond] (float64 construction, then rounded)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    lam = scale * np.logspace(0.0, -math.log10(cond), n) if n > 1 else np.array([scale])
    A = (Q * lam) @ np.swapaxes(Q, -1, -2)
    return torch.from_numpy(0.5 * (A + np.swapaxes(A, -1, -2))).to(dtype)


def _sym(seed, batch, n, dtype):
    A = np.random.default_rng(seed).standard_normal((*batch, n, n))
    return torch.from_numpy(0.5 * (A + np.swapaxes(A, -1, -2))).to(dtype)


def _bw_d2_ref(X: torch.Tensor, Y: torch.Tensor) -> np.ndarray:
    """d² = tr X + tr Y − 2 Σ √μ(XY) per matrix, float64 numpy on the rounded inputs (common scale out)."""
    Xn, Yn = np.broadcast_arrays(X.double().numpy(), Y.double().numpy())
    out = np.zeros(Xn.shape[:-2])
    for idx in np.ndindex(*Xn.shape[:-2]):
        x, y = Xn[idx], Yn[idx]
        c = max(np.abs(x).max(), np.abs(y).max(), 1e-300)
        x, y = x / c, y / c
        mu = np.clip(np.linalg.eigvals(x @ y).real, 0.0, None)
        out[idx] = c * max(np.trace(x) + np.trace(y) - 2 * np.sqrt(mu).sum(), 0.0)
    return out


def _np_fun(A: np.ndarray, f) -> np.ndarray:
    """f(A) of a symmetric matrix through numpy's eigh (float64)."""
    lam, U = np.linalg.eigh(0.5 * (A + A.T))
    return (U * f(lam)) @ U.T


def _kappa(A: torch.Tensor) -> float:
    if A.numel() == 0:
        return 1.0
    lam = np.linalg.eigvalsh(A.double().numpy())
    return float(np.max(lam[..., -1] / np.maximum(lam[..., 0], 1e-300)))


# ----------------------------------------------------------------------------------------- values
@SETTINGS
@given(seed=SEEDS, batch=BATCH, n=st.integers(1, 4), dtype=DTYPES, scale=SCALES, data=st.data())
def test_bw_distance_matches_float64_reference(seed, batch, n, dtype, scale, data):
    cx = data.draw(st.sampled_from(_conds(dtype)))
    cy = data.draw(st.sampled_from(_conds(dtype)))
    X = _spd(seed, batch, n, cx, scale, dtype)
    Y = _spd(seed + 1, batch[1:], n, cy, scale * data.draw(st.sampled_from([0.5, 1.0, 3.0])), dtype)
    d2 = bw_distance(X, Y, squared=True)
    assert d2.shape == torch.broadcast_shapes(X.shape[:-2], Y.shape[:-2]) and d2.dtype == dtype
    ref = _bw_d2_ref(X, Y)
    eps = torch.finfo(dtype).eps
    k1 = min(_kappa(X) * _kappa(Y), 1 / eps)
    trace = _bw_d2_ref(X, 0 * Y) + _bw_d2_ref(0 * X, Y)  # tr X + tr Y
    err = np.abs(d2.double().numpy() - ref)
    assert np.all(err <= 20 * n * eps * math.sqrt(k1) * trace + 1e-300), (err, trace)


@SETTINGS
@given(seed=SEEDS, batch=BATCH, n=st.integers(1, 4), dtype=DTYPES, c=SCALES)
def test_bw_functions_are_homogeneous_at_any_scale(seed, batch, n, dtype, c):
    """d²(cX, cY) = c·d², Log_{cP}(cX) = c·Log_P X, γ scales by c, g_{cP}(cU, cV) = c·g_P(U, V)."""
    P = _spd(seed, batch, n, 10.0, 1.0, dtype)
    X = _spd(seed + 1, batch, n, 10.0, 2.0, dtype)
    U = _sym(seed + 2, batch, n, dtype)
    tol = dict(rtol=200 * n * torch.finfo(dtype).eps, atol=200 * n * torch.finfo(dtype).eps)

    def close(a, b):  # compare after dividing by c (a and b are O(1))
        torch.testing.assert_close(a.double() / c, b.double(), **tol)

    close(bw_distance(c * P, c * X, squared=True), bw_distance(P, X, squared=True))
    close(bw_log(c * P, c * X), bw_log(P, X))
    close(bw_geodesic(c * P, c * X, 0.3), bw_geodesic(P, X, 0.3))
    close(bw_inner(c * P, c * U, c * U), bw_inner(P, U, U))
    close(bw_exp(c * P, 0.1 * c * U), bw_exp(P, 0.1 * U))


@SETTINGS
@given(seed=SEEDS, batch=BATCH, n=st.integers(1, 4), cond=st.sampled_from([1.0, 10.0, 1e3]), scale=SCALES)
def test_exp_inverts_log(seed, batch, n, cond, scale):
    """Exp_P(Log_P X) = X in float64, relative error ≤ 1e3·n·eps·κ (measured ≲ 10·eps·κ)."""
    P = _spd(seed, batch, n, cond, scale, torch.float64)
    X = _spd(seed + 1, batch, n, cond, scale, torch.float64)
    Z = bw_exp(P, bw_log(P, X))
    err = (Z - X).abs().amax(dim=(-2, -1)) / X.abs().amax(dim=(-2, -1))
    assert bool((err <= 1e3 * n * 2.2e-16 * cond).all()), err


@FEW
@given(seed=SEEDS, n=st.integers(1, 4), dtype=DTYPES, scale=SCALES, data=st.data())
def test_means_of_one_matrix_and_scale_equivariance(seed, n, dtype, scale, data):
    cond = data.draw(st.sampled_from([1.0, 10.0, 1e3]))
    X = _spd(seed, (1,), n, cond, scale, dtype)
    eps = torch.finfo(dtype).eps
    for mean in (bw_mean, karcher_mean):
        _close_rel(mean(X), X[0], 100 * n * eps * cond)
    Xs = _spd(seed, (3,), n, cond, 1.0, dtype)
    for mean in (bw_mean, karcher_mean):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # converges: no "did not converge"
            a, b = mean(scale * Xs), mean(Xs)
        _close_rel(a.double() / scale, b.double(), 1e3 * n * eps * cond)


def _close_rel(a: torch.Tensor, b: torch.Tensor, tol: float) -> None:
    """max|a − b| ≤ tol·max|b| (entries relative to the matrix scale, not elementwise)."""
    err = float((a.double() - b.double()).abs().max() / b.double().abs().max())
    assert err <= tol, (err, tol)


@FEW
@given(seed=SEEDS, n=st.integers(2, 4), cond=st.sampled_from([1e2, 1e3, 1e6]), batch=st.integers(0, 2))
def test_karcher_mean_reaches_a_stationary_point(seed, n, cond, batch):
    """Riemannian gradient (scipy logm) at the result ≤ 1e-8 for κ ≤ 1e6 in float64, any batch."""
    X = _spd(seed, (batch, 6), n, cond, 1.0, torch.float64)
    G = karcher_mean(X, iters=200)
    assert G.shape == (batch, n, n)
    for b in range(batch):
        Gih = _np_fun(G[b].numpy(), lambda lam: lam**-0.5)
        T = np.mean([_np_fun(Gih @ x @ Gih, np.log) for x in X[b].numpy()], axis=0)
        assert np.linalg.norm(T) < 1e-8


@FEW
@given(
    seed=SEEDS,
    shape=st.sampled_from([(5,), (1, 5), (2, 3)]),
    metric=st.sampled_from(["gbw", "bw", "aim", "lem"]),
    power=st.sampled_from([1.0, 0.5]),
    c=st.sampled_from([1e-30, 1e-8, 1e8, 1e30]),
)
def test_batchnorm_training_output_is_scale_invariant(seed, shape, metric, power, c):
    """variance="mean", eps = 0, training: Y(cX) = Y(X) for every metric (float64), and finite."""
    n = 3
    X = _spd(seed, shape, n, 100.0, 1.0, torch.float64)
    Y = SPDBatchNorm(n, metric=metric, power=power, eps=0.0).double()(X)
    Yc = SPDBatchNorm(n, metric=metric, power=power, eps=0.0).double()(c * X)
    assert Yc.shape == X.shape and torch.isfinite(Yc).all()
    torch.testing.assert_close(Yc, Y, rtol=1e-9, atol=1e-10)


# ----------------------------------------------------------------------------------------- gradients
@FEW
@given(
    seed=SEEDS, eigs=st.lists(st.sampled_from([1.0, 2.0, 5.0]), min_size=2, max_size=4), inverse=st.booleans()
)
def test_transport_gradient_at_rotated_ties_matches_finite_differences(seed, eigs, inverse):
    f = bw_transport_from_identity if inverse else bw_transport_to_identity
    n = len(eigs)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    P = torch.from_numpy((Q * np.array(eigs)) @ Q.T)
    P = 0.5 * (P + P.mT)
    V, W, G = (_sym(seed + k, (), n, torch.float64) for k in (1, 2, 3))
    Pr = P.clone().requires_grad_()
    (f(Pr, V) * G).sum().backward()
    h = 1e-6
    num = float(((f(P + h * W, V) - f(P - h * W, V)) * G).sum()) / (2 * h)
    assert abs(float((Pr.grad * W).sum()) - num) <= 1e-7 * max(1.0, abs(num))


# ----------------------------------------------------------------------------------------- errors
TWO_ARG = {
    "bw_distance": (lambda a, b: bw_distance(a, b), ("X", "Y")),
    "bw_log": (lambda a, b: bw_log(a, b), ("P", "X")),
    "bw_geodesic": (lambda a, b: bw_geodesic(a, b, 0.5), ("A", "B")),
    "gbw_distance": (lambda a, b: gbw_distance(a, b, torch.eye(a.shape[-1], dtype=a.dtype)), ("X", "Y")),
    "gbw_log": (lambda a, b: gbw_log(a, b, torch.eye(a.shape[-1], dtype=a.dtype)), ("P", "X")),
}


@SETTINGS
@given(
    seed=SEEDS, n=st.integers(1, 4), bad=BAD_DTYPES, fn=st.sampled_from(sorted(TWO_ARG)), second=st.booleans()
)
def test_bad_dtypes_are_type_errors_naming_the_argument(seed, n, bad, fn, second):
    f, names = TWO_ARG[fn]
    good = _spd(seed, (), n, 10.0, 1.0, torch.float64)
    wrong = good.to(bad)
    with pytest.raises(TypeError, match=names[1] if second else names[0]):
        f(good, wrong) if second else f(wrong, good)


@SETTINGS
@given(
    seed=SEEDS,
    n=st.integers(2, 4),
    dtype=DTYPES,
    scale=SCALES,
    fn=st.sampled_from(sorted(TWO_ARG)),
    kind=st.sampled_from(["asym", "indefinite", "nan"]),
)
def test_bad_second_argument_is_named_with_its_own_eigenvalue(seed, n, dtype, scale, fn, kind):
    """The second argument is validated exactly like the first (it used to be symmetrised silently)."""
    f, names = TWO_ARG[fn]
    good = _spd(seed, (2,), n, 10.0, scale, dtype)
    B = _spd(seed + 1, (2,), n, 10.0, scale, dtype)
    if kind == "asym":
        B[1] = B[1] + scale * torch.triu(torch.ones(n, n, dtype=dtype), 1)
        msg = rf"^{names[1]} must be symmetric; {names[1]}\[1\]"
    elif kind == "nan":
        B[0, 0, -1] = float("nan")
        msg = rf"^{names[1]} must be finite; {names[1]}\[0\]"
    else:
        B[1] = -B[1]
        msg = rf"^{names[1]} must be symmetric positive (semi)?definite; {names[1]}\[1\] has smallest eigen"
    with pytest.raises(ValueError, match=msg) as info:
        f(good, B)
    if kind == "indefinite":  # the user's matrix's own eigenvalue, not one of X^½ B X^½
        reported = float(re.search(r"eigenvalue (\S+)", str(info.value)).group(1))
        true = float(np.linalg.eigvalsh(B[1].double().numpy())[0])
        assert math.isclose(reported, true, rel_tol=2e-3)


@SETTINGS
@given(seed=SEEDS, n=st.integers(1, 3), empty=st.sampled_from([(0,), (0, 2), (2, 0)]))
def test_empty_batches(seed, n, empty):
    """Empty batches give empty results; means of N = 0 matrices raise; an empty outer batch is empty."""
    E = torch.empty(*empty, n, n, dtype=torch.float64)
    P = _spd(seed, (), n, 10.0, 1.0, torch.float64)
    assert bw_distance(E, P).shape == empty
    assert bw_log(P, E).shape == (*empty, n, n)
    assert bw_inner(P, E, E).shape == empty
    assert gbw_inner(P, E, E, P).shape == empty
    assert bw_transport_to_identity(P, E).shape == (*empty, n, n)
    if empty[-1] == 0:
        with pytest.raises(ValueError, match="X holds no matrices"):
            bw_mean(E)
        with pytest.raises(ValueError, match="X holds no matrices"):
            karcher_mean(E)
    else:
        assert karcher_mean(E).shape == (0, n, n)
    bn = SPDBatchNorm(n).double().eval()
    assert bn(E).shape == E.shape
