"""Stereographic ↔ hyperboloid / sphere conversion: an isometry for every κ (not only |κ| = 1)."""

import pytest
import torch

from geomrep.manifolds.products import ProductSpace, from_ambient, to_ambient
from geomrep.manifolds.products import stereographic as st

from ._helpers import ball_points


@pytest.mark.parametrize("k", [-3.7, -0.21, 0.34, 2.9])
def test_ambient_is_an_isometry(k):
    x = ball_points(40, 3, k, seed=1)
    y = ball_points(40, 3, k, seed=2)
    a, b = to_ambient(x, k), to_ambient(y, k)
    R2 = 1 / abs(k)
    if k < 0:
        mink = lambda p, q: -p[..., 0] * q[..., 0] + (p[..., 1:] * q[..., 1:]).sum(-1)  # noqa: E731
        torch.testing.assert_close(
            mink(a, a), torch.full((40,), -R2, dtype=torch.float64), rtol=1e-12, atol=1e-12
        )
        assert bool((a[:, 0] > 0).all())
        ref = R2**0.5 * torch.acosh((-mink(a, b) / R2).clamp_min(1))
    else:
        torch.testing.assert_close(
            a.pow(2).sum(-1), torch.full((40,), R2, dtype=torch.float64), rtol=1e-12, atol=1e-12
        )
        ref = R2**0.5 * torch.acos(((a * b).sum(-1) / R2).clamp(-1, 1))
    torch.testing.assert_close(st.dist(x, y, k), ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(from_ambient(a, k), x, rtol=1e-12, atol=1e-12)


def test_euclidean_factor_and_product_roundtrip():
    x = ball_points(10, 2, 0.0, seed=3)
    y = ball_points(10, 2, 0.0, seed=4)
    torch.testing.assert_close((to_ambient(x, 0.0) - to_ambient(y, 0.0)).norm(dim=-1), st.dist(x, y, 0.0))
    space = ProductSpace("H2(-0.3)xS3(1.7)xE2")
    assert space.ambient_dim == 3 + 4 + 2
    p = space.random(7, space.dim, dtype=torch.float64, std=0.7)
    torch.testing.assert_close(space.from_ambient(space.to_ambient(p)), p, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="a must have shape"):
        space.from_ambient(torch.zeros(3, space.dim, dtype=torch.float64))
