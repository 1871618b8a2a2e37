"""Propagation operators vs dense formulas written from the definitions."""

import pytest
import torch

from geomrep.graphs import as_edge_index, operator_edge_weights, propagate, propagation_operator
from geomrep.testing import adjacency_permutation_action, random_permutation

DTYPES = (torch.float32, torch.float64)


def weighted_graph(dtype):
    """Undirected weighted multigraph on 6 nodes (edge 0-1 duplicated, weights summed); node 5 is isolated."""
    pairs = [(0, 1, 1.0), (1, 2, 2.0), (2, 0, 0.5), (2, 3, 1.5), (3, 4, 1.0), (0, 1, 0.25)]  # (0, 1) twice
    src = [a for a, b, _ in pairs] + [b for a, b, _ in pairs]
    dst = [b for a, b, _ in pairs] + [a for a, b, _ in pairs]
    w = [c for *_, c in pairs] * 2
    return torch.tensor([src, dst]), torch.tensor(w, dtype=dtype), 6


def dense_operator(edge_index, w, n, operator):
    A = torch.zeros(n, n, dtype=w.dtype)
    A.index_put_((edge_index[1], edge_index[0]), w, accumulate=True)  # A[i, j] = w_{j -> i}
    d = A.sum(1)
    inv_sqrt = torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
    inv = torch.where(d > 0, 1 / d.clamp_min(1e-300), torch.zeros_like(d))
    if operator == "rw":
        return inv[:, None] * A
    S = inv_sqrt[:, None] * A * inv_sqrt[None, :]
    if operator == "sym":
        return S
    return torch.eye(n, dtype=w.dtype) - 0.5 * (torch.eye(n, dtype=w.dtype) - S)  # I - L_sym / 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("operator", ["sym", "rw", "laplacian"])
def test_operator_matches_dense_formula(operator, dtype):
    edge_index, w, n = weighted_graph(dtype)
    ref = dense_operator(edge_index, w, n, operator)
    for layout in (torch.sparse_csr, torch.sparse_coo):
        P = propagation_operator(edge_index, n, operator, w, layout=layout)
        assert P.layout == layout and P.dtype == dtype
        torch.testing.assert_close(P.to_dense(), ref)
    # the same graph as a torch.sparse adjacency (adj_t convention, values = weights)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), w, (n, n))
    torch.testing.assert_close(propagation_operator(adj_t, operator=operator).to_dense(), ref)
    torch.testing.assert_close(
        propagation_operator(adj_t.coalesce().to_sparse_csr(), operator=operator).to_dense(), ref
    )


def test_operator_spectra():
    """rw is row-stochastic on non-isolated nodes; laplacian has spectrum in [0, 1] with top eigenvalue 1."""
    edge_index, w, n = weighted_graph(torch.float64)
    P = propagation_operator(edge_index, n, "rw", w).to_dense()
    torch.testing.assert_close(P.sum(1)[:5], torch.ones(5, dtype=torch.float64))
    assert P[5].abs().sum() == 0  # isolated node: zero row
    L = propagation_operator(edge_index, n, "laplacian", w).to_dense()
    ev = torch.linalg.eigvalsh(L)
    assert ev.min() > -1e-12 and abs(ev.max() - 1) < 1e-12


@pytest.mark.parametrize("operator", ["sym", "rw", "laplacian"])
def test_operator_permutation_equivariance(operator):
    edge_index, w, n = weighted_graph(torch.float64)
    g = random_permutation(n, generator=torch.Generator().manual_seed(0))
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), w, (n, n)).coalesce()
    P = propagation_operator(adj_t, operator=operator, layout=torch.sparse_coo)
    P_perm = propagation_operator(adjacency_permutation_action(g, adj_t), operator=operator)
    torch.testing.assert_close(P_perm.to_dense(), adjacency_permutation_action(g, P.to_dense()))


def test_propagate_matches_dense_and_is_differentiable():
    edge_index, w, n = weighted_graph(torch.float64)
    ei, pw, _ = operator_edge_weights(edge_index, n, "sym", w)
    x = torch.randn(n, 3, 2, dtype=torch.float64)
    out = propagate(x, ei, pw)
    ref = torch.einsum("ij,jab->iab", dense_operator(edge_index, w, n, "sym"), x)
    torch.testing.assert_close(out, ref)
    pw = pw.clone().requires_grad_(True)
    x2 = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: propagate(a, ei, b), (x2, pw))


def test_empty_and_degenerate_graphs():
    empty = torch.empty(2, 0, dtype=torch.long)
    P = propagation_operator(empty, 4, "laplacian")
    torch.testing.assert_close(P.to_dense(), 0.5 * torch.eye(4))
    assert propagation_operator(empty, 3, "sym").to_dense().abs().sum() == 0
    assert propagation_operator(empty, 0, "sym").shape == (0, 0)
    assert as_edge_index(empty)[2] == 0


def test_bad_input():
    with pytest.raises(ValueError, match="operator"):
        propagation_operator(torch.tensor([[0], [1]]), operator="heat")
    with pytest.raises(ValueError, match="edge_index"):
        propagation_operator(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        propagation_operator(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="edge_weight"):
        propagation_operator(torch.tensor([[0], [1]]), edge_weight=torch.ones(2))
    with pytest.raises(ValueError, match="square"):
        propagation_operator(torch.zeros(2, 3).to_sparse())
    with pytest.raises(ValueError, match="layout"):
        propagation_operator(torch.tensor([[0], [1]]), layout=torch.strided)
