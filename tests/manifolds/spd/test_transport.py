"""BW parallel transport to/from I: tie-safe gradients (vs finite differences), validation, broadcasting."""

import pytest
import torch

from geomrep.manifolds.spd import bw_transport_from_identity, bw_transport_to_identity

from ._helpers import random_spd, random_sym

TRANSPORTS = [bw_transport_to_identity, bw_transport_from_identity]


def _rotated(eigs, seed=0):
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), dtype=torch.float64, generator=g))
    P = (Q * torch.tensor(eigs, dtype=torch.float64)) @ Q.mT
    return 0.5 * (P + P.mT)


POINTS = {
    "diag(1,1,2)": lambda: torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)),
    "2I": lambda: 2.0 * torch.eye(3, dtype=torch.float64),
    "rotated ties (3,3,5,7)": lambda: _rotated([3.0, 3.0, 5.0, 7.0]),
    "near tie 1e-9": lambda: _rotated([1.0, 1.0 + 1e-9, 4.0]),
    "generic": lambda: random_spd(n=4, cond=20.0, seed=3),
}


def _directional_fd(f, P, V, G, W, wrt_p: bool, h=1e-6):
    def loss(t):
        return float(((f(P + t * W, V) if wrt_p else f(P, V + t * W)) * G).sum())

    return (loss(h) - loss(-h)) / (2 * h)


@pytest.mark.parametrize("f", TRANSPORTS)
@pytest.mark.parametrize("point", list(POINTS))
def test_gradients_match_finite_differences_at_ties(f, point):
    P = POINTS[point]()
    k = P.shape[-1]
    V = random_sym(n=k, seed=1)
    G = torch.randn(k, k, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    Pr, Vr = P.clone().requires_grad_(), V.clone().requires_grad_()
    (f(Pr, Vr) * G).sum().backward()
    assert torch.isfinite(Pr.grad).all() and torch.isfinite(Vr.grad).all()
    torch.testing.assert_close(Pr.grad, Pr.grad.mT, rtol=0, atol=1e-14)
    for seed in range(3):
        W = random_sym(n=k, seed=10 + seed)
        for wrt_p, grad in ((True, Pr.grad), (False, Vr.grad)):
            num = _directional_fd(f, P, V, G, W, wrt_p)
            ana = float((grad * W).sum())
            assert abs(ana - num) <= 1e-7 * max(1.0, abs(num)), (wrt_p, ana, num)


@pytest.mark.parametrize("f", TRANSPORTS)
def test_gradient_equals_eigh_autograd_away_from_ties(f):
    """An independent path: the same formula differentiated by torch.linalg.eigh's own autograd."""
    P = random_spd(n=5, cond=30.0, seed=4)
    V = random_sym(n=5, seed=5)
    G = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    Pr = P.clone().requires_grad_()
    (f(Pr, V) * G).sum().backward()
    Pe = P.clone().requires_grad_()
    s, Q = torch.linalg.eigh(Pe)
    S = s[:, None] + s[None, :]
    K = torch.rsqrt(S / 2) if f is bw_transport_to_identity else torch.sqrt(S / 2)
    ((Q @ (K * (Q.mT @ V @ Q)) @ Q.mT) * G).sum().backward()
    torch.testing.assert_close(Pr.grad, Pe.grad, rtol=1e-11, atol=1e-13)


def test_eigh_autograd_is_nan_at_the_tie_we_handle():
    """Why the custom backward exists: eigh's autograd returns non-finite values at P = diag(1, 1, 2)."""
    P = POINTS["diag(1,1,2)"]().requires_grad_()
    s, Q = torch.linalg.eigh(P)
    K = torch.rsqrt((s[:, None] + s[None, :]) / 2)
    V = random_sym(n=3, seed=1)
    (Q @ (K * (Q.mT @ V @ Q)) @ Q.mT).square().sum().backward()
    assert not torch.isfinite(P.grad).all()


@pytest.mark.parametrize("f", TRANSPORTS)
def test_round_trip_broadcasting_and_float32(f):
    P = random_spd(n=4, cond=10.0, seed=7)
    V = random_sym(3, n=4, seed=8)
    T = bw_transport_to_identity(P, V)
    assert T.shape == (3, 4, 4)
    torch.testing.assert_close(bw_transport_from_identity(P, T), V, rtol=1e-12, atol=1e-12)
    Pr = P.clone().requires_grad_()
    f(Pr, V).sum().backward()
    assert Pr.grad.shape == (4, 4)
    T32 = f(P.float(), V.float())
    torch.testing.assert_close(T32.double(), f(P, V), rtol=1e-5, atol=1e-5)
    empty = f(P, V[:0])
    assert empty.shape == (0, 4, 4)


@pytest.mark.parametrize("f", TRANSPORTS)
def test_non_spd_base_point_and_non_symmetric_vector_raise(f):
    eye = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"P must be symmetric positive definite.*eigenvalue -1"):
        f(-eye, eye)
    with pytest.raises(ValueError, match=r"P must be symmetric positive definite.*eigenvalue 0"):
        f(torch.diag(torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)), eye)
    with pytest.raises(ValueError, match="V must be symmetric"):
        f(eye, torch.triu(torch.ones(3, 3, dtype=torch.float64)))
    with pytest.raises(ValueError, match="P must be finite"):
        f(torch.full((3, 3), float("nan"), dtype=torch.float64), eye)


def test_compiles_without_graph_breaks_forward_and_backward_at_a_tie():
    P = POINTS["diag(1,1,2)"]()
    V = random_sym(n=3, seed=1)
    compiled = torch.compile(bw_transport_to_identity, backend="aot_eager", fullgraph=True)
    Pc, Pe = P.clone().requires_grad_(), P.clone().requires_grad_()
    compiled(Pc, V).square().sum().backward()
    bw_transport_to_identity(Pe, V).square().sum().backward()
    torch.testing.assert_close(Pc.grad, Pe.grad, rtol=1e-14, atol=1e-14)


def test_double_backward_raises_instead_of_returning_a_wrong_value():
    P = random_spd(n=3, seed=9).requires_grad_()
    (g,) = torch.autograd.grad(
        bw_transport_to_identity(P, random_sym(n=3, seed=10)).square().sum(), P, create_graph=True
    )
    with pytest.raises(RuntimeError, match="differentiate twice"):
        g.sum().backward()
