"""The drop-in recipe: e3nn FullyConnectedTensorProduct and the InteratomicModel's CG product → Gaunt.

Each test measures the parameter count and the equivariance error before and after the replacement.
"""

import io
import math
from types import SimpleNamespace

import pytest
import torch
from e3nn import o3
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant

from geomrep.equivariant.gaunt import GauntTensorProduct
from geomrep.equivariant.gaunt.drop_in import GauntDropIn, parameter_counts
from geomrep.equivariant.gaunt.interatomic import InteratomicModel, collate, rotation_invariance_error
from geomrep.testing import assert_compiles, equivariance_error, irreps_action, random_orthogonal

HIDDEN, SH = "64x0e+32x1o+16x2e", "1x0e+1x1o+1x2e"


def _error64(layer, irreps1, irreps2, irreps_out, weight=None):
    """float64 O(3) equivariance error (improper rotations included) relative to the output scale."""
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(4, irreps1.dim, generator=gen, dtype=torch.float64)
    x2 = torch.randn(4, irreps2.dim, generator=gen, dtype=torch.float64)
    r = equivariance_error(
        (lambda a, b: layer(a, b)) if weight is None else (lambda a, b: layer(a, b, weight)),
        (x1, x2),
        (irreps_action(irreps1, parity=True), irreps_action(irreps2, parity=True)),
        irreps_action(irreps_out, parity=True),
        group_sampler=lambda dtype=torch.float64: random_orthogonal(3, dtype=dtype, generator=gen),
        trials=2,
        dtype=torch.float64,
    )
    return r["error"] / max(r["scale"], 1.0)


def test_fully_connected_tensor_product_drop_in():
    fctp = o3.FullyConnectedTensorProduct(HIDDEN, SH, HIDDEN)
    gaunt = GauntDropIn.from_e3nn(fctp)
    assert (gaunt.irreps_in1, gaunt.irreps_in2, gaunt.irreps_out) == (
        fctp.irreps_in1,
        fctp.irreps_in2,
        fctp.irreps_out,
    )
    lean = GauntDropIn.from_e3nn(fctp, mix_inputs=False)  # channel groups of HIDDEN used directly
    assert isinstance(lean.lin1, torch.nn.Identity) and lean.gaunt.irreps_in1 == o3.Irreps(HIDDEN)
    before, after, after_lean = parameter_counts(fctp), parameter_counts(gaunt), parameter_counts(lean)
    # e3nn: one weight per (u, w) of every path (13,824); Gaunt: o3.Linear up (7,168) + (pair, channel,
    # degree) weights (192) + o3.Linear down (7,168); without the linear map up: 7,360
    assert (before, after, after_lean) == (13824, 14528, 7360)
    assert after == sum(p.numel() for p in gaunt.parameters())
    e3nn_assert_equivariant(lean)
    # e3nn's own test tool, unchanged, on both layers
    errs_before = e3nn_assert_equivariant(fctp)
    errs_after = e3nn_assert_equivariant(gaunt)
    assert max(float(e.max()) for e in errs_after.values()) < 1e-4
    assert max(float(e.max()) for e in errs_before.values()) < 1e-4
    # float64: both exact to rounding. e3nn builds its 3j tables in the default dtype (``.double()`` of
    # a float32-built FCTP keeps float32-rounded tables: ~4e-9), so the reference is built in float64.
    irreps = (o3.Irreps(HIDDEN), o3.Irreps(SH), o3.Irreps(HIDDEN))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        fctp64 = o3.FullyConnectedTensorProduct(HIDDEN, SH, HIDDEN)
    finally:
        torch.set_default_dtype(previous)
    assert _error64(fctp64, *irreps) < 1e-12
    assert _error64(gaunt.double(), *irreps) < 1e-12
    assert _error64(lean.double(), *irreps) < 1e-12
    y = gaunt(torch.randn(3, 240, dtype=torch.float64), torch.randn(3, 9, dtype=torch.float64))
    assert y.shape == (3, 240) and y.abs().amax() > 1e-3


def test_drop_in_is_linear_gaunt_linear_with_flat_external_weights():
    """Per-row flat weights (as a radial MLP emits them) = the internal-weights module, row by row."""
    ext = GauntDropIn("8x0e+4x1o+2x0o", "5x0e", "6x0e+3x1o+1x0o", shared_weights=False).double()
    assert not ext.internal_weights and ext.weight_numel == math.prod(ext.gaunt.weight_shape)
    assert isinstance(ext.lin2, o3.Linear)  # a 5x0e input (e.g. one-hot species) is mixed to the width
    inner = GauntDropIn("8x0e+4x1o+2x0o", "5x0e", "6x0e+3x1o+1x0o").double()
    inner.lin1.load_state_dict(ext.lin1.state_dict())
    inner.lin2.load_state_dict(ext.lin2.state_dict())
    inner.lin_out.load_state_dict(ext.lin_out.state_dict())
    x1 = torch.randn(3, ext.irreps_in1.dim, dtype=torch.float64)
    x2 = torch.randn(3, 5, dtype=torch.float64)
    w = torch.randn(3, ext.weight_numel, dtype=torch.float64)
    y = ext(x1, x2, w)
    for i in range(3):
        with torch.no_grad():
            inner.gaunt.weight.copy_(w[i].view(ext.gaunt.weight_shape))
        # independent composition: e3nn linear maps around the product
        expected = inner.lin_out(inner.gaunt(inner.lin1(x1[i : i + 1]), inner.lin2(x2[i : i + 1])))
        torch.testing.assert_close(y[i : i + 1], expected, atol=1e-13, rtol=0)
        torch.testing.assert_close(y[i : i + 1], inner(x1[i : i + 1], x2[i : i + 1]), atol=1e-13, rtol=0)
    assert _error64(ext, ext.irreps_in1, ext.irreps_in2, ext.irreps_out, w[:1]) < 1e-12
    buf = io.BytesIO()
    torch.save(ext.state_dict(), buf)
    buf.seek(0)
    fresh = GauntDropIn("8x0e+4x1o+2x0o", "5x0e", "6x0e+3x1o+1x0o", shared_weights=False).double()
    fresh.load_state_dict(torch.load(buf))
    torch.testing.assert_close(fresh(x1, x2, w), y)


def test_drop_in_broadcasts_spherical_harmonics_without_a_linear_map():
    g = GauntDropIn(HIDDEN, SH, HIDDEN)
    assert isinstance(g.lin2, torch.nn.Identity) and isinstance(g.gaunt, GauntTensorProduct)
    assert g.channels == 64 and g.gaunt.mul2 == 1


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("4x1o", "1x1o", "4x1e"), {}, "cannot produce"),
        (("4x0e", "1x0e", "4x0e"), {"channels": 0}, "channels"),
        (("4x0e", "1x0e", "4x0e"), {"internal_weights": True, "shared_weights": False}, "shared_weights"),
    ],
)
def test_drop_in_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        GauntDropIn(*args, **kwargs)


def test_drop_in_bad_weights():
    g = GauntDropIn("4x0e", "1x0e", "4x0e", shared_weights=False)
    with pytest.raises(ValueError, match="weight"):
        g(torch.randn(2, 4), torch.randn(2, 1))
    with pytest.raises(ValueError, match="weight"):
        GauntDropIn("4x0e", "1x0e", "4x0e")(torch.randn(2, 4), torch.randn(2, 1), torch.randn(4))
    with pytest.raises(TypeError, match="tp"):
        GauntDropIn.from_e3nn(torch.nn.Linear(2, 2))


def _molecules(count=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    mols = []
    for i in range(count):
        n = 3 + i % 4
        z = torch.tensor([6, 1, 8, 7, 9, 1, 6][:n])
        mols.append(
            SimpleNamespace(z=z, pos=1.4 * torch.randn(n, 3, generator=g), y=torch.randn(1, generator=g))
        )
    return mols


def test_interatomic_model_recipe():
    """The documented recipe: swap each layer's e3nn TensorProduct and resize the radial MLP's last layer."""
    torch.manual_seed(0)
    model = InteratomicModel("cg", channels=8, lmax=2, layers=2)
    mols = _molecules()
    before_params = sum(p.numel() for p in model.parameters())
    before_err = rotation_invariance_error(model, mols)
    cg_tp = model.layers[0].tp
    assert isinstance(cg_tp, o3.TensorProduct)
    for layer in model.layers:  # the recipe of geomrep.equivariant.gaunt.drop_in
        layer.tp = GauntDropIn.from_e3nn(layer.tp)
        last = layer.radial[-1]
        layer.radial[-1] = torch.nn.Linear(last.in_features, layer.tp.weight_numel)
    after_params = sum(p.numel() for p in model.parameters())
    after_err = rotation_invariance_error(model, mols)
    assert before_err < 1e-12 and after_err < 1e-12, (before_err, after_err)
    assert (cg_tp.weight_numel, model.layers[0].tp.weight_numel) == (88, 24)
    assert isinstance(model.layers[0].tp.lin_out, torch.nn.Identity)  # 'uvu' is channel-wise already
    assert (before_params, after_params) == (7513, 3289)
    # it trains: one step changes the loss, gradients reach the Gaunt product's inputs
    b = collate(mols)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(2):
        loss = (model(b["z"], b["pos"], b["batch"], b["n"]) - b["y"]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        assert model.layers[0].radial[-1].weight.grad.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    assert math.isfinite(losses[0]) and losses[1] != losses[0]


def test_drop_in_compiles():
    g = GauntDropIn("8x0e+4x1o", "1x0e+1x1o", "8x0e+4x1o+2x2e", shared_weights=False)
    w = torch.randn(3, g.weight_numel)
    out = assert_compiles(g, torch.randn(3, 20), torch.randn(3, 4), w, backend="aot_eager")
    assert out.shape == (3, 30)
