"""Per-graph ℓ2 / QR normalisation: definitions, batching, equivariance, rank deficiency."""

import pytest
import torch

from geomrep.graphs import l2_normalize, node_positions, qr_normalize
from geomrep.testing import TOLERANCE, assert_equivariant, node_permutation_action, random_permutation

DTYPES = (torch.float32, torch.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_per_graph(dtype):
    gen = torch.Generator().manual_seed(0)
    sizes = [3, 5, 4]
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    x = torch.randn(sum(sizes), 2, 4, generator=gen, dtype=dtype)
    out = l2_normalize(x, batch)
    for g, part in enumerate(x.split(sizes)):
        ref = part / torch.linalg.vector_norm(part, dim=0, keepdim=True)
        torch.testing.assert_close(out[batch == g], ref)
    # an all-zero column stays zero, no NaN
    x[:3, 0, 1] = 0
    assert torch.all(l2_normalize(x, batch)[:3, 0, 1] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_qr_is_positive_diagonal_qr(dtype):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(20, 3, 5, generator=gen, dtype=dtype)
    q = qr_normalize(x)
    atol = 100 * TOLERANCE[dtype].atol
    for b in range(3):
        Q = q[:, b]
        torch.testing.assert_close(Q.T @ Q, torch.eye(5, dtype=dtype), atol=atol, rtol=0)
        R = Q.T @ x[:, b]  # x = Q R  =>  R = Qᵀ x, upper triangular with positive diagonal
        assert torch.all(torch.diagonal(R) > 0)
        torch.testing.assert_close(torch.tril(R, -1), torch.zeros_like(R), atol=atol * 10, rtol=0)
        torch.testing.assert_close(Q @ torch.triu(R), x[:, b], atol=atol * 10, rtol=TOLERANCE[dtype].rtol)


def test_qr_batch_equals_separate_graphs_and_unsorted_batch():
    gen = torch.Generator().manual_seed(2)
    sizes = [7, 2, 9]
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    x = torch.randn(sum(sizes), 4, generator=gen, dtype=torch.float64)
    out = qr_normalize(x, batch)
    for g, part in enumerate(x.split(sizes)):
        torch.testing.assert_close(out[batch == g], qr_normalize(part))
    # graph 1 has 2 < 4 nodes: its columns 2, 3 are zero
    assert torch.all(out[batch == 1][:, 2:] == 0)
    # an interleaved (unsorted) batch vector gives the same per-graph result
    perm = torch.randperm(x.size(0), generator=gen)
    torch.testing.assert_close(qr_normalize(x[perm], batch[perm]), out[perm])


def test_node_positions():
    pos, counts = node_positions(torch.tensor([1, 0, 1, 1, 0]), 3)
    assert pos.tolist() == [0, 0, 1, 2, 1] and counts.tolist() == [2, 3, 0]


@pytest.mark.parametrize("fn", [l2_normalize, qr_normalize])
def test_permutation_equivariance(fn):
    gen = torch.Generator().manual_seed(3)
    n = 15
    batch = torch.tensor([0] * 6 + [1] * 9)
    x = torch.randn(n, 2, 4, generator=gen)

    def within():
        return torch.cat([random_permutation(6, generator=gen), 6 + random_permutation(9, generator=gen)])

    assert_equivariant(
        lambda x: fn(x, batch, 2),
        (x,),
        (node_permutation_action,),
        node_permutation_action,
        group_sampler=within,
    )


def test_rank_deficient_columns_are_zeroed_equivariantly():
    """x = [a, b, a + b, c]: column 2 depends on 0, 1 and becomes zero; column 3 is still orthonormalised."""
    gen = torch.Generator().manual_seed(4)
    a, b, c = torch.randn(3, 10, generator=gen, dtype=torch.float64)
    x = torch.stack([a, b, a + b, c], dim=1)
    q = qr_normalize(x)
    assert q[:, 2].abs().max() < 1e-12
    g = random_permutation(10, generator=gen)
    torch.testing.assert_close(qr_normalize(x[g]), q[g])
    # a (numerically) zero column at the end, float32
    x32 = torch.cat([torch.randn(10, 2, generator=gen), torch.zeros(10, 1)], dim=1)
    assert torch.all(qr_normalize(x32)[:, 2] == 0)


def test_empty_inputs_and_bad_input():
    assert qr_normalize(torch.zeros(0, 3)).shape == (0, 3)
    assert l2_normalize(torch.zeros(0, 3)).shape == (0, 3)
    assert qr_normalize(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 0).shape == (0, 3)
    with pytest.raises(ValueError, match="shape"):
        qr_normalize(torch.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        l2_normalize(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="batch"):
        l2_normalize(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))
