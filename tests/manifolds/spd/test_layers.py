"""SPDNet layers vs dense formulas / numpy / scipy; gradients at repeated eigenvalues."""

import geoopt
import numpy as np
import pytest
import scipy.linalg as sla
import torch

from geomrep.manifolds.spd import BiMap, CovPool, LogEig, ReEig, sym_to_vec
from geomrep.testing import assert_compiles, assert_gradcheck

from ._helpers import np64, random_spd


def test_bimap_dense_formula_and_stiefel():
    torch.manual_seed(0)
    layer = BiMap(6, 3).double()
    assert isinstance(layer.weight, geoopt.ManifoldParameter)
    assert isinstance(layer.weight.manifold, geoopt.Stiefel)
    W = layer.weight[0].detach()
    torch.testing.assert_close(W.mT @ W, torch.eye(3, dtype=torch.float64))
    X = random_spd(5, n=6, seed=1)
    ref = np.einsum("ia,nij,jb->nab", np64(W), np64(X), np64(W))
    np.testing.assert_allclose(layer(X).detach().numpy(), ref, rtol=1e-13, atol=1e-14)


def test_bimap_channels():
    torch.manual_seed(1)
    layer = BiMap(5, 2, channels=3).double()
    assert layer.weight.shape == (3, 5, 2)
    X = random_spd(4, 1, n=5, seed=2)  # broadcast over channels
    Y = layer(X)
    assert Y.shape == (4, 3, 2, 2)
    for c in range(3):
        W = layer.weight[c].detach()
        torch.testing.assert_close(Y[:, c].detach(), W.mT @ X[:, 0] @ W)
    with pytest.raises(ValueError, match="out_size"):
        BiMap(3, 4)
    with pytest.raises(ValueError, match=r"\(\.\.\., 5, 5\)"):
        layer(random_spd(2, n=4))


def test_bimap_trains_on_stiefel():
    torch.manual_seed(2)
    layer = BiMap(4, 2).double()
    opt = geoopt.optim.RiemannianAdam(layer.parameters(), lr=0.05)
    X = random_spd(8, n=4, seed=3)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = torch.diagonal(layer(X), dim1=-2, dim2=-1).sum()
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    W = layer.weight[0].detach()
    # geoopt's Cayley retraction keeps WᵀW = I up to a slow drift (~1e-8 per step)
    torch.testing.assert_close(W.mT @ W, torch.eye(2, dtype=torch.float64), rtol=1e-6, atol=1e-6)
    assert float(loss) < first  # the trace of WᵀXW decreases towards the smallest eigenvalues


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reeig_vs_numpy(dtype):
    X = random_spd(5, n=6, cond=1e4, seed=4, dtype=dtype)
    Y = ReEig(1e-2)(X)
    ref = []
    for x in np64(X):
        lam, U = np.linalg.eigh(x)
        ref.append((U * np.maximum(lam, 1e-2)) @ U.T)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(np64(Y), np.stack(ref), rtol=tol, atol=tol)
    assert Y.dtype == dtype


def test_reeig_gradients_at_ties():
    eps = 0.5
    layer = ReEig(eps)
    ties = torch.diag(torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=torch.float64))
    generic = random_spd(n=4, seed=5)
    assert_gradcheck(lambda a: layer((a + a.mT) / 2), (generic,), points=[(ties,), (2 * torch.eye(4),)])
    X = (2 * torch.eye(4, dtype=torch.float64)).requires_grad_()
    layer(X).sum().backward()
    assert torch.isfinite(X.grad).all()


def test_logeig_vs_scipy_and_isometric_vec():
    X = random_spd(3, n=5, cond=100.0, seed=6)
    L = LogEig(flatten=False)(X)
    ref = np.stack([sla.logm(x).real for x in np64(X)])
    np.testing.assert_allclose(L.numpy(), ref, rtol=1e-11, atol=1e-13)
    v = LogEig()(X)
    assert v.shape == (3, 15)
    torch.testing.assert_close(v.norm(dim=-1), torch.linalg.matrix_norm(L), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(sym_to_vec(L)[:, :5], torch.diagonal(L, dim1=-2, dim2=-1))
    Xc = random_spd(3, 2, n=4, seed=7)
    assert LogEig(flatten_channels=True)(Xc).shape == (3, 20)
    ties = torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64))
    assert_gradcheck(lambda a: LogEig()((a + a.mT) / 2), (random_spd(n=3, seed=8),), points=[(ties,)])


def test_covpool_vs_numpy_cov():
    g = torch.Generator().manual_seed(9)
    S = torch.randn(4, 8, 50, dtype=torch.float64, generator=g)
    C = CovPool(eps=0.0)(S)
    ref = np.stack([np.cov(s) for s in np64(S)])
    np.testing.assert_allclose(C.numpy(), ref, rtol=1e-13, atol=1e-14)
    C2 = CovPool(eps=1e-3, relative=True)(S)
    tau = np.trace(ref, axis1=1, axis2=2) / 8
    ridge = 1e-3 * tau[:, None, None] * np.eye(8)
    np.testing.assert_allclose(C2.numpy(), ref + ridge, rtol=1e-13, atol=1e-14)
    # short signals (T < c): still SPD thanks to the ridge
    C3 = CovPool(eps=1e-3)(torch.randn(2, 8, 4, dtype=torch.float64, generator=g))
    assert bool((torch.linalg.eigvalsh(C3) > 0).all())
    with pytest.raises(ValueError, match="time"):
        CovPool()(torch.randn(3, 1))


def test_spdnet_stack_compiles():
    torch.manual_seed(3)
    net = torch.nn.Sequential(CovPool(eps=1e-3), BiMap(6, 4), ReEig(1e-3), LogEig()).double()
    x = torch.randn(5, 6, 40, dtype=torch.float64)
    assert_compiles(net, x, backend="aot_eager")


# ----------------------------------------------------------------------------- issue #17: pickling
@pytest.mark.parametrize("metric", ["gbw", "bw", "aim", "lem"])
def test_whole_spdnet_pickles_and_saves(metric):
    """torch.save(model) and DDP's spawn pickle whole modules: ReEig used to hold local closures."""
    import io
    import pickle

    from geomrep.manifolds.spd import SPDBatchNorm

    torch.manual_seed(3)
    model = torch.nn.Sequential(
        BiMap(6, 4), ReEig(1e-3), SPDBatchNorm(4, metric=metric), LogEig(), torch.nn.Linear(10, 2)
    ).double()
    X = random_spd(8, n=6, cond=30.0, seed=4)
    model(X)  # non-trivial running statistics
    model.eval()
    ref = model(X).detach()
    clone = pickle.loads(pickle.dumps(model))
    torch.testing.assert_close(clone(X), ref, rtol=0, atol=0)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    torch.testing.assert_close(loaded(X), ref, rtol=0, atol=0)
    assert loaded[1].eps == 1e-3


def test_reeig_rejects_bad_eps():
    for eps in (0.0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="eps"):
            ReEig(eps)


def test_layers_name_x_in_errors_and_accept_half_precision():
    X = random_spd(4, n=3, seed=5)
    with pytest.raises(ValueError, match=r"^X must be symmetric positive definite; X\[1\] has smallest"):
        LogEig()(torch.stack([X[0], -X[1]]))
    with pytest.raises(ValueError, match=r"^X must be symmetric; X\[0\]"):
        ReEig()(X + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1))
    with pytest.raises(TypeError, match="X has dtype torch.float32 but the weight has torch.float64"):
        BiMap(3, 2).double()(X.float())
    with pytest.raises(TypeError, match="X must have a real floating dtype"):
        LogEig()(X.to(torch.int64))
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="eps"):
            CovPool(eps=bad)
    # float16/bfloat16 are computed in float32 by geomrep.linalg and returned in the input dtype
    for half in (torch.float16, torch.bfloat16):
        L = LogEig(flatten=False)(X.to(half))
        assert L.dtype == half
        torch.testing.assert_close(L.double(), LogEig(flatten=False)(X), rtol=2e-2, atol=2e-2)
