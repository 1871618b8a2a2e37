"""Gaunt products on any e3nn irreps: per-degree multiplicities, repeated/unsorted irreps, 0e+0o mixes."""

import copy
import io

import pytest
import torch
from e3nn import o3
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant

from geomrep.equivariant.gaunt import GauntSelfInteraction, GauntTensorProduct, gaunt_constant, gaunt_tensor
from geomrep.equivariant.gaunt.channels import channel_layout, parity_class
from geomrep.testing import assert_compiles

SH_IRREPS = "1x0e+1x1o+1x2e"

# (irreps_in1, irreps_in2, irreps_out): the MACE/NequIP hidden-feature shape, parity mixes, repeats
CASES = [
    ("64x0e+32x1o+16x2e", "1x0e+1x1o+1x2e", "64x0e+32x1o+16x2e"),
    ("6x0e+4x1o+2x2e", "1x0e+1x1o+1x2e+1x1e", "6x0e+2x0o+4x1o+3x1e+2x2e+1x3o"),
    ("3x0e+2x0o+3x1o+1x1e", "1x0e+1x0o+1x1o", "3x0e+3x0o+3x1o+2x1e+1x2e"),
    ("2x1o+3x0e+2x1o+1x0o", "4x0e+4x1o", "1x1o+2x0e+2x2e+1x1o+1x0o+1x1e"),
    ("4x0e+4x1o+2x1o+2x2e", "6x0e+3x1o", "6x0e+5x1o+2x2e"),
    ("1x0e+1x1o", "4x0e+2x1o+2x0o", "4x0e+4x1o+2x2e+2x0o+1x1e"),  # broadcast first input
]


def _e3nn_reference(tp: GauntTensorProduct) -> tuple[o3.TensorProduct, torch.Tensor]:
    """e3nn ``TensorProduct`` with all Gaunt paths ('uvw') whose weights reproduce ``tp`` exactly.

    Built from the e3nn irreps directly (not from ``tp``'s index tables): channel ``c`` of an irrep is
    its running channel number over the repeated copies of that irrep; the weight of path
    ``(i1, i2, i3)`` is ``δ(u, w) δ(v, w or broadcast) · w[pair, c, l3] · ν · c(l1, l2, l3)``.
    """

    def first_channels(irreps):
        used, first = {}, []
        for mul, ir in irreps:
            first.append(used.get(ir, 0))
            used[ir] = first[-1] + mul
        return first

    f1, f2, f3 = (first_channels(i) for i in (tp.irreps_in1, tp.irreps_in2, tp.irreps_out))
    bcast2 = all(mul == 1 for mul, _ in tp.irreps_in2)
    bcast1 = all(mul == 1 for mul, _ in tp.irreps_in1)
    instr, weights = [], []
    for i1, (m1, ir1) in enumerate(tp.irreps_in1):
        for i2, (m2, ir2) in enumerate(tp.irreps_in2):
            for i3, (m3, ir3) in enumerate(tp.irreps_out):
                if ir3 not in ir1 * ir2 or (ir1.l + ir2.l + ir3.l) % 2:
                    continue
                k1, k2 = parity_class(ir1.l, ir1.p), parity_class(ir2.l, ir2.p)
                pair = [p[:2] for p in tp.pairs].index((k1, k2))
                norm = getattr(tp, f"norm_{pair}")[ir3.l**2].item()
                w = torch.zeros(m1, m2, m3, dtype=torch.float64)
                for w_ in range(m3):
                    c = f3[i3] + w_
                    u = 0 if bcast1 else c - f1[i1]
                    v = 0 if bcast2 else c - f2[i2]
                    if 0 <= u < m1 and 0 <= v < m2:
                        gaunt = gaunt_constant(ir1.l, ir2.l, ir3.l)
                        w[u, v, w_] = tp.weight[pair, c, ir3.l].item() * norm * gaunt
                instr.append((i1, i2, i3, "uvw", True))
                weights.append(w.reshape(-1))
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


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", ["grid", "fft", "dense"])
def test_matches_e3nn_tensor_product_on_gaunt_paths(case, backend):
    tp = GauntTensorProduct(*case, backend=backend).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        tp.weight.normal_(generator=gen)
    ref, w = _e3nn_reference(tp)
    x1 = torch.randn(4, tp.irreps_in1.dim, generator=gen, dtype=torch.float64)
    x2 = torch.randn(4, tp.irreps_in2.dim, generator=gen, dtype=torch.float64)
    y = tp(x1, x2)
    torch.testing.assert_close(y, ref(x1, x2, w), atol=1e-12, rtol=0)
    assert y.abs().amax() > 1e-3  # not a comparison of two zero tensors


@pytest.mark.parametrize("case", CASES[:4])
def test_e3nn_assert_equivariant(case):
    tp = GauntTensorProduct(*case)
    with torch.no_grad():
        tp.weight.uniform_(0.5, 1.5)
    e3nn_assert_equivariant(tp)
    ext = GauntTensorProduct(*case, internal_weights=False)
    w = torch.randn(2, *ext.weight_shape, dtype=torch.float64)
    x1 = torch.randn(2, ext.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(2, ext.irreps_in2.dim, dtype=torch.float64)
    e3nn_assert_equivariant(
        lambda a, b, c: ext.double()(a, b, c),
        args_in=(x1, x2, w),
        irreps_in=[ext.irreps_in1, ext.irreps_in2, None],
        irreps_out=ext.irreps_out,
    )


def test_channel_groups_are_zero_padded_uniform_product():
    """``64x0e+32x1o+16x2e`` is the uniform ``64x(0e+1o+2e)`` product with absent channels set to zero."""
    small = ("8x0e+4x1o+2x2e", "1x0e+1x1o+1x2e", "8x0e+4x1o+2x2e+1x3o")
    tp = GauntTensorProduct(*small).double()
    full = GauntTensorProduct("8x0e+8x1o+8x2e", "1x0e+1x1o+1x2e", "8x0e+8x1o+8x2e+8x3o").double()
    with torch.no_grad():
        tp.weight.normal_()
        full.weight.copy_(tp.weight)
    x1 = torch.randn(5, tp.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(5, 9, dtype=torch.float64)
    pad = torch.zeros(5, full.irreps_in1.dim, dtype=torch.float64)
    pad[:, :8], pad[:, 8 : 8 + 12], pad[:, 32 : 32 + 10] = x1[:, :8], x1[:, 8:20], x1[:, 20:30]
    y_full = full(pad, x2)
    expected = torch.cat([y_full[:, :8], y_full[:, 8:20], y_full[:, 32:42], y_full[:, 72:79]], dim=1)
    torch.testing.assert_close(tp(x1, x2), expected, atol=1e-13, rtol=0)


def test_repeated_unsorted_irreps_equal_the_simplified_product():
    """Repeated/unsorted irreps permute the simplified irreps (channels in order of appearance)."""
    irreps = o3.Irreps("2x1o+3x0e+2x1o")
    tp = GauntTensorProduct(irreps, "1x0e+1x1o", "2x1o+3x0e+2x1o+4x2e").double()
    simple = GauntTensorProduct("3x0e+4x1o", "1x0e+1x1o", "4x0e+4x1o+4x2e").double()
    with torch.no_grad():
        tp.weight.normal_()
        simple.weight.copy_(tp.weight)
    x = torch.randn(3, irreps.dim, dtype=torch.float64)
    x2 = torch.randn(3, 4, dtype=torch.float64)
    perm_in = torch.cat([torch.arange(6, 9), torch.arange(0, 6), torch.arange(9, 15)])
    y_simple = simple(x[:, perm_in], x2)  # simple layout: 3x0e | 4x1o | 4x0e-padded... sliced below
    y = tp(x, x2)
    torch.testing.assert_close(y[:, 0:6], y_simple[:, 4:10])  # first 2x1o = channels 0-1 of 1o
    torch.testing.assert_close(y[:, 6:9], y_simple[:, 0:3])  # 3x0e
    torch.testing.assert_close(y[:, 9:15], y_simple[:, 10:16])  # second 2x1o = channels 2-3
    torch.testing.assert_close(y[:, 15:], y_simple[:, 16:])  # 4x2e


@pytest.mark.parametrize(
    "irreps, correlation, irreps_out",
    [
        ("16x0e+8x1o+4x2e", 3, "16x0e+8x1o+4x2e"),
        ("2x1o+3x0e+2x1o+1x2e", 2, "4x0e+3x1o+2x2e+1x1o"),
        ("4x0o+2x1e", 3, "4x0o+4x0e+2x1e+2x1o"),
    ],
)
def test_self_interaction_any_multiplicities(irreps, correlation, irreps_out):
    si = GauntSelfInteraction(irreps, correlation, irreps_out)
    with torch.no_grad():
        si.weight.uniform_(0.5, 1.5)
    e3nn_assert_equivariant(si)
    # reference: the same powers through a uniform module on zero-padded channels
    lay, lay_out = channel_layout(irreps, "irreps"), channel_layout(irreps_out, "irreps_out")
    k_in = next(iter(lay.classes()))

    def ir(l, k):  # noqa: E741
        return (l, (-1) ** l if k == 0 else -((-1) ** l))

    uni_in = o3.Irreps([(lay.channels, ir(l, k_in)) for l in range(si.lmax + 1)])
    ls_out = sorted(lay_out.offsets)
    uni_out = o3.Irreps([(lay.channels, ir(l, k)) for l, k in ls_out])
    uni = GauntSelfInteraction(uni_in, correlation, uni_out).double()
    with torch.no_grad():
        uni.weight.copy_(si.weight)
    x = torch.randn(3, lay.irreps.dim, dtype=torch.float64)
    xu = torch.zeros(3, uni_in.dim, dtype=torch.float64)
    for (l, _), offs in lay.offsets.items():  # noqa: E741
        for c, start in enumerate(offs):
            xu[:, l * l * lay.channels + c * (2 * l + 1) :][:, : 2 * l + 1] = x[:, start : start + 2 * l + 1]
    yu = uni(xu)
    y = si.double()(x)
    uni_slices = dict(zip(ls_out, uni_out.slices()))
    for (l, k), offs in lay_out.offsets.items():  # noqa: E741
        for c, start in enumerate(offs):
            s = uni_slices[(l, k)].start + c * (2 * l + 1)
            got, want = y[:, start : start + 2 * l + 1], yu[:, s : s + 2 * l + 1]
            torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "args, match",
    [
        (("4x0e+2x1o", "1x0e", "4x0e+4x2e"), "no Gaunt product"),
        (("4x0e+2x1o", "1x0e+1x1o", "4x0e+4x2e"), "identically zero"),
        (("4x0e", "1x0e", "5x0e"), "multiplicities"),
        (("4x0e+4x1o", "2x0e", "4x0e"), "multiplicities"),
    ],
)
def test_bad_channel_layouts(args, match):
    with pytest.raises(ValueError, match=match):
        GauntTensorProduct(*args)


@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_self_interaction_mixed_parity_matches_dense_gaunt_products(backend):
    """0e+0o+1o+1e input: terms A_k/B_k = even/odd parts of (f0 + f1)^k, from the exact Gaunt tensor."""
    irreps, irreps_out = "3x0e+2x0o+3x1o+1x1e", "3x0e+2x0o+3x1o+2x1e+3x2e+1x2o"
    si = GauntSelfInteraction(irreps, 2, irreps_out, backend=backend).double()
    assert si.mixed and si.weight.shape == (4, 3, 3) and si.power_class == [0, 1, 0, 1]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        si.weight.normal_(generator=gen)
    x = torch.randn(4, si.irreps_in.dim, generator=gen, dtype=torch.float64)
    y = si(x)
    g = gaunt_tensor(1, 1, 2)  # exact rational-arithmetic reference, independent of the grids
    # class-0 and class-1 coefficient vectors (l <= 1) per channel, read from the e3nn layout by hand
    x0, x1 = torch.zeros(4, 3, 4, dtype=torch.float64), torch.zeros(4, 3, 4, dtype=torch.float64)
    x0[:, :, 0] = x[:, 0:3]  # 3x0e
    x1[:, :2, 0] = x[:, 3:5]  # 2x0o
    x0[:, :, 1:4] = x[:, 5:14].view(4, 3, 3)  # 3x1o
    x1[:, 0, 1:4] = x[:, 14:17]  # 1x1e

    def prod(a, b):
        return torch.einsum("rci,rcj,ijk->rck", a, b, g)

    terms = [x0, x1, prod(x0, x0) + prod(x1, x1), 2 * prod(x0, x1)]  # A1, B1, A2, B2 (l <= 2)
    terms = [torch.nn.functional.pad(t, (0, 9 - t.shape[-1])) for t in terms]
    lidx = torch.tensor([0, 1, 1, 1, 2, 2, 2, 2, 2])
    out = torch.zeros(4, 3, 2, 9, dtype=torch.float64)  # (rows, channel, class, lm)
    for t, term in enumerate(terms):
        w = si.weight[t][:, lidx] * si.norm[t]  # (C, 9)
        out[:, :, si.power_class[t]] += term * w
    expected = torch.cat(
        [
            out[:, :, 0, 0],  # 3x0e
            out[:, :2, 1, 0],  # 2x0o
            out[:, :, 0, 1:4].reshape(4, 9),  # 3x1o
            out[:, :2, 1, 1:4].reshape(4, 6),  # 2x1e
            out[:, :, 0, 4:9].reshape(4, 15),  # 3x2e
            out[:, :1, 1, 4:9].reshape(4, 5),  # 1x2o
        ],
        dim=1,
    )
    torch.testing.assert_close(y, expected, atol=1e-12, rtol=0)
    assert expected[:, -5:].abs().amax() > 1e-3  # the cross term B2 (class 1, l = 2) is exercised
    e3nn_assert_equivariant(GauntSelfInteraction(irreps, 3, irreps_out, backend=backend))


def test_any_irreps_compile_state_dict_float32_and_empty():
    """Non-uniform modules: torch.compile, state_dict round trip, float32 vs float64, empty batches."""
    tp = GauntTensorProduct("2x1o+6x0e+2x1o+1x0o", SH_IRREPS, "6x0e+4x1o+1x0o+2x2e")
    si = GauntSelfInteraction("4x0e+2x0o+3x1o+1x1e", 2)
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(5, tp.irreps_in1.dim, generator=gen)
    x2 = torch.randn(5, 9, generator=gen)
    xs = torch.randn(5, si.irreps_in.dim, generator=gen)
    for module, args in ((tp, (x1, x2)), (si, (xs,))):
        with torch.no_grad():
            module.weight.uniform_(0.5, 1.5, generator=gen)
        out = assert_compiles(module, *args, backend="aot_eager")
        ref = copy.deepcopy(module).double()(*(a.double() for a in args))
        assert out.dtype == torch.float32
        assert (out.double() - ref).abs().amax() <= 3e-5 * ref.abs().amax()
        buf = io.BytesIO()
        torch.save(module.state_dict(), buf)
        buf.seek(0)
        fresh = type(module)(
            *((tp.irreps_in1, SH_IRREPS, tp.irreps_out) if module is tp else (si.irreps_in, 2))
        )
        fresh.load_state_dict(torch.load(buf))
        torch.testing.assert_close(fresh(*args), module(*args))
        empty = module(*(a[:0] for a in args))
        assert empty.shape == (0, out.shape[1])


def test_mixed_multiplicities_run_each_channel_group_at_its_own_degrees():
    """``64x0e+32x1o+16x2e ⊗ 1x0e+1x1o+1x2e``: channels 0–15 at L = 2, 16–31 at L = 1 (output ≤ 1),
    32–63 at L = 0; equal (to rounding) to the same product computed as one padded group."""
    tp = GauntTensorProduct("8x0e+4x1o+2x2e", SH_IRREPS, "8x0e+4x1o+2x2e").double()
    assert tp._groups == [[(0, 2, 2, 2, 2), (2, 4, 1, 2, 1), (4, 8, 0, 2, 0)]]
    x1 = torch.randn(5, tp.irreps_in1.dim, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(5, 9, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        tp.weight.normal_()
    y = tp(x1, x2)
    grads = torch.autograd.grad(y.square().sum(), (x1, x2, tp.weight))
    tp._groups = [[(0, 8, 2, 2, 2)]]  # one padded group: the uniform product
    y_ref = tp(x1, x2)
    grads_ref = torch.autograd.grad(y_ref.square().sum(), (x1, x2, tp.weight))
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=0)
    for g, r in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, r, atol=1e-11, rtol=0)


def test_mixed_multiplicities_compile_to_one_graph():
    """Channel groups must not add graph breaks under torch.compile (one graph, as for uniform irreps)."""
    tp = GauntTensorProduct("8x0e+4x1o+2x2e", SH_IRREPS, "8x0e+4x1o+2x2e")
    x1, x2 = torch.randn(5, tp.irreps_in1.dim), torch.randn(5, 9)
    assert_compiles(tp, x1, x2, backend="aot_eager", fullgraph=True)


def test_mixed_multiplicities_under_torch_func_jacrev():
    """``torch.func.jacrev`` through channel groups (the blocked autograd.Function has no functorch rules)."""
    tp = GauntTensorProduct("8x0e+4x1o+2x2e", SH_IRREPS, "8x0e+4x1o+2x2e").double()
    x1, x2 = torch.randn(tp.irreps_in1.dim, dtype=torch.float64), torch.randn(9, dtype=torch.float64)
    jac = torch.func.jacrev(lambda a: tp(a, x2))(x1)
    x = x1.clone().requires_grad_(True)
    y = tp(x, x2)
    ref = torch.stack([torch.autograd.grad(y[i], x, retain_graph=True)[0] for i in range(y.numel())])
    torch.testing.assert_close(jac, ref, atol=1e-12, rtol=0)
