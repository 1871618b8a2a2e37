"""Shared helpers for the product-space tests: random points inside each κ-stereographic model."""

import torch


def ball_points(
    n: int, d: int, k: float, *, seed: int, dtype=torch.float64, scale: float = 0.8
) -> torch.Tensor:
    """``(n, d)`` points; for κ < 0 strictly inside the ball (norm < scale/√−κ), else Gaussian/√|κ|."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    if k < 0:
        r = torch.rand(n, 1, generator=g, dtype=torch.float64) * scale / (-k) ** 0.5
        x = x / x.norm(dim=-1, keepdim=True) * r
    elif k > 0:
        x = x * 0.7 / k**0.5
    return x.to(dtype)


def closed_form_dist(x: torch.Tensor, y: torch.Tensor, k: float) -> torch.Tensor:
    """Textbook formulas, independent of the library: arccosh / arccos of the chordal quantity."""
    x, y = x.double(), y.double()
    diff2 = (x - y).pow(2).sum(-1)
    if k == 0:
        return 2 * diff2.sqrt()
    ax = 1 + k * x.pow(2).sum(-1)
    ay = 1 + k * y.pow(2).sum(-1)
    if k < 0:
        return torch.acosh(1 - 2 * k * diff2 / (ax * ay)) / (-k) ** 0.5
    return torch.acos((1 - 2 * k * diff2 / (ax * ay)).clamp(-1, 1)) / k**0.5
