"""Property-based tests of geomrep.testing: the toolkit must neither pass a broken function nor fail a
correct one, whatever dtype the inputs, the state and the outputs have, however the function holds its
module (directly, in a closure, in a partial, as a bound method), at scales 1e±30; samplers reject
non-floating dtypes."""

import functools

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomrep.testing import (
    assert_equivariant,
    equivariance_error,
    permutation_action,
    random_orthogonal,
    random_permutation,
    random_rotation,
    rotation_action,
)

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
HOLDERS = ("module", "closure", "partial", "method")


class _Layer(torch.nn.Module):
    """``y = a·x + b·Σx`` (permutation-equivariant) plus ``leak · x[..., :1]`` (breaks it)."""

    def __init__(self, n, a, b, leak):
        super().__init__()
        self.weight = torch.nn.Parameter(a * torch.eye(n) + b * torch.ones(n, n))
        self.leak = leak

    def forward(self, x):
        return x @ self.weight.T + self.leak * x[..., :1]

    def apply_to(self, x):
        return self(x)


def _moving_zero(n, gen):
    """A random permutation with g[0] ≠ 0 (one that fixes index 0 cannot see the leak x[..., :1])."""
    while True:
        g = random_permutation(n, generator=gen)
        if int(g[0]) != 0:
            return g


def _held(layer, holder):
    if holder == "module":
        return layer
    if holder == "closure":
        return lambda x: layer(x)
    if holder == "partial":
        return functools.partial(lambda m, x: m(x), layer)
    return layer.apply_to


@SETTINGS
@given(
    st.integers(2, 6),
    st.sampled_from((0.0, 1e-4, 1e-2)),
    st.sampled_from(HOLDERS),
    st.sampled_from((torch.float32, torch.float64)),
    st.integers(-30, 30),
    st.sampled_from((1, 5)),
)
def test_permutation_verdict_is_right_for_any_holder_dtype_and_scale(n, leak, holder, dtype, k, rows):
    """Passes iff the leak is 0 (1e-4 relative leaks included), for float32 modules in closures too."""
    gen = torch.Generator().manual_seed(n)
    layer = _Layer(n, 2.0, 0.5, leak).to(dtype)
    x = (10.0**k) * torch.randn(rows, n, generator=gen, dtype=dtype)
    fn = _held(layer, holder)
    kwargs = dict(group_sampler=lambda: _moving_zero(n, gen), trials=2)
    if leak == 0.0:
        err = assert_equivariant(fn, (x,), (permutation_action(1),), permutation_action(1), **kwargs)
        assert err <= 1e-15 * n * float(x.abs().max())  # float64: only the summation order differs
    else:
        with pytest.raises(AssertionError, match=r"not equivariant.*judged in torch\.float64"):
            assert_equivariant(fn, (x,), (permutation_action(1),), permutation_action(1), **kwargs)
    assert layer.weight.dtype == dtype  # never modified in place


@SETTINGS
@given(st.sampled_from(FLOATS), st.sampled_from(FLOATS), st.sampled_from((0, 1, 4)))
def test_judged_in_the_output_dtype(in_dtype, out_dtype, rows):
    """The verdict's dtype is the outputs' (the least precise one), whatever the inputs' dtype."""
    x = torch.randn(rows, 4).to(in_dtype)

    def fn(v):
        return 3.0 * v.to(out_dtype), v.sum(-1, keepdim=True).to(torch.float64)

    r = equivariance_error(
        fn,
        (x,),
        (permutation_action(1),),
        (permutation_action(1), None),
        group_sampler=lambda: random_permutation(4),
    )
    assert r["dtype"] == out_dtype and r["evaluated_dtype"] == torch.float64
    assert r["fallback"] is None and r["error"] <= 1e-12 * max(r["scale"], 1.0)


@SETTINGS
@given(st.integers(-30, 30), st.sampled_from((0.0, 1e-4)), st.sampled_from((torch.float32, torch.float64)))
def test_rotation_verdict_at_scales_1e_pm30(k, leak, dtype):
    """``v ↦ |v|² v`` is rotation-equivariant at any scale (relative tolerance); a 1e-4 leak is not."""
    s = 10.0**k
    x = s * torch.randn(6, 3, dtype=dtype)

    def f(v):
        return v * (v / s).pow(2).sum(-1, keepdim=True) + leak * v[..., :1]

    args = ((x,), (rotation_action,), rotation_action)
    if leak:
        with pytest.raises(AssertionError, match="not equivariant"):
            assert_equivariant(f, *args, group_sampler=random_rotation)
    else:
        err = assert_equivariant(f, *args, group_sampler=random_rotation)
        assert err <= 1e-12 * s * 30  # float64 rounding of outputs of size ~s


@SETTINGS
@given(
    st.sampled_from((torch.int8, torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64)),
    st.integers(1, 5),
)
def test_samplers_reject_non_floating_dtypes(dtype, n):
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        random_rotation(dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        random_orthogonal(n, dtype=dtype)


@SETTINGS
@given(st.integers(1, 8), st.sampled_from(FLOATS))
def test_random_orthogonal_is_orthogonal_in_any_float_dtype(n, dtype):
    q = random_orthogonal(n, dtype=dtype)
    assert q.dtype == dtype and q.shape == (n, n)
    err = float((q.double() @ q.double().T - torch.eye(n, dtype=torch.float64)).abs().max())
    assert err <= 4 * n * torch.finfo(dtype).eps  # float64 QR rounded once to dtype
