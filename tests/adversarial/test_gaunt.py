"""Property-based tests of geomrep.equivariant.gaunt: random degrees, irreps, batch sizes (0 and 1
included), dtypes and scales 1e±30, each asserting the documented behaviour — a value against the
exact ``c·3j`` tensor (rational arithmetic, independent of the sampled backends), an exact zero, a
documented invariance, or a ``TypeError`` naming the argument."""

import pytest
import torch
from e3nn import o3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomrep.equivariant.gaunt import (
    GauntSelfInteraction,
    GauntTensorProduct,
    gaunt_block,
    gaunt_product,
    gaunt_tensor,
)
from geomrep.testing import equivariance_error, irreps_action, random_orthogonal

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BACKENDS = ("grid", "fft", "dense")
BAD_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64)
# relative error bounds, 20-35x the largest measured over degrees 0-4 x 0-4 -> 0-10 on every backend
# (float64 4.8e-15, float32 8.8e-7 of the output scale); bfloat16/float16 are rounded float32 results
REL = {torch.float64: 1e-13, torch.float32: 3e-5}


def _reference(x1, x2, l1, l2, lout):
    """SH coefficients of the product from the exact Gaunt tensor, in float64."""
    return torch.einsum("ni,nj,ijk->nk", x1.double(), x2.double(), gaunt_tensor(l1, l2, lout))


def _rel_err(out, ref):
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    err = float((out.double() - ref).abs().max()) if ref.numel() else 0.0
    return err / scale if scale > 0 else err


@SETTINGS
@given(
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 10),
    st.sampled_from((0, 1, 3)),
    st.sampled_from(BACKENDS),
    st.sampled_from((torch.float32, torch.float64)),
)
def test_product_equals_exact_tensor_any_degrees(l1, l2, lout, rows, backend, dtype):
    """Any degrees (lmax_out above l1 + l2 too), any batch size: the exact value; higher degrees are 0."""
    x1 = torch.randn(rows, (l1 + 1) ** 2, dtype=dtype)
    x2 = torch.randn(rows, (l2 + 1) ** 2, dtype=dtype)
    out = gaunt_product(x1, x2, l1, l2, lout, backend=backend)
    assert out.shape == (rows, (lout + 1) ** 2) and out.dtype == dtype
    assert torch.isfinite(out).all()
    cut = (l1 + l2 + 1) ** 2
    assert torch.equal(out[:, cut:], torch.zeros_like(out[:, cut:]))
    assert _rel_err(out, _reference(x1, x2, l1, l2, lout)) < REL[dtype]


@SETTINGS
@given(
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(-30, 30),
    st.sampled_from(("grid", "fft")),
    st.sampled_from((torch.float32, torch.float64)),
)
def test_scales_1e_pm30(l1, l2, k, backend, dtype):
    """Bilinear, no overflow or underflow in the tables: (s·x1) ⊗ (x2/s) equals x1 ⊗ x2 for s = 10^±30,
    and in float64 (s·x1) ⊗ x2 = s·(x1 ⊗ x2)."""
    s = 10.0**k
    x1 = torch.randn(3, (l1 + 1) ** 2, dtype=dtype)
    x2 = torch.randn(3, (l2 + 1) ** 2, dtype=dtype)
    lout = l1 + l2
    ref = _reference(x1, x2, l1, l2, lout)
    out = gaunt_product(x1 * s, x2 / s, l1, l2, lout, backend=backend)
    assert _rel_err(out, _reference(x1 * s, x2 / s, l1, l2, lout)) < REL[dtype]
    assert _rel_err(out, ref) < REL[dtype] + 4 * torch.finfo(dtype).eps  # x·s/s rounds twice
    if dtype == torch.float64:
        scaled = gaunt_product(x1 * s, x2, l1, l2, lout, backend=backend)
        assert _rel_err(scaled / s, ref) < REL[dtype]


@SETTINGS
@given(st.sampled_from(BAD_DTYPES), st.sampled_from(BACKENDS), st.integers(0, 2))
def test_non_floating_dtypes_raise_type_error(dtype, backend, rows):
    """Integer, bool and complex features raise TypeError naming the argument (never zeros)."""
    x_bad = torch.ones(rows, 4).to(dtype)
    x_ok = torch.ones(rows, 4)
    with pytest.raises(TypeError, match="x1 must be a real floating"):
        gaunt_product(x_bad, x_ok, 1, 1, 2, backend=backend)
    with pytest.raises(TypeError, match="x2 must be a real floating"):
        gaunt_product(x_ok, x_bad, 1, 1, 2, backend=backend)
    tp = GauntTensorProduct("1x0e+1x1o", "1x0e+1x1o", "1x0e+1x1o+1x2e", backend=backend)
    with pytest.raises(TypeError, match="x1 must be a real floating"):
        tp(x_bad, x_ok)
    if backend != "dense":
        si = GauntSelfInteraction("1x0e+1x1o", correlation=2, backend=backend)
        with pytest.raises(TypeError, match="x must be a real floating"):
            si(x_bad)
    with pytest.raises(TypeError, match="dtype"):
        gaunt_tensor(1, 1, 1, dtype=dtype)
    with pytest.raises(TypeError, match="dtype"):
        gaunt_block(1, 1, 2, dtype=dtype)


@st.composite
def irreps_triples(draw):
    """Channel-wise irreps (one multiplicity, each irrep once) of both parities, reachable outputs."""
    mul = draw(st.integers(1, 3))
    l1, l2 = draw(st.integers(0, 2)), draw(st.integers(0, 2))

    def irreps(lmax, pseudo, m):
        out = [(m, (l, (-1) ** l)) for l in range(lmax + 1)]  # noqa: E741
        return o3.Irreps(out + ([(m, (l, -((-1) ** l))) for l in range(lmax + 1)] if pseudo else []))  # noqa: E741

    pseudo1 = draw(st.booleans())
    ir1 = irreps(l1, pseudo1, mul)
    ir2 = irreps(l2, False, draw(st.sampled_from((1, mul))))
    ir_out = irreps(draw(st.integers(0, l1 + l2)), pseudo1, mul)
    return ir1, ir2, ir_out


@SETTINGS
@given(irreps_triples(), st.sampled_from((0, 1, 4)), st.sampled_from(BACKENDS))
def test_tensor_product_rows_independent_and_equivariant(irreps, rows, backend):
    """Any batch size: each row is its own product (row-by-row = batched), O(3)-equivariant in float64."""
    ir1, ir2, ir_out = irreps
    tp = GauntTensorProduct(ir1, ir2, ir_out, backend=backend).double()
    with torch.no_grad():
        tp.weight.normal_()
    x1 = torch.randn(rows, ir1.dim, dtype=torch.float64)
    x2 = torch.randn(rows, ir2.dim, dtype=torch.float64)
    with torch.no_grad():
        y = tp(x1, x2)
        assert y.shape == (rows, ir_out.dim) and torch.isfinite(y).all()
        for i in range(rows):
            torch.testing.assert_close(tp(x1[i : i + 1], x2[i : i + 1]), y[i : i + 1], atol=1e-13, rtol=0)
    if rows:
        r = equivariance_error(
            tp,
            (x1, x2),
            (irreps_action(ir1, parity=True), irreps_action(ir2, parity=True)),
            irreps_action(ir_out, parity=True),
            group_sampler=lambda dtype=None: random_orthogonal(3, dtype=dtype),
            trials=2,
        )
        assert r["error"] <= 1e-9 * max(r["scale"], 1.0)  # ~1e-15; e3nn's D near gimbal lock ~1e-10


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 3),
    st.sampled_from((0, 1, 3)),
    st.sampled_from(("grid", "fft")),
    st.sampled_from((torch.float16, torch.bfloat16, torch.float32, torch.float64)),
)
def test_self_interaction_shapes_dtypes_and_rows(mul, lmax, nu, rows, backend, dtype):
    """Output dtype is the input dtype (half computed in float32), rows are independent, empty is empty."""
    irreps = o3.Irreps([(mul, (l, (-1) ** l)) for l in range(lmax + 1)])  # noqa: E741
    si = GauntSelfInteraction(irreps, correlation=nu, backend=backend)
    x = torch.randn(rows, irreps.dim).to(dtype)
    with torch.no_grad():
        y = si(x)
        assert y.shape == (rows, irreps.dim) and y.dtype == dtype and torch.isfinite(y).all()
        ref = si.double()(x.double())  # tables stay float64, so the float64 module is the reference
        bound = {torch.float16: 5e-3, torch.bfloat16: 2e-2, torch.float32: 3e-5, torch.float64: 1e-13}[dtype]
        assert _rel_err(y, ref) < bound
        if rows:
            torch.testing.assert_close(si(x[-1:].double()), ref[-1:], atol=1e-13, rtol=0)


@st.composite
def any_irreps_triples(draw):
    """Irreps as users write them: a multiplicity per irrep, 0e+0o mixes, shuffled, one irrep split in two."""
    lmax1, lmax2 = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    pseudo = draw(st.booleans())
    keys = [(l, k) for l in range(lmax1 + 1) for k in ((0, 1) if pseudo else (0,))]  # noqa: E741
    mul1 = {key: draw(st.integers(1, 4)) for key in keys}
    bcast = draw(st.booleans())
    mul2 = 1 if bcast else max(mul1.values())

    def ir(l, k):  # noqa: E741
        return (l, (-1) ** l if k == 0 else -((-1) ** l))

    # output (l3, k): the highest channel must reach l3 (channel c of (l1, k) exists iff c < mul1)
    out = []
    for l3 in range(lmax1 + lmax2 + 1):
        for k in (0, 1) if pseudo else (0,):
            top = max((m for (l1, kk), m in mul1.items() if kk == k and l1 + lmax2 >= l3), default=0)
            if top and draw(st.booleans()):
                out.append((draw(st.integers(1, top)), ir(l3, k)))
    if not out:
        out = [(mul1[(0, 0)], ir(0, 0))]
    first = [(m, ir(*key)) for key, m in mul1.items()]
    first = draw(st.permutations(first))
    if first[0][0] > 1:  # a repeated irrep: split the first block in two, one copy at the end
        (m, i), a = first[0], draw(st.integers(1, first[0][0] - 1))
        first = [(a, i)] + list(first[1:]) + [(m - a, i)]
    return o3.Irreps(first), o3.Irreps([(mul2, ir(l, 0)) for l in range(lmax2 + 1)]), o3.Irreps(out)


@SETTINGS
@given(any_irreps_triples(), st.sampled_from((0, 1, 3)), st.sampled_from(BACKENDS))
def test_tensor_product_any_irreps_rows_independent_and_equivariant(irreps, rows, backend):
    """Per-irrep multiplicities, repeats, shuffles, parity mixes: rows independent, O(3)-equivariant."""
    ir1, ir2, ir_out = irreps
    tp = GauntTensorProduct(ir1, ir2, ir_out, backend=backend).double()
    with torch.no_grad():
        tp.weight.normal_()
    x1 = torch.randn(rows, ir1.dim, dtype=torch.float64)
    x2 = torch.randn(rows, ir2.dim, dtype=torch.float64)
    with torch.no_grad():
        y = tp(x1, x2)
        assert y.shape == (rows, ir_out.dim) and torch.isfinite(y).all()
        for i in range(rows):
            torch.testing.assert_close(tp(x1[i : i + 1], x2[i : i + 1]), y[i : i + 1], atol=1e-13, rtol=0)
    if rows:
        r = equivariance_error(
            tp,
            (x1, x2),
            (irreps_action(ir1, parity=True), irreps_action(ir2, parity=True)),
            irreps_action(ir_out, parity=True),
            group_sampler=lambda dtype=None: random_orthogonal(3, dtype=dtype),
            trials=2,
        )
        assert r["error"] <= 1e-9 * max(r["scale"], 1.0)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=5),
    st.integers(1, 3),
    st.sampled_from((0, 2)),
    st.sampled_from(("grid", "fft")),
)
def test_self_interaction_any_irreps_rows_independent_and_equivariant(blocks, nu, rows, backend):
    """Any multiplicities, repeats, order and parity mixes in, irreps_out = irreps: O(3)-equivariant rows."""
    irreps = o3.Irreps([(m, (l, (-1) ** l if k == 0 else -((-1) ** l))) for l, k, m in blocks])
    si = GauntSelfInteraction(irreps, nu, backend=backend).double()  # power 1 reaches every output
    with torch.no_grad():
        si.weight.normal_()
    x = torch.randn(rows, irreps.dim, dtype=torch.float64)
    with torch.no_grad():
        y = si(x)
        assert y.shape == (rows, irreps.dim) and torch.isfinite(y).all()
        for i in range(rows):
            torch.testing.assert_close(si(x[i : i + 1]), y[i : i + 1], atol=1e-13, rtol=0)
    if rows:
        r = equivariance_error(
            si,
            (x,),
            (irreps_action(irreps, parity=True),),
            irreps_action(irreps, parity=True),
            group_sampler=lambda dtype=None: random_orthogonal(3, dtype=dtype),
            trials=2,
        )
        assert r["error"] <= 1e-9 * max(r["scale"], 1.0)
