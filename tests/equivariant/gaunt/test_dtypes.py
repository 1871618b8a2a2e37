"""The Gaunt dtype policy: TypeError for non-floating inputs everywhere, half computed in float32, and
float64 constant tables that survive ``.float()`` / ``.double()`` while ``.to(device)`` moves them."""

import pytest
import torch
from e3nn import o3

from geomrep.equivariant.gaunt import (
    GauntSelfInteraction,
    GauntTensorProduct,
    gaunt_block,
    gaunt_product,
    gaunt_tensor,
)
from geomrep.testing import assert_equivariant, equivariance_error, irreps_action, random_rotation

IRREPS = "3x0e+3x1o+3x2e"
SH = "1x0e+1x1o+1x2e"
BAD_DTYPES = [torch.int64, torch.int32, torch.bool, torch.complex64, torch.complex128]


def _tp(backend="grid"):
    return GauntTensorProduct(IRREPS, SH, IRREPS + "+3x3o", backend=backend)


def _si(backend="grid"):
    return GauntSelfInteraction(IRREPS, correlation=2, backend=backend)


def _seeded_weights(module, seed=0):
    with torch.no_grad():
        module.weight.normal_(generator=torch.Generator().manual_seed(seed))
    return module


@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_non_floating_inputs_raise_type_error_everywhere(dtype):
    """Integer inputs used to cast the tables to int and return zeros (modules); now TypeError, by name."""
    tp, si = _tp(), _si()
    x1 = torch.ones(2, tp.irreps_in1.dim).to(dtype)
    x2 = torch.ones(2, tp.irreps_in2.dim).to(dtype)
    with pytest.raises(TypeError, match="x1 must be a real floating"):
        tp(x1, x2)
    with pytest.raises(TypeError, match="x2 must be a real floating"):
        tp(torch.ones(2, tp.irreps_in1.dim), x2)
    with pytest.raises(TypeError, match="x must be a real floating"):
        si(torch.ones(2, si.irreps_in.dim).to(dtype))
    with pytest.raises(TypeError, match="x1 must be a real floating"):
        gaunt_product(torch.ones(2, 4).to(dtype), torch.ones(2, 4).to(dtype), 1, 1, 2)
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        gaunt_tensor(1, 1, 2, dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        gaunt_block(1, 1, 2, dtype=dtype)
    ext = GauntTensorProduct(IRREPS, SH, IRREPS, internal_weights=False)
    w = torch.ones((2,) + ext.weight_shape).to(dtype)
    with pytest.raises(TypeError, match="weight must be a real floating"):
        ext(torch.ones(2, tp.irreps_in1.dim), torch.ones(2, tp.irreps_in2.dim), w)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", ["grid", "fft", "dense"])
def test_half_precision_is_computed_in_float32(dtype, backend):
    """float16/bfloat16 (the fft backend has no CPU half kernels) equal the float32 result, rounded."""
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(5, 9, generator=g).to(dtype), torch.randn(5, 9, generator=g).to(dtype)
    out = gaunt_product(x1, x2, 2, 2, 3, backend=backend)
    ref = gaunt_product(x1.double(), x2.double(), 2, 2, 3, backend="dense")
    assert out.dtype == dtype
    torch.testing.assert_close(out, ref.to(dtype), atol=0, rtol=0)  # float32 result, rounded once
    tp = _seeded_weights(_tp(backend))
    a, b = torch.randn(4, tp.irreps_in1.dim).to(dtype), torch.randn(4, tp.irreps_in2.dim).to(dtype)
    y = tp(a, b)
    assert y.dtype == dtype
    torch.testing.assert_close(y, tp(a.float(), b.float()).to(dtype), atol=0, rtol=0)


@pytest.mark.parametrize("make", [_tp, _si], ids=["tensor_product", "self_interaction"])
@pytest.mark.parametrize("backend", ["grid", "fft"])
def test_float_then_double_is_as_exact_as_fresh_float64(make, backend):
    """.float() used to round the float64 tables for good: .double() afterwards was float32-accurate."""
    fresh = _seeded_weights(make(backend)).double()
    trip = make(backend)
    trip.load_state_dict(fresh.state_dict())  # weights are float32-exact: initialised in float32
    trip = trip.float().double()
    tables = [name for name, b in trip.named_buffers() if b.is_floating_point()]
    assert tables and all(getattr(trip, n).dtype == torch.float64 for n in tables)
    for name in tables:
        assert torch.equal(getattr(trip, name), getattr(fresh, name)), name
    g = torch.Generator().manual_seed(1)
    if make is _tp:
        inputs = (
            torch.randn(6, fresh.irreps_in1.dim, generator=g, dtype=torch.float64),
            torch.randn(6, fresh.irreps_in2.dim, generator=g, dtype=torch.float64),
        )
        in_actions = (irreps_action(fresh.irreps_in1), irreps_action(fresh.irreps_in2))
    else:
        inputs = (torch.randn(6, fresh.irreps_in.dim, generator=g, dtype=torch.float64),)
        in_actions = (irreps_action(fresh.irreps_in),)
    with torch.no_grad():
        ref = fresh(*inputs)
        assert float((trip(*inputs) - ref).abs().max()) <= 1e-14 * float(ref.abs().max())
    # the toolkit (which promotes to float64) accepts the round-tripped module at float64 tolerance
    err = assert_equivariant(
        trip, inputs, in_actions, irreps_action(fresh.irreps_out), group_sampler=random_rotation
    )
    # measured ~1e-15 relative (up to ~2e-11 when e3nn's Wigner D meets gimbal lock); old code: 3e-7
    assert err < 1e-9 * float(ref.abs().max())


def test_float32_module_promoted_by_the_toolkit_is_float64_exact():
    """A float32 module (the usual case) is judged in float64 at ~1e-15, not at float32 rounding."""
    tp = _seeded_weights(_tp()).float()
    x1, x2 = torch.randn(5, tp.irreps_in1.dim), torch.randn(5, tp.irreps_in2.dim)
    r = equivariance_error(
        tp,
        (x1, x2),
        (irreps_action(tp.irreps_in1), irreps_action(tp.irreps_in2)),
        irreps_action(tp.irreps_out),
        group_sampler=random_rotation,
    )
    assert r["dtype"] == torch.float64 and not r["rounded_constants"]
    assert r["error"] < 1e-9 * r["scale"]  # measured ~3e-15 (1e-10 near gimbal lock of e3nn's D)


def test_to_device_moves_tables_and_dtype_conversions_keep_them():
    tp = _tp().to(torch.float32)
    assert tp.weight.dtype == torch.float32
    assert all(b.dtype in (torch.float64, torch.int64) for b in tp.buffers())
    moved = _tp().to("meta")  # a device move reaches every buffer (meta: no memory, any machine)
    assert all(b.device.type == "meta" for b in moved.buffers())
    assert moved.weight.device.type == "meta"
    both = _tp().to(device="meta", dtype=torch.float16)
    assert both.weight.dtype == torch.float16
    assert all(b.device.type == "meta" and b.dtype in (torch.float64, torch.int64) for b in both.buffers())


def test_integer_irreps_string_and_float_module_still_work_on_float_inputs():
    """The policy changes errors only: float32 inputs to a float64 module promote as before."""
    tp = _seeded_weights(_tp()).double()
    x1 = torch.randn(3, o3.Irreps(IRREPS).dim)
    x2 = torch.randn(3, o3.Irreps(SH).dim, dtype=torch.float64)
    y = tp(x1, x2)
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, tp(x1.double(), x2), atol=0, rtol=0)
