import pytest
import torch
from e3nn import o3
from torch_geometric.data import Data

from geomrep.testing import (
    adjacency_permutation_action,
    congruence_action,
    edge_index_permutation_action,
    graph_permutation_action,
    irreps_action,
    left_multiplication_action,
    node_permutation_action,
    permutation_action,
    random_orthogonal,
    random_permutation,
    random_rotation,
    rotation_action,
)


def test_rotation_action_is_a_group_action():
    x = torch.randn(7, 3, dtype=torch.float64)
    g, h = random_rotation(torch.float64), random_rotation(torch.float64)
    lhs = rotation_action(g @ h, x)
    rhs = rotation_action(g, rotation_action(h, x))
    assert torch.allclose(lhs, rhs, atol=1e-13)
    with pytest.raises(ValueError, match="last dimension 3"):
        rotation_action(g, torch.randn(4, 2))


def test_irreps_action_is_float64_accurate_and_a_homomorphism():
    irreps = o3.Irreps("1x0e + 2x1o + 1x2e + 1x5o")
    act = irreps_action(irreps)
    x = torch.randn(3, irreps.dim, dtype=torch.float64)
    g, h = random_rotation(torch.float64), random_rotation(torch.float64)
    # e3nn builds D in the default (float32) dtype: without the float64 guard this is ~1e-7.
    assert (act(g @ h, x) - act(g, act(h, x))).abs().max() < 1e-12
    assert torch.get_default_dtype() == torch.float32  # not leaked
    # vectors (1o) transform like rotation_action
    v = torch.randn(3, dtype=torch.float64)
    y = act(
        g,
        torch.cat([torch.zeros(1, dtype=torch.float64), v, torch.zeros(irreps.dim - 4, dtype=torch.float64)]),
    )
    # e3nn's l=1 basis is (y, z, x): compare norms and the rotated vector up to that basis change
    assert torch.allclose(y[1:4].norm(), v.norm())


def test_irreps_action_parity():
    irreps = o3.Irreps("1x0e + 1x0o + 1x1o + 1x1e")
    x = torch.randn(irreps.dim, dtype=torch.float64)
    minus_i = -torch.eye(3, dtype=torch.float64)
    y = irreps_action(irreps, parity=True)(minus_i, x)
    expected = torch.cat([x[:1], -x[1:2], -x[2:5], x[5:8]])
    assert torch.allclose(y, expected, atol=1e-14)
    with pytest.raises(ValueError, match="det"):
        irreps_action(irreps)(minus_i, x)
    with pytest.raises(ValueError, match="irreps.dim"):
        irreps_action(irreps)(torch.eye(3), torch.randn(3))


def test_permutation_action_order_two():
    act = permutation_action(2)
    A = torch.randn(2, 4, 4)
    g = random_permutation(4)
    B = act(g, A)
    for i in range(4):
        for j in range(4):
            assert B[1, i, j] == A[1, g[i], g[j]]
    with pytest.raises(ValueError, match="axis"):
        act(g, torch.randn(4, 3))


def test_graph_actions_consistent():
    x = torch.randn(5, 2)
    edge_index = torch.tensor([[0, 1, 1, 3], [1, 2, 4, 0]])
    g = torch.tensor([3, 0, 4, 1, 2])
    x2 = node_permutation_action(g, x)
    e2 = edge_index_permutation_action(g, edge_index)
    # every edge (u, v) with features maps to the edge between the same feature rows
    for k in range(edge_index.shape[1]):
        u, v = edge_index[:, k]
        u2, v2 = e2[:, k]
        assert torch.equal(x2[u2], x[u]) and torch.equal(x2[v2], x[v])
    A = torch.zeros(5, 5)
    A[edge_index[0], edge_index[1]] = 1.0
    A2 = torch.zeros(5, 5)
    A2[e2[0], e2[1]] = 1.0
    assert torch.equal(adjacency_permutation_action(g, A), A2)
    sp = adjacency_permutation_action(g, A.to_sparse())
    assert torch.equal(sp.to_dense(), A2)
    csr = adjacency_permutation_action(g, A.to_sparse_csr())
    assert csr.layout == torch.sparse_csr and torch.equal(csr.to_dense(), A2)
    data = Data(
        x=x, edge_index=edge_index, edge_attr=torch.arange(4.0), pos=torch.randn(5, 3), y=torch.ones(1)
    )
    d2 = graph_permutation_action(g, data)
    assert torch.equal(d2.x, x2) and torch.equal(d2.edge_index, e2)
    assert torch.equal(d2.edge_attr, data.edge_attr) and torch.equal(d2.pos, data.pos[g])
    assert torch.equal(d2.y, data.y)
    with pytest.raises(ValueError, match="nodes"):
        graph_permutation_action(torch.arange(3), data)


def test_matrix_actions():
    Q = random_orthogonal(4, dtype=torch.float64)
    X = torch.randn(2, 4, 4, dtype=torch.float64)
    assert torch.allclose(congruence_action(Q, X), Q @ X @ Q.T)
    R = random_rotation(torch.float64)
    assert torch.allclose(left_multiplication_action(R, R.T), torch.eye(3, dtype=torch.float64), atol=1e-14)
    with pytest.raises(ValueError, match="must be a"):
        congruence_action(torch.eye(3), X)
