"""ProductMLR vs Ganea et al.'s closed form / an affine map; KappaGCNConv vs a dense GCN at κ = 0."""

import math

import pytest
import torch
from torch_geometric.utils import coalesce

from geomrep.manifolds.products import KappaGCNConv, ProductMLR, ProductSpace, mobius_scalar_mul
from geomrep.manifolds.products import stereographic as st
from geomrep.testing import (
    assert_compiles,
    assert_equivariant,
    edge_index_permutation_action,
    node_permutation_action,
    random_permutation,
)


def _ganea_logits(x, p, a, c):
    """Ganea et al. 2018, eq. (25), Poincaré ball of curvature −c, written out in the c convention."""
    out = torch.empty(x.shape[0], p.shape[0], dtype=x.dtype)
    for i in range(x.shape[0]):
        for k in range(p.shape[0]):
            mp = -p[k]
            xy, x2, y2 = (mp * x[i]).sum(), mp.pow(2).sum(), x[i].pow(2).sum()
            z = ((1 + 2 * c * xy + c * y2) * mp + (1 - c * x2) * x[i]) / (1 + 2 * c * xy + c * c * x2 * y2)
            lam = 2 / (1 - c * p[k].pow(2).sum())
            an = a[k].norm()
            arg = 2 * math.sqrt(c) * (z * a[k]).sum() / ((1 - c * z.pow(2).sum()) * an)
            out[i, k] = lam * an / math.sqrt(c) * torch.asinh(arg)
    return out


def test_mlr_matches_ganea_and_is_affine_in_euclidean_factors():
    torch.manual_seed(0)
    space = ProductSpace("H3(-0.6)xE2")
    mlr = ProductMLR(space, 4, dtype=torch.float64)
    with torch.no_grad():
        mlr.p_tangent.normal_(0, 0.3)
    x = space.random(7, space.dim, dtype=torch.float64, std=0.7)
    out = mlr(x)
    p = space.expmap0(mlr.p_tangent)
    xh, xe = space.split(x)
    ph, pe = space.split(p)
    ah, ae = space.split(mlr.a_tangent)
    ah = ah * (2 / st.lambda_x(ph, -0.6, keepdim=True))
    ae = ae * (2 / st.lambda_x(pe, 0.0, keepdim=True))
    ref = _ganea_logits(xh, ph, ah, 0.6) + 4 * ((xe[:, None, :] - pe[None]) * ae[None]).sum(-1)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    # sphere factor: finite everywhere (arcsin argument clipped), gradients flow
    s = ProductSpace("S2(1.5)")
    m = ProductMLR(s, 3, dtype=torch.float64)
    xs = s.random(20, 2, dtype=torch.float64, std=2.0).requires_grad_(True)
    m(xs).sum().backward()
    assert torch.isfinite(xs.grad).all() and torch.isfinite(m.a_tangent.grad).all()


def test_mlr_trains_state_dict_and_errors():
    space = ProductSpace("H2xE2")
    g = torch.Generator().manual_seed(1)
    x = space.random(60, 4, dtype=torch.float64, std=0.8, generator=g)
    y = (x[:, 0] > 0).long()
    mlr = ProductMLR(space, 2, dtype=torch.float64)
    opt = torch.optim.Adam(mlr.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(mlr(x), y).backward()
        opt.step()
    assert float((mlr(x).argmax(-1) == y).double().mean()) > 0.95
    other = ProductMLR(ProductSpace("H2xE2"), 2, dtype=torch.float64)
    other.load_state_dict(mlr.state_dict())
    torch.testing.assert_close(other(x), mlr(x))
    with pytest.raises(ValueError, match="num_classes"):
        ProductMLR(space, 0)
    with pytest.raises(TypeError, match="space"):
        ProductMLR("H2", 3)
    with pytest.raises(ValueError, match="x must have shape"):
        mlr(x[:, :3])


def _graph(n=9):
    g = torch.Generator().manual_seed(2)
    src = torch.randint(0, n, (20,), generator=g)
    dst = torch.randint(0, n, (20,), generator=g)
    ei = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    return coalesce(ei[:, ei[0] != ei[1]], num_nodes=n)  # no duplicate edges (the dense A has none)


def test_kappa_gcn_is_a_gcn_at_kappa_zero():
    n = 9
    ei = _graph(n)
    space_in, space_out = ProductSpace("E3xE2"), ProductSpace("E2xE4")
    conv = KappaGCNConv(space_in, space_out, bias=False, dtype=torch.float64)
    x = torch.randn(n, 5, dtype=torch.float64)
    A = torch.zeros(n, n, dtype=torch.float64)
    A[ei[1], ei[0]] = 1
    A = A + torch.eye(n, dtype=torch.float64)
    dinv = A.sum(1).rsqrt()
    W = dinv[:, None] * A * dinv[None, :]
    W = W / W.sum(1, keepdim=True)
    ref = torch.cat([W @ (x[:, :3] @ conv.weights[0].T), W @ (x[:, 3:] @ conv.weights[1].T)], -1)
    torch.testing.assert_close(conv(x, ei), ref, rtol=1e-10, atol=1e-12)


def test_kappa_gcn_hyperbolic_properties():
    n = 9
    ei = _graph(n)
    space = ProductSpace("H2(-0.8)xS2(0.5)")
    conv = KappaGCNConv(space, space, activation=torch.tanh, dtype=torch.float64)
    x = space.random(n, 4, dtype=torch.float64, std=0.6)
    out = conv(x, ei)
    assert out.shape == (n, 4) and torch.isfinite(out).all()
    assert float(out.detach()[:, :2].pow(2).sum(-1).max()) < 1 / 0.8  # inside the ball
    # the gyromidpoint of identical points is that point; ½ ⊗ (2 ⊗ x) = x
    h = space.split(x)[0]
    torch.testing.assert_close(mobius_scalar_mul(0.5, mobius_scalar_mul(2.0, h, -0.8), -0.8), h)
    one = KappaGCNConv(ProductSpace("H2(-0.8)"), ProductSpace("H2(-0.8)"), bias=False, dtype=torch.float64)
    with torch.no_grad():
        one.weights[0].copy_(torch.eye(2, dtype=torch.float64))
    same = h[:1].expand(n, 2).contiguous()
    torch.testing.assert_close(one(same, ei), same, rtol=1e-10, atol=1e-12)
    # node permutation equivariance
    assert_equivariant(
        conv,
        (x, ei),
        (node_permutation_action, edge_index_permutation_action),
        node_permutation_action,
        group_sampler=lambda: random_permutation(n),
    )
    assert_compiles(conv, x, ei, backend="aot_eager")
    other = KappaGCNConv(space, space, activation=torch.tanh, dtype=torch.float64)
    other.load_state_dict(conv.state_dict())
    torch.testing.assert_close(other(x, ei), out)
    with pytest.raises(ValueError, match="same number of factors"):
        KappaGCNConv(space, ProductSpace("H2(-0.8)"))
    with pytest.raises(ValueError, match="curvatures must match"):
        KappaGCNConv(space, ProductSpace("H2xS2(0.5)"))
    with pytest.raises(ValueError, match="edge_index"):
        conv(x, ei[0])


def test_layers_on_empty_inputs():
    space = ProductSpace("H2xS2xE1")
    e = torch.zeros(0, 5, dtype=torch.float64)
    assert ProductMLR(space, 3, dtype=torch.float64)(e).shape == (0, 3)
    conv = KappaGCNConv(space, space, dtype=torch.float64)
    assert conv(e, torch.zeros(2, 0, dtype=torch.long)).shape == (0, 5)
