import functools
import threading

import pytest
import torch
from e3nn import o3

from geomrep.testing import (
    TOLERANCE,
    assert_equivariant,
    assert_invariant,
    congruence_action,
    equivariance_error,
    irreps_action,
    permutation_action,
    random_orthogonal,
    random_permutation,
    random_rotation,
    rotation_action,
    tolerance,
)


def test_spherical_harmonics_equivariant_float64():
    torch.manual_seed(0)  # deterministic under any test order (xdist)
    irreps = o3.Irreps.spherical_harmonics(4)
    x = torch.randn(10, 3)
    err = assert_equivariant(
        lambda v: o3.spherical_harmonics(irreps, v, normalize=True),
        (x,),
        (rotation_action,),
        irreps_action(irreps),
        group_sampler=random_rotation,
    )
    # evaluated in float64: far below float32 rounding (~1e-7). Not 1e-12: e3nn's D_from_matrix extracts
    # Euler angles with acos/atan2, which loses digits near gimbal lock (up to ~1e-10 over 200 seeds).
    assert err < 1e-9


def test_catches_non_equivariant_function():
    x = torch.randn(6, 3)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(
            lambda v: v**2, (x,), (rotation_action,), rotation_action, group_sampler=random_rotation
        )


def test_catches_small_violation_in_float64_but_not_in_float32():
    x = torch.randn(6, 3, dtype=torch.float64)

    def almost(v):  # equivariant up to a 1e-6 perturbation of the x coordinate
        return v + 1e-6 * v[..., :1] ** 2

    with pytest.raises(AssertionError):
        assert_equivariant(almost, (x,), (rotation_action,), rotation_action, group_sampler=random_rotation)
    # with explicit loose tolerances it passes: the tolerances are honoured
    assert_equivariant(
        almost, (x,), (rotation_action,), rotation_action, group_sampler=random_rotation, atol=1e-4
    )


def test_catches_non_invariant_and_nan():
    x = torch.randn(5, 3)
    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(lambda v: v.sum(), (x,), (rotation_action,), group_sampler=random_rotation)
    with pytest.raises(AssertionError):
        assert_invariant(
            lambda v: v.norm() * float("nan"), (x,), (rotation_action,), group_sampler=random_rotation
        )


def test_module_is_promoted_to_float64():
    lin = torch.nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(4) * 2.5)  # scalar multiple of I commutes with permutations
    x = torch.randn(3, 4)
    g_sampler = lambda: random_permutation(4)  # noqa: E731
    err = assert_equivariant(
        lin, (x,), (permutation_action(1),), permutation_action(1), group_sampler=g_sampler
    )
    assert err == 0.0
    assert lin.weight.dtype == torch.float32  # the original module is untouched


def _symmetric_linear(dtype=torch.float32):
    """A permutation-equivariant layer (weight a·I + b·11ᵀ) held in ``dtype``."""
    lin = torch.nn.Linear(4, 4, bias=False).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(2.5 * torch.eye(4) + 0.5 * torch.ones(4, 4))
    return lin


def _perm_check(fn, x, **kwargs):
    return assert_equivariant(
        fn,
        (x,),
        (permutation_action(1),),
        permutation_action(1),
        group_sampler=lambda: random_permutation(4),
        **kwargs,
    )


def test_closure_over_float32_module_is_promoted_and_a_1e4_leak_fails():
    """(a) A closure over a float32 module used to fall back to float32 tolerance: a 1e-4 leak passed."""
    lin = _symmetric_linear()
    x = torch.randn(6, 4)

    def correct(v):
        return lin(v)

    def leaky(v):  # breaks permutation equivariance at the 1e-4 level
        return lin(v) + 1e-4 * v[..., :1]

    assert _perm_check(correct, x) < 1e-14  # float64: only the summation order differs
    with pytest.raises(AssertionError, match=r"judged in torch\.float64"):
        _perm_check(leaky, x)
    assert lin.weight.dtype == torch.float32  # the user's module is untouched
    partial = functools.partial(lambda layer, v: layer(v) + 1e-4 * v[..., :1], lin)
    with pytest.raises(AssertionError, match="not equivariant"):
        _perm_check(partial, x)
    with pytest.raises(AssertionError, match="not equivariant"):  # a bound method of the module
        _perm_check(_LeakyForward(lin).leaky, x)


_GLOBAL_LAYER = _symmetric_linear()  # a module-level float32 layer, read by the functions below


def _global_correct(v):
    return _GLOBAL_LAYER(v)


def _global_leaky(v):
    return _GLOBAL_LAYER(v) + 1e-4 * v[..., :1]


def test_module_level_float32_layer_is_promoted_too(recwarn):
    x = torch.randn(6, 4)
    assert _perm_check(_global_correct, x) < 1e-14
    with pytest.raises(AssertionError, match=r"judged in torch\.float64"):
        _perm_check(_global_leaky, x)
    assert not [w for w in recwarn if "equivariance check" in str(w.message)]  # no fallback needed
    assert _GLOBAL_LAYER.weight.dtype == torch.float32 and globals()["_GLOBAL_LAYER"] is _GLOBAL_LAYER


class _LeakyForward(torch.nn.Module):
    def __init__(self, lin):
        super().__init__()
        self.lin = lin

    def leaky(self, v):
        return self.lin(v) + 1e-4 * v[..., :1]


def test_float32_constants_are_judged_at_their_rounding_not_at_float64():
    """A function whose *constants* are float32 is exact only to their rounding (here R₀ᵀR₀ ≠ I by ~1e-7):
    promoted to float64 it is judged with ROUNDED_CONSTANTS, which still catches a 1e-4 leak."""
    r0 = random_rotation(torch.float32, generator=torch.Generator().manual_seed(0))
    m = r0.T @ r0  # float32: identity up to rounding
    x = torch.randn(8, 3)

    def almost_identity(v):
        return v @ m

    r = equivariance_error(
        almost_identity, (x,), (rotation_action,), rotation_action, group_sampler=random_rotation
    )
    assert r["dtype"] == torch.float64 and r["rounded_constants"] == {torch.float32}
    assert 1e-9 < r["error"] / r["scale"] < 1e-6  # visible in float64, at float32 rounding level
    err = assert_equivariant(
        almost_identity, (x,), (rotation_action,), rotation_action, group_sampler=random_rotation
    )
    assert err < 1e-6 * r["scale"]
    with pytest.raises(AssertionError, match="constants rounded to torch.float32"):
        assert_equivariant(
            lambda v: v @ m + 1e-4 * v[..., :1] ** 2,
            (x,),
            (rotation_action,),
            rotation_action,
            group_sampler=random_rotation,
        )


def test_e3nn_module_built_in_float32_is_not_failed_in_float64():
    """e3nn stores its 3j tables in the default dtype: .double() cannot restore their digits."""
    tp = o3.FullyConnectedTensorProduct("2x1o+1x2e+1x3o", "1x1o+1x2e", "2x0e+2x1e+1x2e+1x3o+1x4e")
    x1, x2 = torch.randn(5, tp.irreps_in1.dim), torch.randn(5, tp.irreps_in2.dim)
    args = (
        (x1, x2),
        (irreps_action(tp.irreps_in1), irreps_action(tp.irreps_in2)),
        irreps_action(tp.irreps_out),
    )
    r = equivariance_error(tp, *args, group_sampler=random_rotation, trials=4)
    assert torch.float32 in r["rounded_constants"]
    assert r["error"] < 1e-6 * r["scale"]  # measured ~1e-8 relative
    assert_equivariant(tp, *args, group_sampler=random_rotation, trials=4)


def test_judged_in_the_output_dtype_not_the_input_dtype():
    """(b) A correct function computing in float32 on float64 inputs used to fail at float64 tolerance."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    X = a @ a.T / 6 + torch.eye(6, dtype=torch.float64)

    def f32(X):
        Y = X.float()
        return torch.linalg.matrix_exp(Y) + Y @ Y  # congruence-equivariant, computed in float32

    sampler = lambda dtype=None: random_orthogonal(6, dtype=dtype, generator=g)  # noqa: E731
    r = equivariance_error(f32, (X,), (congruence_action,), congruence_action, group_sampler=sampler)
    assert r["dtype"] == torch.float32 and r["evaluated_dtype"] == torch.float64
    assert r["error"] > TOLERANCE[torch.float64].rtol * r["scale"]  # would fail at float64 tolerance
    assert_equivariant(f32, (X,), (congruence_action,), congruence_action, group_sampler=sampler)
    with pytest.raises(
        AssertionError, match=r"judged in torch\.float32 \(the outputs' dtype; inputs evaluated"
    ):
        assert_equivariant(
            lambda X: f32(X) + 1e-2 * X.float()[..., :1, :1],
            (X,),
            (congruence_action,),
            congruence_action,
            group_sampler=sampler,
        )


def test_any_promotion_error_falls_back_with_a_warning():
    """(c) A TypeError (or a module that cannot be deep-copied) used to escape instead of falling back."""
    x = torch.randn(6, 4)

    def picky(v):
        if v.dtype != torch.float32:
            raise TypeError("float32 only")
        return 3.0 * v

    with pytest.warns(UserWarning, match="raised TypeError: float32 only"):
        assert _perm_check(picky, x) == 0.0
    with pytest.warns(UserWarning, match="float32 only"):
        with pytest.raises(AssertionError, match=r"judged in torch\.float32.*float64 evaluation failed"):
            _perm_check(lambda v: picky(v) + 1e-2 * v[..., :1], x)
    locked = _Locked()
    with pytest.warns(UserWarning, match="evaluating fn in torch.float64 raised TypeError"):
        _perm_check(locked, x)
    with pytest.raises(TypeError):  # an explicitly requested dtype does not fall back
        _perm_check(picky, x, dtype=torch.float64)


class _Locked(torch.nn.Module):
    """Equivariant, but holds a lock: ``copy.deepcopy`` raises TypeError."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def forward(self, v):
        return 2.0 * v


def test_no_fallback_warning_for_promotable_functions(recwarn):
    lin = _symmetric_linear()
    _perm_check(lambda v: lin(v), torch.randn(3, 4))
    assert not [w for w in recwarn if "equivariance check" in str(w.message)]


def test_non_floating_outputs_are_judged_exactly():
    x = torch.randn(5, 3, dtype=torch.float64)
    counts = assert_invariant(
        lambda v: (v.norm(dim=-1) < 1e6).sum(), (x,), (rotation_action,), group_sampler=random_rotation
    )
    assert counts == 0.0
    with pytest.raises(AssertionError, match="judged exactly"):
        assert_invariant(
            lambda v: (v[:, 0] > 0).sum(), (x,), (rotation_action,), group_sampler=random_rotation, trials=8
        )


def test_multiple_inputs_and_tuple_outputs():
    X = torch.randn(5, 5, dtype=torch.float64)
    X = X @ X.T + torch.eye(5, dtype=torch.float64)
    Y = torch.randn(5, 5, dtype=torch.float64)
    Y = Y @ Y.T

    def f(a, b, scale):
        return a @ b + b @ a, torch.trace(a @ b) * scale

    err = assert_equivariant(
        f,
        (X, Y, 3.0),
        (congruence_action, congruence_action, None),
        (congruence_action, None),
        group_sampler=lambda dtype=None: random_orthogonal(5, dtype=dtype),
    )
    assert err < 1e-12
    with pytest.raises(ValueError, match="one action"):
        assert_equivariant(f, (X, Y, 3.0), (congruence_action,), None, group_sampler=random_rotation)


def test_tolerance_table():
    assert tolerance(torch.float64).atol < tolerance(torch.float32).atol
    assert set(TOLERANCE) >= {torch.float32, torch.float64}
    with pytest.raises(TypeError):
        tolerance(torch.int32)
