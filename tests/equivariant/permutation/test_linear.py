"""PermutationEquivariantLinear: equivariance (geomrep.testing), masks, gradients, compile, state_dict."""

import copy
import functools

import pytest
import torch

from geomrep.equivariant.permutation import (
    PermutationEquivariantLinear,
    equivariant_basis_size,
    permutation_equivariant_linear,
)
from geomrep.testing import (
    assert_compiles,
    assert_equivariant,
    assert_gradcheck,
    equivariance_error,
    permutation_action,
    permutation_parity,
    random_permutation,
)

CONFIGS = [(5, 2, 2), (4, 1, 2), (3, 2, 1), (4, 3, 0), (6, 0, 2), (2, 2, 2), (7, 1, 1), (1, 2, 1), (3, 0, 0)]


def _layer(n, k, l, group, dtype=torch.float64, **kw):  # noqa: E741
    torch.manual_seed(0)
    layer = PermutationEquivariantLinear(n, k, l, 3, 4, group=group, dtype=dtype, **kw)
    with torch.no_grad():  # generic weights and biases (the bias is zero at init)
        layer.weight.normal_()
        if layer.bias is not None:
            layer.bias.normal_()
    return layer


def _odd(n):
    g = random_permutation(n)
    if permutation_parity(g) == 0:
        g[[0, 1]] = g[[1, 0]]
    return g


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("group", ["symmetric", "alternating"])
@pytest.mark.parametrize(("n", "k", "l"), CONFIGS)
def test_equivariant_under_group(n, k, l, group, dtype):  # noqa: E741
    layer = _layer(n, k, l, group, dtype=dtype)
    x = torch.randn(2, 3, *[n] * k, dtype=dtype)
    sampler = functools.partial(random_permutation, n, even=group == "alternating")
    assert_equivariant(
        layer, x, permutation_action(k), permutation_action(l), group_sampler=sampler, trials=4, dtype=None
    )


@pytest.mark.parametrize(("n", "k", "l"), [(3, 1, 1), (4, 2, 1), (5, 2, 2), (4, 0, 3), (2, 1, 0)])
def test_odd_permutation_breaks_generic_alternating_layer(n, k, l):  # noqa: E741
    """Where A_n has extra maps, a generic A_n layer is not S_n-equivariant (the test can fail)."""
    assert equivariant_basis_size(n, k, l, "alternating") > equivariant_basis_size(n, k, l)
    layer = _layer(n, k, l, "alternating")
    x = torch.randn(2, 3, *[n] * k, dtype=torch.float64)
    res = equivariance_error(
        layer, x, permutation_action(k), permutation_action(l), group_sampler=lambda: _odd(n), trials=3
    )
    assert min(res["errors"]) > 1e-2 * res["scale"]
    # ... while the same layer with only the S_n weights is S_n-equivariant
    extra = torch.tensor([d.kind != "partition" for d in layer.diagrams])
    with torch.no_grad():
        layer.weight[:, :, extra] = 0
        if layer.bias is not None:
            layer.bias[:, torch.tensor([d.kind != "partition" for d in layer.bias_diagrams])] = 0
    assert_equivariant(layer, x, permutation_action(k), permutation_action(l), group_sampler=lambda: _odd(n))


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("group", ["symmetric", "alternating"])
@pytest.mark.parametrize(("k", "l"), [(2, 2), (1, 2), (2, 0), (0, 2), (1, 1), (3, 1)])
def test_padded_batch_equals_sets_one_by_one(k, l, group, normalize):  # noqa: E741
    n = 5
    layer = _layer(n, k, l, group, normalize=normalize)
    sizes = [5, 2, 4, 1]  # the full-size set also exercises the A_n extras
    xs = [torch.randn(1, 3, *[s] * k, dtype=torch.float64) for s in sizes]
    padded = torch.full((len(sizes), 3, *[n] * k), float("nan"), dtype=torch.float64)  # never read
    mask = torch.zeros(len(sizes), n, dtype=torch.bool)
    for b, (s, x) in enumerate(zip(sizes, xs)):
        padded[(b, slice(None), *[slice(0, s)] * k)] = x[0]
        mask[b, :s] = True
    padded = torch.where(torch.isnan(padded), torch.full_like(padded, 1e3), padded)
    y = layer(padded, mask)
    for b, (s, x) in enumerate(zip(sizes, xs)):
        single = layer(x, mask[b : b + 1, :s]) if k == 0 else layer(x)
        region = (b, slice(None), *[slice(0, s)] * l)
        torch.testing.assert_close(y[region], single[0], rtol=1e-12, atol=1e-12)
        written = torch.zeros_like(y[b], dtype=torch.bool)
        written[(slice(None), *[slice(0, s)] * l)] = True
        assert torch.all(y[b][~written] == 0)  # padded entries are not written


def test_alternating_extras_only_for_full_sets():
    """A set of size n' < n gets exactly the S_n part of the layer."""
    layer = _layer(4, 2, 1, "alternating")
    sym = PermutationEquivariantLinear(4, 2, 1, 3, 4, dtype=torch.float64)
    keep = torch.tensor([d.kind == "partition" for d in layer.diagrams])
    with torch.no_grad():
        sym.weight.copy_(layer.weight[:, :, keep])
        sym.bias.copy_(layer.bias[:, torch.tensor([d.kind == "partition" for d in layer.bias_diagrams])])
    x = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), sym(x))
    x4 = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    assert (layer(x4) - sym(x4)).abs().max() > 1e-3


def test_true_basis_when_n_below_k_plus_l():
    for n, group, expected in [
        (1, "symmetric", 1),
        (2, "symmetric", 8),
        (2, "alternating", 16),
        (3, "alternating", 14 + 6 + 7),
    ]:
        layer = PermutationEquivariantLinear(n, 2, 2, 1, 1, group=group, bias=False)
        assert layer.weight.numel() == expected == layer.num_basis


def test_gradcheck_input_weight_bias():
    gen = torch.Generator().manual_seed(0)
    for n, k, l, group in [(3, 2, 2, "alternating"), (4, 1, 2, "symmetric"), (3, 2, 0, "alternating")]:  # noqa: E741
        x = torch.randn(2, 2, *[n] * k, generator=gen, dtype=torch.float64)
        w = torch.randn(2, 2, equivariant_basis_size(n, k, l, group), generator=gen, dtype=torch.float64)
        b = torch.randn(2, equivariant_basis_size(n, 0, l, group), generator=gen, dtype=torch.float64)
        mask = torch.tensor([[True] * n, [True] * (n - 1) + [False]])

        def fn(x_, w_, b_, n=n, k=k, l=l, group=group, mask=mask):  # noqa: E741
            return permutation_equivariant_linear(
                x_, w_, b_, n=n, k=k, l=l, group=group, mask=mask, normalize=True
            )

        assert_gradcheck(fn, (x, w, b))


def test_compile_matches_eager():
    layer = _layer(5, 2, 2, "alternating", dtype=torch.float32)
    x = torch.randn(3, 3, 5, 5)
    assert_compiles(layer, x, backend="aot_eager", fullgraph=True)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] * 4 + [False]])
    assert_compiles(lambda a, m: layer(a, m), x, mask, backend="aot_eager", fullgraph=True)


def test_state_dict_round_trip_and_dtypes():
    layer = _layer(4, 2, 2, "alternating", dtype=torch.float32)
    other = PermutationEquivariantLinear(4, 2, 2, 3, 4, group="alternating")
    other.load_state_dict(copy.deepcopy(layer.state_dict()))
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(other(x), layer(x))
    assert set(layer.state_dict()) == {"weight", "bias"}
    y32 = layer(x)
    y64 = layer.double()(x.double())
    assert y32.dtype == torch.float32 and y64.dtype == torch.float64
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)


def test_empty_batch_and_empty_sets():
    for group in ("symmetric", "alternating"):
        out = _layer(4, 2, 1, group)(torch.zeros(0, 3, 4, 4, dtype=torch.float64))
        assert out.shape == (0, 4, 4)
    layer = _layer(4, 2, 1, "symmetric")
    mask = torch.zeros(2, 4, dtype=torch.bool)  # two empty (fully padded) sets
    out = layer(torch.randn(2, 3, 4, 4, dtype=torch.float64), mask)
    assert out.shape == (2, 4, 4) and torch.all(out == 0)
    norm = _layer(4, 2, 0, "symmetric", normalize=True)
    assert torch.isfinite(norm(torch.randn(2, 3, 4, 4, dtype=torch.float64), mask)).all()


def test_output_is_contiguous_for_broadcast_only_maps():
    layer = PermutationEquivariantLinear(4, 0, 2, 1, 2)
    out = layer(torch.randn(3, 1))
    assert out.shape == (3, 2, 4, 4) and out.is_contiguous()
    out.add_(1.0)  # a real tensor, not an expanded view


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 3.0}, TypeError, "n must be an int"),
        ({"k": -1}, ValueError, "k must be >= 0"),
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"out_channels": 2.5}, TypeError, "out_channels"),
        ({"group": "dihedral"}, ValueError, "group"),
        ({"bias": 1}, TypeError, "bias"),
        ({"k": 7, "l": 6}, ValueError, "k \\+ l"),
        ({"dtype": torch.int64}, TypeError, "dtype"),
    ],
)
def test_constructor_validation(kwargs, exc, match):
    args = {"n": 4, "k": 2, "l": 2, "in_channels": 3, "out_channels": 2, **kwargs}
    with pytest.raises(exc, match=match):
        PermutationEquivariantLinear(**args)


def test_forward_validation():
    layer = PermutationEquivariantLinear(4, 2, 1, 3, 2)
    with pytest.raises(TypeError, match="x must be a floating"):
        layer(torch.ones(2, 3, 4, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        layer([[1.0]])
    with pytest.raises(ValueError, match="x must have shape"):
        layer(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="x has 4 channels"):
        layer(torch.randn(2, 4, 4, 4))  # wrong channel count
    with pytest.raises(ValueError, match="last 2 dims"):
        layer(torch.randn(2, 3, 4, 3))
    with pytest.raises(ValueError, match="exceeds n=4"):
        layer(torch.randn(2, 3, 5, 5))
    with pytest.raises(TypeError, match="mask must have dtype torch.bool"):
        layer(torch.randn(2, 3, 4, 4), torch.ones(2, 4))
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(torch.randn(2, 3, 4, 4), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="weight dtype"):
        layer(torch.randn(2, 3, 4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="weight must have shape"):
        permutation_equivariant_linear(torch.randn(2, 3, 4, 4), torch.randn(2, 3, 14), n=4, k=2, l=2)
    with pytest.raises(ValueError, match="bias must have shape"):
        permutation_equivariant_linear(
            torch.randn(2, 3, 4, 4), torch.randn(2, 3, 15), torch.randn(2, 3), n=4, k=2, l=2
        )
