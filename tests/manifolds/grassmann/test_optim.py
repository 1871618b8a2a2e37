"""GrassmannSGD (the GCR update) and training Grassmann parameters with geoopt's optimizers."""

import io
import time

import geoopt
import pytest
import torch
from torch import nn

from geomrep.manifolds.grassmann import Grassmann, GrassmannClassifier, GrassmannSGD, manifold_param_groups

from ._helpers import exp_lift_ref, random_bases


def _param(C=3, d=7, k=2, seed=0, dtype=torch.float64, dims=None):
    man = Grassmann(subspace_dims=dims) if dims else Grassmann()
    if dims:
        x = torch.zeros(len(dims), d, max(dims), dtype=dtype)
        for i, kk in enumerate(dims):
            x[i, :, :kk] = random_bases(d, kk, seed=seed + i, dtype=dtype)
    else:
        x = random_bases(C, d, k, seed=seed, dtype=dtype)
    return geoopt.ManifoldParameter(x, manifold=man)


def test_step_matches_matrix_exponential_reference():
    """Two steps with momentum: buf = μ·buf + g, H = (I − SSᵀ)buf, S ← expm-geodesic(S, −ηH)."""
    p = _param(seed=1)
    S0 = p.detach().clone()
    opt = GrassmannSGD([p], lr=0.3, momentum=0.5, qr_every=100)
    g1, g2 = torch.randn(3, 7, 2, dtype=torch.float64), torch.randn(3, 7, 2, dtype=torch.float64)
    p.grad = g1.clone()
    opt.step()
    S1 = torch.stack([exp_lift_ref(S0[i], -0.3 * (g1[i] - S0[i] @ (S0[i].T @ g1[i]))) for i in range(3)])
    torch.testing.assert_close(p.detach(), S1, atol=1e-12, rtol=0)
    p.grad = g2.clone()
    opt.step()
    b = 0.5 * g1 + g2
    S2 = torch.stack([exp_lift_ref(S1[i], -0.3 * (b[i] - S1[i] @ (S1[i].T @ b[i]))) for i in range(3)])
    torch.testing.assert_close(p.detach(), S2, atol=1e-12, rtol=0)


def test_no_weight_decay_on_bases_and_sgd_on_ordinary_params():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3).double()
    ref = nn.Linear(4, 3).double()
    ref.load_state_dict(lin.state_dict())
    p, q = _param(seed=2), _param(seed=2)
    opt = GrassmannSGD([*lin.parameters(), p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt_q = GrassmannSGD([q], lr=0.1, momentum=0.9, weight_decay=0.0)
    torch_sgd = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        g = torch.randn(3, 7, 2, dtype=torch.float64)
        p.grad, q.grad = g.clone(), g.clone()
        x = torch.randn(5, 4, dtype=torch.float64)
        for m in (lin, ref):
            m.zero_grad()
            m(x).pow(2).sum().backward()
        opt.step()
        opt_q.step()
        torch_sgd.step()
    torch.testing.assert_close(p.detach(), q.detach(), atol=1e-14, rtol=0)  # weight decay ignored
    for a, b in zip(lin.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)  # torch.optim.SGD for ordinary parameters


def test_qr_every_and_mixed_dims():
    p = _param(dims=[1, 3, 2], seed=3)
    opt = GrassmannSGD([p], lr=0.5, momentum=0.0, qr_every=2)
    for _ in range(4):
        p.grad = torch.randn_like(p)
        opt.step()
        p.manifold.assert_check_point_on_manifold(p.detach())
        assert bool((p[0, :, 1:] == 0).all()) and bool((p[2, :, 2:] == 0).all())
    assert opt.state[p]["step"] == 4


def test_qr_runs_every_qr_every_steps():
    calls = []

    class Counting(Grassmann):
        def projx(self, x):
            calls.append(1)
            return super().projx(x)

    p = geoopt.ManifoldParameter(random_bases(2, 6, 2, seed=7), manifold=Counting())
    opt = GrassmannSGD([p], lr=0.1, qr_every=3)
    for _ in range(7):
        p.grad = torch.randn_like(p)
        opt.step()
    assert len(calls) == 2  # after steps 3 and 6


def test_follow_body_scheduler():
    body_param = nn.Parameter(torch.zeros(2))
    body = torch.optim.SGD([body_param], lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(body, step_size=1, gamma=0.25)
    p, q = _param(seed=4), _param(seed=4)
    opt = GrassmannSGD([p], lr=0.2, momentum=0.0, follow=body)
    ref = GrassmannSGD([q], lr=0.05, momentum=0.0)  # 0.2 × 0.25 after one scheduler step
    body.step()
    sched.step()
    g = torch.randn(3, 7, 2, dtype=torch.float64)
    p.grad, q.grad = g.clone(), g.clone()
    opt.step()
    ref.step()
    torch.testing.assert_close(p.detach(), q.detach(), atol=1e-14, rtol=0)
    # a scheduler attached directly works as for any torch optimizer
    s2 = torch.optim.lr_scheduler.StepLR(ref, step_size=1, gamma=0.5)
    ref.step()
    s2.step()
    assert ref.param_groups[0]["lr"] == pytest.approx(0.025)


def test_optimizer_state_dict_round_trip():
    p, q = _param(seed=5), _param(seed=5)
    a = GrassmannSGD([p], lr=0.2)
    grads = [torch.randn(3, 7, 2, dtype=torch.float64) for _ in range(6)]
    for g in grads[:3]:
        p.grad = g.clone()
        a.step()
    q.data.copy_(p.detach())
    b = GrassmannSGD([q], lr=0.2)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)  # through serialisation (in-process loading would share buffers)
    buf.seek(0)
    b.load_state_dict(torch.load(buf))
    for g in grads[3:]:
        p.grad, q.grad = g.clone(), g.clone()
        a.step()
        b.step()
    torch.testing.assert_close(p.detach(), q.detach(), atol=0, rtol=0)
    assert b.state[q]["step"] == 6


def test_rejects_other_manifolds_and_bad_options():
    sphere = geoopt.ManifoldParameter(torch.tensor([1.0, 0.0]), manifold=geoopt.Sphere())
    with pytest.raises(ValueError, match="RiemannianSGD"):
        GrassmannSGD([sphere], lr=0.1)
    p = _param()
    with pytest.raises(ValueError, match="momentum"):
        GrassmannSGD([p], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="lr"):
        GrassmannSGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="qr_every"):
        GrassmannSGD([p], lr=0.1, qr_every=0)
    with pytest.raises(TypeError, match="follow"):
        GrassmannSGD([p], lr=0.1, follow="sgd")


def test_param_groups_keep_weight_decay_off_manifold_params():
    model = nn.Sequential(nn.Linear(4, 6), GrassmannClassifier(6, 3, subspace_dim=2))
    groups = manifold_param_groups(model, 5e-3, manifold_lr=0.3)
    assert [len(g["params"]) for g in groups] == [2, 1]
    assert groups[1]["weight_decay"] == 0.0 and groups[1]["lr"] == 0.3
    opt = geoopt.optim.RiemannianSGD(groups, lr=0.1, momentum=0.9)
    head = model[1]
    ref = geoopt.ManifoldParameter(head.bases.detach().clone(), manifold=Grassmann())
    ref_opt = geoopt.optim.RiemannianSGD([ref], lr=0.3, momentum=0.9, weight_decay=0.0)
    for _ in range(3):
        model.zero_grad()
        model(torch.randn(8, 4)).logsumexp(-1).sum().backward()
        ref.grad = head.bases.grad.clone()
        opt.step()
        ref_opt.step()
    torch.testing.assert_close(head.bases.detach(), ref.detach(), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="weight_decay"):
        manifold_param_groups(model, -1.0)


@pytest.mark.parametrize("name", ["grassmann_sgd", "riemannian_sgd", "riemannian_adam"])
def test_bases_stay_orthonormal_for_10000_steps_float32(name):
    """‖SᵀS − I‖_max ≤ 1e-6 in float32 after 10,000 steps of each optimizer (random gradients)."""
    p = _param(C=4, d=8, k=3, seed=6, dtype=torch.float32)
    if name == "grassmann_sgd":
        opt = GrassmannSGD([p], lr=0.1, momentum=0.9)
    elif name == "riemannian_sgd":
        opt = geoopt.optim.RiemannianSGD([p], lr=0.1, momentum=0.9)
    else:
        opt = geoopt.optim.RiemannianAdam([p], lr=0.01)
    gen = torch.Generator().manual_seed(0)
    grads = torch.randn(64, 4, 8, 3, generator=gen)
    t0 = time.perf_counter()
    for i in range(10_000):
        p.grad = grads[i % 64]
        opt.step()
    eye = torch.eye(3, dtype=torch.float64)
    S = p.detach().double()
    err = float((S.mT @ S - eye).abs().max())
    assert err <= 1e-6, f"{name}: orthonormality defect {err:.2e} after 10,000 steps"
    assert time.perf_counter() - t0 < 120


@pytest.mark.parametrize("name", ["grassmann_sgd", "riemannian_sgd", "riemannian_adam"])
def test_training_separates_classes(name):
    """A head on fixed features of 3 well-separated clusters reaches 100% training accuracy."""
    gen = torch.Generator().manual_seed(1)
    centers = 3 * torch.randn(3, 10, generator=gen)
    y = torch.arange(3).repeat_interleave(20)
    x = centers[y] + 0.3 * torch.randn(60, 10, generator=gen)
    head = GrassmannClassifier(10, 3, subspace_dim=2, scale=10.0)
    if name == "grassmann_sgd":
        opt = GrassmannSGD(head.parameters(), lr=0.05)
    elif name == "riemannian_sgd":
        opt = geoopt.optim.RiemannianSGD(head.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = geoopt.optim.RiemannianAdam(head.parameters(), lr=0.02)
    loss0 = float(nn.functional.cross_entropy(head(x), y).detach())
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(x), y)
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * loss0
    assert float((head(x).argmax(-1) == y).float().mean()) == 1.0
