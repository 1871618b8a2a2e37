"""One validation policy for every matrix argument of the spd functions (issue #17, items 9, 16, 18)."""

import pytest
import torch

from geomrep.manifolds.spd import (
    bw_distance,
    bw_exp,
    bw_geodesic,
    bw_inner,
    bw_log,
    bw_mean,
    gbw_congruence,
    gbw_distance,
    gbw_exp,
    gbw_geodesic,
    gbw_inner,
    gbw_log,
)

from ._helpers import random_spd, random_sym

n = 3
I64 = torch.eye(n, dtype=torch.float64)
NONSYM = torch.triu(torch.ones(n, n, dtype=torch.float64)) + 2 * I64  # SPD-looking but clearly asymmetric


def _calls(bad, slot):
    """Each public function with ``bad`` in argument ``slot`` (everything else valid)."""
    P, X, M = random_spd(n=n, seed=1), random_spd(n=n, seed=2), random_spd(n=n, seed=3)
    U = random_sym(n=n, seed=4)
    table = {
        "bw_distance": (lambda a: bw_distance(*a), [X, P], ["X", "Y"]),
        "bw_log": (lambda a: bw_log(*a), [P, X], ["P", "X"]),
        "bw_geodesic": (lambda a: bw_geodesic(a[0], a[1], 0.3), [P, X], ["A", "B"]),
        "bw_inner": (lambda a: bw_inner(*a), [P, U, U], ["P", "U", "V"]),
        "bw_exp": (lambda a: bw_exp(*a), [P, U], ["P", "V"]),
        "gbw_distance": (lambda a: gbw_distance(*a), [X, P, M], ["X", "Y", "M"]),
        "gbw_log": (lambda a: gbw_log(*a), [P, X, M], ["P", "X", "M"]),
        "gbw_exp": (lambda a: gbw_exp(*a), [P, U, M], ["P", "V", "M"]),
        "gbw_geodesic": (lambda a: gbw_geodesic(a[0], a[1], 0.3, a[2]), [P, X, M], ["A", "B", "M"]),
        "gbw_inner": (lambda a: gbw_inner(*a), [P, U, U, M], ["P", "U", "V", "M"]),
        "gbw_congruence": (lambda a: gbw_congruence(*a), [U, M], ["X", "M"]),
    }
    out = []
    for name, (fn, args, names) in table.items():
        for i, arg_name in enumerate(names):
            if slot == "all" or i == slot:
                a = list(args)
                a[i] = bad
                out.append(pytest.param(fn, a, arg_name, id=f"{name}-{arg_name}"))
    return out


@pytest.mark.parametrize("fn,args,name", _calls(NONSYM, "all"))
def test_every_argument_rejects_a_clearly_non_symmetric_matrix(fn, args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be symmetric"):
        fn(args)


@pytest.mark.parametrize("fn,args,name", _calls(torch.full((n, n), float("nan"), dtype=torch.float64), "all"))
def test_every_argument_rejects_nan(fn, args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be finite; {name} contains NaN"):
        fn(args)


@pytest.mark.parametrize("fn,args,name", _calls(torch.ones(n, n, dtype=torch.float32), "all"))
def test_dtype_mismatch_is_a_type_error(fn, args, name):
    with pytest.raises(TypeError, match=name):
        fn(args)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex128, torch.float16, torch.bfloat16])
def test_non_float32_64_dtypes_are_type_errors(dtype):
    bad = torch.eye(n).to(dtype)
    with pytest.raises(TypeError, match="X must have dtype float32 or float64"):
        bw_distance(bad, bad)
    with pytest.raises(TypeError, match="Y must have dtype"):
        bw_distance(I64, bad)


def test_errors_name_the_users_argument_and_report_its_own_eigenvalue():
    """bw_distance(X, -I) used to say "A must be positive semidefinite; found an eigenvalue -7.09"."""
    X = 4 * I64
    psd = "must be symmetric positive semidefinite"
    with pytest.raises(ValueError, match=rf"^Y {psd}; Y has smallest eigenvalue -1$"):
        bw_distance(X, -I64)
    Y = torch.stack([I64, I64, torch.diag(torch.tensor([2.0, -0.5, 1.0], dtype=torch.float64))])
    with pytest.raises(ValueError, match=r"Y\[2\] has smallest eigenvalue -0.5"):
        bw_distance(X, Y)
    pd = "must be symmetric positive definite"
    with pytest.raises(ValueError, match=rf"^P {pd}; P has smallest eigenvalue -3"):
        bw_log(-3 * I64, X)
    with pytest.raises(ValueError, match=rf"^M {pd}; M has smallest eigenvalue -2"):
        gbw_distance(X, X, -2 * I64)
    with pytest.raises(ValueError, match=rf"^init {pd}; init has smallest eigenvalue -1"):  # the means too
        bw_mean(torch.stack([I64, I64]), init=-I64)


def test_psd_arguments_accept_singular_and_zero_matrices_spd_arguments_do_not():
    Z = torch.zeros(n, n, dtype=torch.float64)
    X = random_spd(n=n, seed=5)
    d2 = bw_distance(Z, X, squared=True)  # d²(0, X) = tr X
    torch.testing.assert_close(d2, torch.trace(X), rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="P must be symmetric positive definite"):
        bw_log(Z, X)
    with pytest.raises(ValueError, match="A must be symmetric positive definite"):
        bw_geodesic(Z, X, 0.5)


@pytest.mark.parametrize("scale", [1e30, 1e-30, 1e18, 1e-18])
def test_float32_extreme_scales_are_finite_and_homogeneous(scale):
    """Finite float32 inputs far from 1 are accepted (no Frobenius overflow) and d(cX, cY) = √c d(X, Y)."""
    X = random_spd(n=n, cond=10.0, seed=6, dtype=torch.float32)
    Y = random_spd(n=n, cond=10.0, seed=7, dtype=torch.float32)
    d = bw_distance(X, Y, squared=True)
    ds = bw_distance(scale * X, scale * Y, squared=True)
    torch.testing.assert_close(ds / scale, d, rtol=2e-5, atol=0)
    L = bw_log(X, Y)
    torch.testing.assert_close(bw_log(scale * X, scale * Y) / scale, L, rtol=1e-4, atol=1e-5)
    G = bw_geodesic(X, Y, 0.3)
    torch.testing.assert_close(bw_geodesic(scale * X, scale * Y, 0.3) / scale, G, rtol=1e-4, atol=1e-6)
    U = random_sym(n=n, seed=8, dtype=torch.float32)
    E = bw_exp(X, 0.1 * U)
    torch.testing.assert_close(bw_exp(scale * X, 0.1 * scale * U) / scale, E, rtol=1e-4, atol=1e-6)
    g = bw_inner(X, U, U)
    torch.testing.assert_close(bw_inner(scale * X, scale * U, scale * U) / scale, g, rtol=1e-4, atol=0)


def test_geodesic_parameter_validation():
    X = random_spd(n=n, seed=9)
    with pytest.raises(TypeError, match="t must be"):
        bw_geodesic(X, X, "0.5")
    with pytest.raises(TypeError, match="t must be"):
        bw_geodesic(X, X, True)
    with pytest.raises(ValueError, match="t must be finite"):
        bw_geodesic(X, X, float("nan"))
