"""GBW geometry: the direct GBW formula (scipy) vs BW after the congruence X ↦ M^{-½} X M^{-½}."""

import numpy as np
import pytest
import scipy.linalg as sla
import torch

from geomrep.manifolds.spd import (
    bw_distance,
    gbw_congruence,
    gbw_distance,
    gbw_exp,
    gbw_geodesic,
    gbw_inner,
    gbw_log,
)

from ._helpers import np64, random_spd, random_sym


def _gbw_d2_scipy(x, y, m):
    """d²_M = tr(M⁻¹X) + tr(M⁻¹Y) − 2 tr((X M⁻¹ Y M⁻¹)^½), the non-symmetric root from scipy."""
    mi = np.linalg.inv(m)
    cross = sla.sqrtm(x @ mi @ y @ mi)
    return float(np.trace(mi @ x) + np.trace(mi @ y) - 2 * np.trace(cross).real)


@pytest.mark.parametrize("n", [3, 7])
def test_gbw_distance_vs_direct_formula(n):
    X = random_spd(4, n=n, cond=100.0, seed=1)
    Y = random_spd(4, n=n, cond=100.0, seed=2)
    M = random_spd(n=n, cond=20.0, seed=3)
    d2 = gbw_distance(X, Y, M, squared=True)
    ref = np.array([_gbw_d2_scipy(x, y, np64(M)) for x, y in zip(np64(X), np64(Y))])
    np.testing.assert_allclose(d2.numpy(), ref, rtol=1e-9, atol=1e-11)


def test_congruence_isometry_gbw_to_bw():
    """d_M(X, Y) (direct formula) = d_BW(φ_M X, φ_M Y) with φ_M computed by scipy."""
    n = 5
    X = random_spd(6, n=n, cond=1e3, seed=4)
    Y = random_spd(6, n=n, cond=1e3, seed=5)
    M = random_spd(n=n, cond=50.0, seed=6)
    mih = np.linalg.inv(sla.sqrtm(np64(M)).real)
    phi = lambda a: torch.from_numpy(mih @ np64(a) @ mih)  # noqa: E731
    ref = np.array([_gbw_d2_scipy(x, y, np64(M)) for x, y in zip(np64(X), np64(Y))])
    np.testing.assert_allclose(bw_distance(phi(X), phi(Y), squared=True).numpy(), ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gbw_congruence(X, M), phi(X), rtol=1e-10, atol=1e-12)
    back = gbw_congruence(gbw_congruence(X, M), M, inverse=True)
    torch.testing.assert_close(back, X, rtol=1e-11, atol=1e-13)


def test_gbw_identity_metric_is_bw():
    X = random_spd(3, n=4, seed=7)
    Y = random_spd(3, n=4, seed=8)
    eye = torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(gbw_distance(X, Y, eye), bw_distance(X, Y), rtol=1e-13, atol=1e-13)


def test_gbw_log_exp_inner_geodesic():
    n = 4
    P = random_spd(n=n, cond=10.0, seed=9)
    X = random_spd(3, n=n, cond=10.0, seed=10)
    M = random_spd(n=n, cond=10.0, seed=11)
    V = gbw_log(P, X, M)
    torch.testing.assert_close(gbw_exp(P, V, M), X, rtol=1e-11, atol=1e-13)
    d2 = gbw_distance(P, X, M, squared=True)
    torch.testing.assert_close(gbw_inner(P, V, V, M), d2, rtol=1e-12, atol=1e-14)
    G = gbw_geodesic(P.expand(3, n, n), X, 0.25, M)
    torch.testing.assert_close(gbw_distance(P, G, M), 0.25 * gbw_distance(P, X, M), rtol=1e-10, atol=1e-12)
    # scaling M by c scales d² by 1/c
    torch.testing.assert_close(gbw_distance(P, X, 3 * M, squared=True), d2 / 3, rtol=1e-12, atol=1e-14)
    U = random_sym(n=n, seed=12)
    assert float(gbw_inner(P, U, U, M)) > 0
