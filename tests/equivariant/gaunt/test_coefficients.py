"""Exact Gaunt coefficients vs independent references: sympy 3j, e3nn 3j (c·3j), quadrature of e3nn SH."""

import math

import numpy as np
import pytest
import torch
from e3nn import o3
from sympy.physics.wigner import wigner_3j as sympy_3j

from geomrep.equivariant.gaunt import (
    gaunt_block,
    gaunt_constant,
    gaunt_paths,
    gaunt_tensor,
    wigner_3j_complex,
)


@pytest.mark.parametrize(
    "args",
    [
        (1, 1, 0, 0, 0, 0),
        (2, 3, 1, 1, -2, 1),
        (5, 4, 3, -3, 2, 1),
        (8, 7, 9, 4, -6, 2),
        (12, 12, 12, 5, -7, 2),
    ],
)
def test_wigner_3j_complex_matches_sympy(args):
    assert wigner_3j_complex(*args) == pytest.approx(float(sympy_3j(*args)), abs=1e-15)


@pytest.mark.parametrize(
    "triple", [(0, 0, 0), (1, 1, 2), (2, 3, 1), (3, 3, 4), (5, 4, 3), (6, 6, 6), (4, 6, 8), (7, 2, 5)]
)
def test_block_is_c_times_e3nn_3j(triple):
    g = gaunt_block(*triple)
    ref = gaunt_constant(*triple) * o3.wigner_3j(*triple, dtype=torch.float64)
    torch.testing.assert_close(g, ref, atol=1e-14, rtol=0)


def test_constant_closed_form():
    # (1 1 2; 0 0 0) = sqrt(2/15)
    assert gaunt_constant(1, 1, 2) == pytest.approx(
        math.sqrt(3 * 3 * 5 / (4 * math.pi)) * math.sqrt(2 / 15), rel=1e-14
    )
    assert gaunt_constant(0, 0, 0) == pytest.approx(1 / math.sqrt(4 * math.pi), rel=1e-15)


@pytest.mark.parametrize("triple", [(1, 1, 1), (2, 1, 2), (1, 2, 4), (0, 3, 2)])
def test_non_gaunt_triples_vanish(triple):
    assert gaunt_constant(*triple) == 0.0
    assert gaunt_block(*triple).abs().max() == 0.0


def test_tensor_matches_quadrature_of_e3nn_harmonics():
    lmax = 4
    x, w = np.polynomial.legendre.leggauss(12)  # exact for degree 3·4 polynomials in cos β
    n_alpha = 16
    beta = torch.from_numpy(np.arccos(x))
    alpha = torch.arange(n_alpha, dtype=torch.float64) * 2 * math.pi / n_alpha
    b, a = torch.meshgrid(beta, alpha, indexing="ij")
    xyz = torch.stack([b.sin() * a.sin(), b.cos(), b.sin() * a.cos()], -1)
    y = o3.spherical_harmonics(list(range(lmax + 1)), xyz, normalize=True, normalization="integral")
    weights = torch.from_numpy(w)[:, None] * (2 * math.pi / n_alpha)
    quad = torch.einsum("ba,bai,baj,bak->ijk", weights, y, y, y)
    torch.testing.assert_close(gaunt_tensor(lmax, lmax, lmax), quad, atol=1e-13, rtol=0)


def test_paths_and_bad_degrees():
    paths = gaunt_paths(2, 2, 2)
    assert (1, 1, 1) not in paths and (1, 1, 2) in paths and (2, 2, 0) in paths
    assert all((a + b + c) % 2 == 0 for a, b, c in paths)
    with pytest.raises(ValueError, match="l1"):
        gaunt_block(-1, 0, 1)
    with pytest.raises(ValueError, match="lmax_out"):
        gaunt_tensor(1, 1, 1.5)
