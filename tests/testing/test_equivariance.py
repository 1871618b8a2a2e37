import pytest
import torch
from e3nn import o3

from geomrep.testing import (
    TOLERANCE,
    assert_equivariant,
    assert_invariant,
    congruence_action,
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


def test_closure_over_float32_falls_back():
    w = torch.randn(4, 4)
    w = w + w.T

    def f(x):
        return x @ w  # float32 closure: float64 inputs raise, so the float32 path is used

    x = torch.randn(2, 4)
    with pytest.raises(AssertionError, match="float32"):
        assert_equivariant(
            f,
            (x,),
            (permutation_action(1),),
            permutation_action(1),
            group_sampler=lambda: random_permutation(4),
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
