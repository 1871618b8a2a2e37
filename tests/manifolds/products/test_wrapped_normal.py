"""Wrapped normal: the log-density integrates to 1 (2-D quadrature) and matches the samples' spread."""

import math

import pytest
import torch

from geomrep.manifolds.products import ProductSpace, wrapped_normal_log_prob, wrapped_normal_sample
from geomrep.manifolds.products import stereographic as st


def _grid(half_width: float, n: int):
    t = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    h = float(t[1] - t[0])
    X, Y = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([X, Y], -1).reshape(-1, 2), h * h


@pytest.mark.parametrize(
    "k, mean, std",
    [
        (-0.6, [0.3, -0.5], [0.5, 0.8]),  # hyperbolic, anisotropic, mean off the origin
        (1.7, [0.2, 0.1], [0.25, 0.25]),  # spherical with σ ≪ π/√κ
        (0.0, [0.4, 0.0], [0.6, 0.6]),
    ],
)
def test_log_density_integrates_to_one(k, mean, std):
    """∫ p(z) λ_z² dz over the chart (the Riemannian volume) equals 1."""
    mean = torch.tensor(mean, dtype=torch.float64)
    std = torch.tensor(std, dtype=torch.float64)
    half = 1 / (-k) ** 0.5 if k < 0 else 4.0
    z, area = _grid(half, 901)
    if k < 0:
        z = z[(z.pow(2).sum(-1) * (-k)) < 1 - 1e-9]
    logp = wrapped_normal_log_prob(z, mean, std, k)
    vol = st.lambda_x(z, k) ** 2
    total = float((logp.exp() * vol).sum() * area)
    assert abs(total - 1) < 5e-3, total


@pytest.mark.parametrize("k", [-1.4, 0.0, 0.9])
def test_samples_have_the_stated_spread(k):
    """E d(μ, z)² = Σ σ_i² (a sampler forgetting λ_0 = 2 would be twice too wide) and E_samples[f] = ∫ f p."""
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([0.2, -0.1], dtype=torch.float64)
    std = torch.tensor([0.3, 0.5], dtype=torch.float64)
    z = wrapped_normal_sample(mean, std, k, sample_shape=(40000,), generator=g)
    assert z.shape == (40000, 2)
    d2 = st.dist(mean, z, k) ** 2
    assert abs(float(d2.mean()) - float(std.pow(2).sum())) < 0.01
    # the density gives the same expectation of a non-radial function
    zz, area = _grid(1 / (-k) ** 0.5 if k < 0 else 4.0, 801)
    if k < 0:
        zz = zz[(zz.pow(2).sum(-1) * (-k)) < 1 - 1e-9]
    w = wrapped_normal_log_prob(zz, mean, std, k).exp() * st.lambda_x(zz, k) ** 2 * area
    f = lambda p: torch.tanh(3 * p[:, 0]) + p[:, 1] ** 2  # noqa: E731
    assert abs(float(f(z).mean()) - float((f(zz) * w).sum())) < 0.01


def test_product_log_density_adds_and_validates():
    space = ProductSpace("H2(-0.5)xS1(2)xE1")
    mean = space.random(space.dim, dtype=torch.float64, std=0.3)
    z = space.wrapped_normal(mean, 0.4, sample_shape=(5,), generator=torch.Generator().manual_seed(1))
    lp = space.wrapped_normal_log_prob(z, mean, 0.4)
    parts = space.split(z)
    mus = space.split(mean)
    ref = sum(wrapped_normal_log_prob(p, m, 0.4, f.k) for p, m, f in zip(parts, mus, space.factors))
    torch.testing.assert_close(lp, ref)
    # 1-D factors: the density is exactly a Gaussian in the signed distance
    one = ProductSpace("H1(-2)")
    z1 = one.wrapped_normal(torch.zeros(1, dtype=torch.float64), 0.7, sample_shape=(4,))
    r = one.dist(torch.zeros(1, dtype=torch.float64), z1)
    expect = -0.5 * (r / 0.7) ** 2 - math.log(0.7) - 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(
        one.wrapped_normal_log_prob(z1, torch.zeros(1, dtype=torch.float64), 0.7), expect
    )
    with pytest.raises(ValueError, match="std"):
        space.wrapped_normal(mean, -1.0)
    with pytest.raises(ValueError, match="mean must have shape"):
        space.wrapped_normal(mean[:2], 1.0)
