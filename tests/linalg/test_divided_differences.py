"""Divided differences K(a, b) = (f(a) − f(b))/(a − b) of the eigen-functions vs mpmath (60 digits).

Pairs: ratios hi/lo from 1 to 1e12 at three scales, gaps of 1 ulp, relative gaps 1e-9 and 1e-4,
exact ties; float32 and float64. Measured worst relative error: ≤ 2 eps for every closed form,
≤ 7 eps (relative to max(|K|, |f'| at the ends)) for the generic quadrature/divided-difference
choice. Bounds: 8 eps and 32 eps. The previous ``atanh`` form of log/pow gave NaN at ratio 1e8 in
float32 and 1–4 % errors from 1e6.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from geomrep.linalg import spectral as sp

mpmath.mp.dps = 60
DTYPES = [torch.float32, torch.float64]


def _pairs(dtype):
    scales = [1.0, 1e-20, 1e20] if dtype == torch.float64 else [1.0, 1e-15, 1e15]
    out = [(s, s / r) for s in scales for r in np.logspace(0, 12, 25)]
    for x in [1e-8, 0.3, 1.0, 7e5]:
        xt = torch.tensor(x, dtype=dtype)
        out.append((float(torch.nextafter(xt, torch.tensor(math.inf, dtype=dtype))), float(xt)))  # 1 ulp
        out.append((float(xt * (1 + 1e-9)), float(xt)))
        out.append((float(xt * (1 + 1e-4)), float(xt)))
        out.append((float(xt), float(xt)))  # exact tie
    return out


def _ref(f, df, a, b):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    return df(a) if a == b else (f(a) - f(b)) / (a - b)


def _pow(p):
    P = mpmath.mpf(p)
    return (
        lambda x: x**P,
        lambda x: P * x ** (P - 1),
        lambda L: sp._pow_value(L, p),
        lambda L, F: sp._pow_dd(L, F, p),
    )


CLOSED = {
    "log": (mpmath.log, lambda x: 1 / x, sp._log_value, sp._log_dd),
    "sqrt": (mpmath.sqrt, lambda x: 1 / (2 * mpmath.sqrt(x)), sp._sqrt_value, sp._sqrt_dd),
    "invsqrt": (
        lambda x: 1 / mpmath.sqrt(x),
        lambda x: -(x ** mpmath.mpf(-1.5)) / 2,
        sp._invsqrt_value,
        sp._invsqrt_dd,
    ),
    **{f"pow{p}": _pow(p) for p in (0.37, -1.5, 2.5, -0.5, 3.0)},
}


def _check(dtype, pairs, f, df, value, dd, bound, *, scale_by_ends=False):
    eps = float(torch.finfo(dtype).eps)
    worst, where = 0.0, None
    for a, b in pairs:
        L = torch.tensor([a, b], dtype=dtype)
        a_, b_ = float(L[0]), float(L[1])
        K = dd(L, value(L))
        r = _ref(f, df, a_, b_)
        if not (float(torch.finfo(dtype).tiny) < abs(r) < float(torch.finfo(dtype).max)):
            continue  # the true value is not representable in this dtype
        denom = abs(r)
        if scale_by_ends:
            denom = max(denom, abs(df(mpmath.mpf(a_))), abs(df(mpmath.mpf(b_))))
        for k in (float(K[0, 1]), float(K[1, 0])):
            e = float(abs(mpmath.mpf(k) - r) / denom) if math.isfinite(k) else math.inf
            if e > worst:
                worst, where = e, (a_, b_, k, float(r))
    assert worst <= bound * eps, (worst / eps, where)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CLOSED))
def test_closed_forms_vs_mpmath(name, dtype):
    _check(dtype, _pairs(dtype), *CLOSED[name], bound=8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_vs_mpmath(dtype):
    tops = (-50.0, -1.0, 0.0, 1e-20, 1.0, 30.0, 80.0)
    pairs = [(a, a - d) for a in tops for d in (0, 1e-12, 1e-6, 0.5, 1, 2, 10, 100)]
    _check(dtype, pairs, mpmath.exp, mpmath.exp, sp._exp_value, sp._exp_dd, bound=8)


GENERIC = {
    "sin": (mpmath.sin, mpmath.cos, torch.sin, torch.cos),
    "exp": (mpmath.exp, mpmath.exp, torch.exp, torch.exp),
    "log": (mpmath.log, lambda x: 1 / x, torch.log, torch.reciprocal),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(GENERIC))
def test_generic_vs_mpmath(name, dtype):
    f, df, tf, tdf = GENERIC[name]
    pairs = [(a, b) for a, b in _pairs(dtype) if name == "log" or a <= 100]
    pairs += [(1e-20, -1e-20), (3.0, -2.0)] if name != "log" else []
    _check(dtype, pairs, f, df, tf, lambda L, F: sp._generic_dd(L, F, tdf), bound=32, scale_by_ends=True)


@pytest.mark.parametrize("p", [None, 0.5, -1.0])
def test_float32_backward_at_ratio_1e8(p):
    """The issue's trigger (CovPool → LogEig, one quiet channel): diag(1, 1e-8) in float32."""
    from geomrep.linalg import logm, powm

    A = torch.diag(torch.tensor([1.0, 1e-8])).requires_grad_()
    G = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    fn = logm if p is None else (lambda X: powm(X, p))
    ((fn(A) * G).sum()).backward()
    a, b = mpmath.mpf(1.0), mpmath.mpf(float(torch.tensor(1e-8)))
    if p is None:
        K = (mpmath.log(a) - mpmath.log(b)) / (a - b)
    else:
        K = (a ** mpmath.mpf(p) - b ** mpmath.mpf(p)) / (a - b)
    # grad = U (K ∘ Uᵀ sym(G) U) Uᵀ with U = I: off-diagonal entries K·1
    assert torch.isfinite(A.grad).all()
    assert abs(float(A.grad[0, 1]) - float(K)) <= 4 * 1.2e-7 * abs(float(K))
