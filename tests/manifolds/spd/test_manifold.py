"""BuresWasserstein as a geoopt.Manifold: the contract, and Riemannian optimisation of an SPD parameter."""

import geoopt
import pytest
import torch

from geomrep.manifolds.spd import BuresWasserstein, bw_distance, bw_mean

from ._helpers import random_spd, random_sym


@pytest.fixture
def man():
    return BuresWasserstein()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projections_idempotent(man, dtype):
    A = random_sym(4, n=5, seed=1, dtype=dtype)  # indefinite
    x = man.projx(A)
    assert bool((torch.linalg.eigvalsh(x.double()) > 0).all())
    torch.testing.assert_close(man.projx(x), x)
    X = random_spd(4, n=5, seed=2, dtype=dtype)
    torch.testing.assert_close(man.projx(X), X)  # SPD points are fixed
    U = torch.randn(4, 5, 5, dtype=dtype)
    u = man.proju(X, U)
    torch.testing.assert_close(man.proju(X, u), u)
    man.assert_check_point_on_manifold(X)
    man.assert_check_vector_on_tangent(X, u)
    assert not man.check_point_on_manifold(A)


def test_exp_log_and_distance_contract(man):
    x = random_spd(3, n=4, cond=20.0, seed=3)
    y = random_spd(3, n=4, cond=20.0, seed=4)
    v = man.logmap(x, y)
    torch.testing.assert_close(man.expmap(x, v), y, rtol=1e-11, atol=1e-13)  # exp ∘ log = id
    torch.testing.assert_close(man.dist(x, y), man.norm(x, v), rtol=1e-12, atol=1e-14)
    u = 0.3 * man.logmap(x, random_spd(3, n=4, cond=20.0, seed=5))
    torch.testing.assert_close(man.logmap(x, man.expmap(x, u)), u, rtol=1e-11, atol=1e-13)  # log ∘ exp = id
    torch.testing.assert_close(man.dist(x, man.expmap(x, u)), man.norm(x, u), rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(man.retr(x, u), man.expmap(x, u))
    assert man.dist(x, y, keepdim=True).shape == (3, 1, 1)
    torch.testing.assert_close(man.dist2(x, y), man.dist(x, y) ** 2, rtol=1e-13, atol=1e-15)


def test_broadcasting(man):
    x = random_spd(n=4, seed=6)
    Y = random_spd(5, n=4, seed=7)
    assert man.dist(x, Y).shape == (5,)
    assert man.logmap(x, Y).shape == (5, 4, 4)
    assert man.inner(x, man.logmap(x, Y)).shape == (5,)


def test_egrad2rgrad_defining_property(man):
    """g_x(rgrad, v) = ⟨egrad, v⟩_F for every tangent v."""
    x = random_spd(n=5, cond=30.0, seed=8)
    g = random_sym(n=5, seed=9)
    r = man.egrad2rgrad(x, g)
    for seed in range(3):
        v = random_sym(n=5, seed=10 + seed)
        torch.testing.assert_close(man.inner(x, r, v), (g * v).sum(), rtol=1e-11, atol=1e-13)
    # geoopt's adaptive optimisers take square roots of component_inner: it must be >= 0
    assert float(man.component_inner(x, r).min()) >= 0


def test_transp_origin_random(man):
    x = man.random(2, 3, 3, dtype=torch.float64)
    man.assert_check_point_on_manifold(x)
    o = man.origin(3, 3, dtype=torch.float64)
    torch.testing.assert_close(o, torch.eye(3, dtype=torch.float64))
    v = random_sym(n=3, seed=13)
    torch.testing.assert_close(man.transp(x[0], x[1], v), v)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_riemannian_optimisation_finds_barycenter(opt):
    """Minimising Σ d²(P, X_i) over a ManifoldParameter on BuresWasserstein reaches bw_mean."""
    X = random_spd(6, n=3, cond=10.0, seed=14)
    target = bw_mean(X, iters=100)
    P = geoopt.ManifoldParameter(torch.eye(3, dtype=torch.float64), manifold=BuresWasserstein())
    if opt == "sgd":
        optim = geoopt.optim.RiemannianSGD([P], lr=0.1)
    else:
        optim = geoopt.optim.RiemannianAdam([P], lr=0.05)
    for _ in range(300):
        optim.zero_grad()
        bw_distance(P, X, squared=True).mean().backward()
        optim.step()
    BuresWasserstein().assert_check_point_on_manifold(P.detach())
    assert float(bw_distance(P.detach(), target)) < (1e-6 if opt == "sgd" else 1e-2)
