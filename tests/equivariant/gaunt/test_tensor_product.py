"""GauntTensorProduct: vs e3nn TensorProduct (Gaunt paths), O(3) equivariance up to L = 12, plumbing."""

import copy
import io

import pytest
import torch
from e3nn import o3
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant

from geomrep.equivariant.gaunt import GauntTensorProduct, gaunt_constant
from geomrep.testing import (
    assert_compiles,
    assert_gradcheck,
    equivariance_error,
    irreps_action,
    random_orthogonal,
)


def _irreps(mul, lmax, parities=("natural",)):
    out = []
    for l in range(lmax + 1):  # noqa: E741
        nat = (-1) ** l
        if "natural" in parities:
            out.append((mul, (l, nat)))
        if "pseudo" in parities:
            out.append((mul, (l, -nat)))
    return o3.Irreps(out)


def _e3nn_reference(tp: GauntTensorProduct) -> o3.TensorProduct:
    """e3nn TensorProduct with the Gaunt paths ('uuu') whose per-channel weights reproduce ``tp``."""
    instr, weights = [], []
    for i1, (_, ir1) in enumerate(tp.irreps_in1):
        for i2, (_, ir2) in enumerate(tp.irreps_in2):
            for i3, (_, ir3) in enumerate(tp.irreps_out):
                if ir3.p != ir1.p * ir2.p or (ir1.l + ir2.l + ir3.l) % 2:
                    continue
                if not abs(ir1.l - ir2.l) <= ir3.l <= ir1.l + ir2.l:
                    continue
                k1 = 0 if ir1.p == (-1) ** ir1.l else 1
                k2 = 0 if ir2.p == (-1) ** ir2.l else 1
                pair = [p[:2] for p in tp.pairs].index((k1, k2))
                norm = getattr(tp, f"norm_{pair}")[ir3.l**2]
                w = tp.weight[pair, :, ir3.l] * norm * gaunt_constant(ir1.l, ir2.l, ir3.l)
                instr.append((i1, i2, i3, "uuu", True))
                weights.append(w.double())
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its 3j buffers in the default dtype
    try:
        ref = o3.TensorProduct(
            tp.irreps_in1,
            tp.irreps_in2,
            tp.irreps_out,
            instr,
            irrep_normalization="none",
            path_normalization="none",
            internal_weights=False,
            shared_weights=True,
        )
    finally:
        torch.set_default_dtype(previous)
    return ref, torch.cat(weights)


@pytest.mark.parametrize("backend", ["grid", "fft", "dense"])
def test_matches_e3nn_tensor_product_mixed_parity(backend):
    irreps1 = _irreps(3, 2, ("natural", "pseudo"))
    irreps2 = _irreps(3, 2, ("natural",))
    irreps_out = _irreps(3, 3, ("natural", "pseudo"))
    tp = GauntTensorProduct(irreps1, irreps2, irreps_out, backend=backend).double()
    with torch.no_grad():
        tp.weight.normal_(generator=torch.Generator().manual_seed(0))
    ref, w = _e3nn_reference(tp)
    g = torch.Generator().manual_seed(1)
    x1 = torch.randn(5, irreps1.dim, generator=g, dtype=torch.float64)
    x2 = torch.randn(5, irreps2.dim, generator=g, dtype=torch.float64)
    torch.testing.assert_close(tp(x1, x2), ref(x1, x2, w), atol=1e-12, rtol=0)
    assert len(tp.pairs) == 2


def test_broadcast_edge_harmonics_matches_repeated_channels():
    tp = GauntTensorProduct(_irreps(4, 2), _irreps(1, 2), _irreps(4, 2)).double()
    tp4 = GauntTensorProduct(_irreps(4, 2), _irreps(4, 2), _irreps(4, 2)).double()
    tp4.load_state_dict(tp.state_dict())
    x1 = torch.randn(6, _irreps(4, 2).dim, dtype=torch.float64)
    x2 = torch.randn(6, 9, dtype=torch.float64)
    x2_rep = torch.cat([x2[:, l * l : (l + 1) ** 2].repeat(1, 4) for l in range(3)], dim=1)  # noqa: E741
    torch.testing.assert_close(tp(x1, x2), tp4(x1, x2_rep), atol=1e-13, rtol=0)


@pytest.mark.parametrize("lmax", [1, 4, 8, 12])
@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_o3_equivariance_float64(lmax, backend):
    irreps1 = _irreps(2, lmax, ("natural", "pseudo")) if lmax <= 4 else _irreps(2, lmax)
    irreps2 = _irreps(2, min(lmax, 6))
    irreps_out = _irreps(2, lmax, ("natural", "pseudo")) if lmax <= 4 else _irreps(2, lmax)
    tp = GauntTensorProduct(irreps1, irreps2, irreps_out, backend=backend).double()
    gen = torch.Generator().manual_seed(lmax)
    with torch.no_grad():
        tp.weight.normal_(generator=gen)
    x1 = torch.randn(3, irreps1.dim, generator=gen, dtype=torch.float64)
    x2 = torch.randn(3, irreps2.dim, generator=gen, dtype=torch.float64)
    r = equivariance_error(
        tp,
        (x1, x2),
        (irreps_action(irreps1, parity=True), irreps_action(irreps2, parity=True)),
        irreps_action(irreps_out, parity=True),
        group_sampler=lambda dtype=torch.float64: random_orthogonal(3, dtype=dtype, generator=gen),
        trials=2,
        dtype=torch.float64,
    )
    assert r["error"] <= 1e-10 * max(1.0, r["scale"]), r


@pytest.mark.parametrize("lmax", [4, 12])
def test_o3_equivariance_float32_relative(lmax):
    irreps = _irreps(2, lmax)
    tp = GauntTensorProduct(irreps, _irreps(2, 3), irreps)
    gen = torch.Generator().manual_seed(3)
    x1, x2 = torch.randn(3, irreps.dim, generator=gen), torch.randn(3, _irreps(2, 3).dim, generator=gen)
    r = equivariance_error(
        tp,
        (x1, x2),
        (irreps_action(irreps, parity=True), irreps_action(_irreps(2, 3), parity=True)),
        irreps_action(irreps, parity=True),
        group_sampler=lambda dtype=torch.float32: random_orthogonal(3, dtype=dtype, generator=gen),
        trials=2,
        dtype=torch.float32,
    )
    assert r["dtype"] == torch.float32
    assert r["error"] <= 1e-5 * r["scale"], r


def test_e3nn_assert_equivariant():
    tp = GauntTensorProduct("4x0e+4x1o+4x2e+4x1e", "1x0e+1x1o", "4x0e+4x1o+4x2e+4x1e+4x0o+4x2o")
    e3nn_assert_equivariant(tp)


def test_gradcheck_inputs_and_weights():
    tp = GauntTensorProduct("2x0e+2x1o+2x1e", "2x0e+2x1o", "2x0e+2x1o+2x2e+2x1e", backend="grid").double()
    x1 = torch.randn(2, tp.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(2, tp.irreps_in2.dim, dtype=torch.float64)
    assert_gradcheck(lambda a, b: tp(a, b), (x1, x2))
    ext = GauntTensorProduct("2x0e+2x1o", "2x0e+2x1o", "2x0e+2x2e", internal_weights=False, backend="fft")
    w = torch.randn(2, *ext.weight_shape, dtype=torch.float64)
    assert_gradcheck(lambda a, b, c: ext(a, b, c), (x1[:, :8], x2, w))


def test_compile_and_state_dict_round_trip():
    tp = GauntTensorProduct("4x0e+4x1o+4x2e", "1x0e+1x1o+1x2e", "4x0e+4x1o+4x2e")
    with torch.no_grad():
        tp.weight.uniform_(0.5, 1.5)
    x1, x2 = torch.randn(7, tp.irreps_in1.dim), torch.randn(7, 9)
    assert_compiles(tp, x1, x2, backend="aot_eager")
    buf = io.BytesIO()
    torch.save(tp.state_dict(), buf)
    assert set(tp.state_dict()) == {"weight"}  # constant tables are non-persistent buffers
    fresh = GauntTensorProduct("4x0e+4x1o+4x2e", "1x0e+1x1o+1x2e", "4x0e+4x1o+4x2e")
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf))
    torch.testing.assert_close(fresh(x1, x2), tp(x1, x2))
    # deep copy + dtype round trip keeps float64 accuracy of the tables
    tp64 = copy.deepcopy(tp).double()
    assert tp64(x1.double(), x2.double()).dtype == torch.float64


def test_output_variance_is_normalised():
    irreps = _irreps(64, 4)
    tp = GauntTensorProduct(irreps, _irreps(64, 4), irreps)
    y = tp(torch.randn(200, irreps.dim), torch.randn(200, irreps.dim))
    for (_mul, ir), sl in zip(irreps, irreps.slices()):
        assert 0.7 < y[:, sl].pow(2).mean().item() < 1.4, ir


@pytest.mark.parametrize(
    "args, match",
    [
        (("4x0e+2x1o", "1x0e", "8x0e"), "multiplicities"),
        (("4x0e+2x1o", "1x0e+1x1o", "4x2e"), "identically zero"),
        (("4x0e", "1x0e", "4x1o"), "no Gaunt product"),
        (("4x0e+4x1o", "1x1o", "4x1e"), "no Gaunt product"),
        (("4x0e", "2x0e", "4x0e"), "multiplicities"),
        (("not irreps", "1x0e", "4x0e"), "irreps_in1"),
        (("", "1x0e", "4x0e"), "irreps_in1"),
    ],
)
def test_bad_irreps(args, match):
    with pytest.raises(ValueError, match=match):
        GauntTensorProduct(*args)


def test_bad_forward_inputs():
    tp = GauntTensorProduct("4x0e", "1x0e", "4x0e")
    with pytest.raises(ValueError, match="x1"):
        tp(torch.randn(2, 3), torch.randn(2, 1))
    with pytest.raises(ValueError, match="weight"):
        tp(torch.randn(2, 4), torch.randn(2, 1), torch.randn(1, 4, 1))


@pytest.mark.parametrize("backend", ["grid", "fft", "dense"])
@pytest.mark.parametrize("lead", [(0,), (0, 3), (3, 0)])
def test_empty_batch(backend, lead):
    """A molecule with no edges inside the cutoff gives zero-row inputs: empty outputs, no crash."""
    tp = GauntTensorProduct("4x0e+4x1o+4x2e", "1x0e+1x1o+1x2e", "4x0e+4x1o+4x2e+4x3o", backend=backend)
    x1 = torch.randn(*lead, tp.irreps_in1.dim, requires_grad=True)
    x2 = torch.randn(*lead, tp.irreps_in2.dim)
    y = tp(x1, x2)
    assert y.shape == lead + (tp.irreps_out.dim,) and y.dtype == torch.float32
    y.sum().backward()
    assert x1.grad.shape == x1.shape
    assert tp.weight.grad is not None and torch.equal(tp.weight.grad, torch.zeros_like(tp.weight))
    ext = GauntTensorProduct(
        tp.irreps_in1, tp.irreps_in2, tp.irreps_out, backend=backend, internal_weights=False
    )
    w = torch.randn(*lead, *ext.weight_shape)
    assert ext(x1.detach(), x2, w).shape == lead + (tp.irreps_out.dim,)
    # broadcasting one non-empty operand against an empty one
    assert tp(x1.detach(), torch.randn(1, tp.irreps_in2.dim)).shape == lead + (tp.irreps_out.dim,)


@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_empty_batch_compiled(backend):
    tp = GauntTensorProduct("2x0e+2x1o", "1x0e+1x1o", "2x0e+2x1o+2x2e", backend=backend)
    out = assert_compiles(tp, torch.randn(0, tp.irreps_in1.dim), torch.randn(0, 4), backend="aot_eager")
    assert out.shape == (0, tp.irreps_out.dim)
