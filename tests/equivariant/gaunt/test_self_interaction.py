"""GauntSelfInteraction: powers vs repeated dense Gaunt products, O(3) equivariance, plumbing."""

import pytest
import torch
from e3nn import o3

from geomrep.equivariant.gaunt import GauntSelfInteraction, gaunt_product
from geomrep.testing import (
    assert_compiles,
    assert_gradcheck,
    equivariance_error,
    irreps_action,
    random_orthogonal,
)


def _channel(x, irreps, c):
    """SH coefficients (e3nn order, zero-filled) of channel c."""
    lmax = max(ir.l for _, ir in irreps)
    out = x.new_zeros(x.shape[0], (lmax + 1) ** 2)
    for (_, ir), sl in zip(irreps, irreps.slices()):
        d = 2 * ir.l + 1
        out[:, ir.l**2 : (ir.l + 1) ** 2] = x[:, sl][:, c * d : (c + 1) * d]
    return out


@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_powers_match_repeated_dense_products(backend):
    irreps = o3.Irreps("2x0e+2x1o+2x2e")
    si = GauntSelfInteraction(irreps, correlation=3, backend=backend).double()
    with torch.no_grad():
        si.weight.normal_(generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, irreps.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = si(x)
    for c in range(2):
        f = _channel(x, irreps, c)
        f2 = gaunt_product(f, f, 2, 2, 4, backend="dense")
        f3 = gaunt_product(f2, f, 4, 2, 2, backend="dense")
        powers = [f, f2[:, :9], f3]
        lidx = si.degree_index
        ref = sum(si.weight[k, c, lidx].double() * si.norm[k] * p for k, p in enumerate(powers))
        torch.testing.assert_close(_channel(y, irreps, c), ref, atol=1e-12, rtol=0)


def test_pseudo_parity_powers_alternate():
    irreps = o3.Irreps("2x0o+2x1e")  # opposite parity: f² is class 0, f, f³ class 1
    si = GauntSelfInteraction(irreps, correlation=3, irreps_out="2x0o+2x1e+2x0e+2x1o+2x2e").double()
    assert si.power_class == [1, 0, 1]
    x = torch.randn(3, irreps.dim, dtype=torch.float64)
    r = equivariance_error(
        si,
        (x,),
        (irreps_action(irreps, parity=True),),
        irreps_action(si.irreps_out, parity=True),
        group_sampler=lambda dtype=torch.float64: random_orthogonal(3, dtype=dtype),
        dtype=torch.float64,
    )
    assert r["error"] <= 1e-10 * max(1.0, r["scale"])


@pytest.mark.parametrize("lmax, nu", [(2, 4), (6, 2)])
def test_o3_equivariance(lmax, nu):
    irreps = o3.Irreps([(2, (l, (-1) ** l)) for l in range(lmax + 1)])
    si = GauntSelfInteraction(irreps, correlation=nu).double()
    x = torch.randn(3, irreps.dim, dtype=torch.float64)
    r = equivariance_error(
        si,
        (x,),
        (irreps_action(irreps, parity=True),),
        irreps_action(irreps, parity=True),
        group_sampler=lambda dtype=torch.float64: random_orthogonal(3, dtype=dtype),
        dtype=torch.float64,
    )
    assert r["error"] <= 1e-10 * max(1.0, r["scale"])


def test_gradcheck_compile_state_dict():
    si = GauntSelfInteraction("2x0e+2x1o", correlation=2)
    x = torch.randn(2, si.irreps_in.dim, dtype=torch.float64)
    si64 = GauntSelfInteraction("2x0e+2x1o", correlation=2).double()
    assert_gradcheck(lambda a: si64(a), (x,))
    assert_compiles(si, x.float(), backend="aot_eager")
    fresh = GauntSelfInteraction("2x0e+2x1o", correlation=2)
    with torch.no_grad():
        si.weight.mul_(1.5)
    fresh.load_state_dict(si.state_dict())
    assert set(si.state_dict()) == {"weight"}
    torch.testing.assert_close(fresh(x.float()), si(x.float()))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"irreps": "2x0e+1x1e", "correlation": 1, "irreps_out": "2x1e"}, "not reached"),
        ({"irreps": "2x0e", "correlation": 0}, "correlation"),
        ({"irreps": "2x0e+2x1o", "correlation": 2, "irreps_out": "3x0e"}, "multiplicity"),
        ({"irreps": "2x0e+2x1o", "correlation": 2, "irreps_out": "2x3o"}, "not reached"),
        ({"irreps": "2x0e", "correlation": 2, "backend": "dense"}, "backend"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GauntSelfInteraction(**kwargs)


@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_empty_batch_eager_and_compiled(backend):
    si = GauntSelfInteraction("3x0e+3x1o+3x2e", correlation=3, backend=backend)
    x = torch.randn(0, si.irreps_in.dim, requires_grad=True)
    y = si(x)
    assert y.shape == (0, si.irreps_out.dim)
    y.sum().backward()
    assert x.grad.shape == x.shape and torch.equal(si.weight.grad, torch.zeros_like(si.weight))
    assert si(torch.randn(2, 0, si.irreps_in.dim)).shape == (2, 0, si.irreps_out.dim)
    out = assert_compiles(si, torch.randn(0, si.irreps_in.dim), backend="aot_eager")
    assert out.shape == (0, si.irreps_out.dim)
