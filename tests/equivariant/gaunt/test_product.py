"""gaunt_product vs the dense c·3j reference, vs e3nn TensorProduct, and the defining product property."""

import math

import pytest
import torch
from e3nn import o3

from geomrep.equivariant.gaunt import gaunt_constant, gaunt_paths, gaunt_product, gaunt_tensor
from geomrep.testing import assert_compiles, assert_gradcheck

SAMPLED = ["grid", "fft"]


def _rand(n, lmax, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, (lmax + 1) ** 2, generator=g, dtype=dtype)


@pytest.mark.parametrize("backend", SAMPLED)
@pytest.mark.parametrize("lmax", list(range(13)))
def test_equals_dense_reference_every_degree(backend, lmax):
    x1, x2 = _rand(4, lmax, seed=lmax), _rand(4, lmax, seed=100 + lmax)
    ref = gaunt_product(x1, x2, lmax, lmax, lmax, backend="dense")
    out = gaunt_product(x1, x2, lmax, lmax, lmax, backend=backend)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", SAMPLED)
@pytest.mark.parametrize(
    "degrees", [(0, 3, 3), (3, 0, 2), (5, 2, 7), (2, 5, 1), (4, 3, 0), (6, 6, 12), (1, 7, 9)]
)
def test_mixed_degrees(backend, degrees):
    x1, x2 = _rand(3, degrees[0], seed=1), _rand(3, degrees[1], seed=2)
    ref = gaunt_product(x1, x2, *degrees, backend="dense")
    torch.testing.assert_close(gaunt_product(x1, x2, *degrees, backend=backend), ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", SAMPLED + ["dense"])
def test_product_of_functions(backend):
    """SH coefficients of f1·f2 evaluated with e3nn's spherical harmonics at random points."""
    l1, l2 = 5, 6
    x1, x2 = _rand(2, l1, seed=3), _rand(2, l2, seed=4)
    y = gaunt_product(x1, x2, l1, l2, l1 + l2, backend=backend)
    pts = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def evaluate(c, lmax):
        sh = o3.spherical_harmonics(list(range(lmax + 1)), pts, normalize=True, normalization="integral")
        return c @ sh.T

    torch.testing.assert_close(evaluate(y, l1 + l2), evaluate(x1, l1) * evaluate(x2, l2), atol=1e-11, rtol=0)


def test_equals_e3nn_tensor_product_on_gaunt_paths():
    lmax = 3
    irreps = o3.Irreps([(1, (l, (-1) ** l)) for l in range(lmax + 1)])
    paths = gaunt_paths(lmax, lmax, lmax)
    # e3nn scales a path by sqrt(path_weight): the Gaunt constant enters squared
    instr = [(l1, l2, l3, "uuu", False, gaunt_constant(l1, l2, l3) ** 2) for l1, l2, l3 in paths]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its 3j buffers in the default dtype
    try:
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
    finally:
        torch.set_default_dtype(previous)
    x1, x2 = _rand(6, lmax, seed=7), _rand(6, lmax, seed=8)
    torch.testing.assert_close(gaunt_product(x1, x2, lmax, lmax, lmax), tp(x1, x2), atol=1e-13, rtol=0)


@pytest.mark.parametrize("backend", SAMPLED)
def test_float32_relative_accuracy(backend):
    lmax = 12
    x1, x2 = _rand(16, lmax, seed=9), _rand(16, lmax, seed=10)
    ref = gaunt_product(x1, x2, lmax, lmax, lmax, backend="dense")
    out = gaunt_product(x1.float(), x2.float(), lmax, lmax, lmax, backend=backend)
    assert out.dtype == torch.float32
    rel = (out.double() - ref).norm() / ref.norm()
    assert rel < 1e-5


def test_broadcasting_and_shapes():
    x1 = _rand(5, 2).reshape(5, 1, 9)
    x2 = _rand(3, 1).reshape(1, 3, 4)
    out = gaunt_product(x1, x2, 2, 1, 3)
    assert out.shape == (5, 3, 16)
    ref = gaunt_product(x1.expand(5, 3, 9), x2.expand(5, 3, 4), 2, 1, 3, backend="dense")
    torch.testing.assert_close(out, ref, atol=1e-13, rtol=0)
    # degree above L1 + L2 is zero; empty batch
    high = gaunt_product(_rand(2, 1), _rand(2, 1), 1, 1, 4)
    assert high[:, 9:].abs().max() < 1e-14
    assert gaunt_product(torch.zeros(0, 4), torch.zeros(0, 4), 1, 1, 2).shape == (0, 9)


def test_scalar_times_function():
    """Y_00 = 1/sqrt(4π): multiplying by the constant function is a scaling."""
    x = _rand(3, 4)
    one = torch.zeros(3, 1, dtype=torch.float64)
    one[:, 0] = math.sqrt(4 * math.pi)
    torch.testing.assert_close(gaunt_product(one, x, 0, 4, 4), x, atol=1e-13, rtol=0)


@pytest.mark.parametrize("backend", SAMPLED)
def test_gradcheck(backend):
    x1, x2 = _rand(2, 2, seed=11), _rand(2, 3, seed=12)
    assert_gradcheck(lambda a, b: gaunt_product(a, b, 2, 3, 4, backend=backend), (x1, x2))


@pytest.mark.parametrize("backend", SAMPLED)
def test_compiles(backend):
    x1, x2 = _rand(4, 3).float(), _rand(4, 2).float()
    assert_compiles(lambda a, b: gaunt_product(a, b, 3, 2, 3, backend=backend), x1, x2, backend="aot_eager")


def test_bad_inputs():
    x = _rand(2, 2)
    with pytest.raises(ValueError, match="x1"):
        gaunt_product(x[:, :8], x, 2, 2, 2)
    with pytest.raises(ValueError, match="x2"):
        gaunt_product(x, x, 2, 1, 2)
    with pytest.raises(ValueError, match="backend"):
        gaunt_product(x, x, 2, 2, 2, backend="nope")
    with pytest.raises(TypeError, match="dtype"):
        gaunt_product(x, x.float(), 2, 2, 2)
    with pytest.raises(TypeError, match="floating"):
        gaunt_product(x.long(), x.long(), 2, 2, 2)
    with pytest.raises(ValueError, match="lmax1"):
        gaunt_product(x, x, -2, 2, 2)


@pytest.mark.parametrize("backend", SAMPLED)
def test_second_derivatives(backend):
    """Double backward (e.g. forces from energies) through the gather-based backward."""
    x1, x2 = _rand(2, 2, seed=13), _rand(2, 2, seed=14)
    torch.autograd.gradgradcheck(
        lambda a, b: gaunt_product(a, b, 2, 2, 3, backend=backend), (x1.requires_grad_(), x2.requires_grad_())
    )


@pytest.mark.parametrize("backend", SAMPLED + ["dense"])
@pytest.mark.parametrize("l1, l2, lout", [(0, 0, 3), (1, 1, 5), (2, 1, 6), (3, 0, 8), (1, 2, 9), (2, 2, 5)])
def test_output_degrees_above_l1_plus_l2_are_exactly_zero(backend, l1, l2, lout):
    """The fft backend crashed for lmax_out > l1 + l2 (half spectrum too short); all backends agree now."""
    x1, x2 = _rand(4, l1, seed=1), _rand(4, l2, seed=2)
    out = gaunt_product(x1, x2, l1, l2, lout, backend=backend)
    ref = torch.einsum("ni,nj,ijk->nk", x1, x2, gaunt_tensor(l1, l2, lout))  # exact c·3j tensor
    assert out.shape == (4, (lout + 1) ** 2)
    assert torch.equal(out[:, (l1 + l2 + 1) ** 2 :], torch.zeros_like(out[:, (l1 + l2 + 1) ** 2 :]))
    torch.testing.assert_close(out, ref, atol=1e-13, rtol=0)  # measured <= 3e-15
