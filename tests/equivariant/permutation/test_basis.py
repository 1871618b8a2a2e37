"""The dense basis spans exactly the numerical null space of the equivariance constraint,
and the fast apply agrees with multiplying by the dense basis, for every n <= 6 and k + l <= 5."""

import itertools

import numpy as np
import pytest
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geomrep.equivariant.permutation import (
    basis_diagrams,
    equivariant_basis,
    equivariant_basis_size,
    permutation_equivariant_linear,
)

CASES = [(n, m) for n in range(1, 7) for m in range(6)]


def _generators(n: int, group: str) -> list[list[int]]:
    """Adjacent transpositions (S_n) or the 3-cycles (0 1 i) (A_n), as index lists."""
    gens = []
    if group == "symmetric":
        for i in range(n - 1):
            p = list(range(n))
            p[i], p[i + 1] = p[i + 1], p[i]
            gens.append(p)
    else:
        for i in range(2, n):
            p = list(range(n))
            p[0], p[1], p[i] = p[1], p[i], p[0]
            gens.append(p)
    return gens


def _index_permutation(perm: list[int], m: int) -> np.ndarray:
    """Where the flat index of (i_1..i_m) goes when every index is mapped by perm."""
    n = len(perm)
    digits = np.array(list(itertools.product(range(n), repeat=m)), dtype=np.int64).reshape(n**m, m)
    mapped = np.array(perm, dtype=np.int64)[digits]
    return (mapped * (n ** np.arange(m - 1, -1, -1))).sum(axis=1)


def _null_space_dim_sparse(n: int, m: int, group: str) -> int:
    """dim ker [Q_g − I]_g = connected components of the graph I ~ g(I) (scipy), exact."""
    size = n**m
    rows, cols = [], []
    for g in _generators(n, group):
        rows.append(np.arange(size))
        cols.append(_index_permutation(g, m))
    if not rows:
        return size
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones_like(r), (r, c)), shape=(size, size))
    return connected_components(graph, directed=False)[0]


def _null_space_dim_dense(n: int, m: int, group: str) -> int:
    """Numerical rank deficiency of the stacked constraint matrices (Q_g − I), via SVD."""
    size = n**m
    blocks = []
    for g in _generators(n, group):
        q = np.zeros((size, size))
        q[np.arange(size), _index_permutation(g, m)] = 1.0
        blocks.append(q - np.eye(size))
    if not blocks:
        return size
    sv = np.linalg.svd(np.concatenate(blocks), compute_uv=False)
    return int((sv < 1e-9).sum()) + size - len(sv)


def _act(perm, basis: torch.Tensor, k: int, l: int) -> torch.Tensor:  # noqa: E741
    """``P^{⊗l} B (P^{⊗k})ᵀ`` for every basis element, by re-indexing rows and columns."""
    rows = torch.as_tensor(_index_permutation(perm, l))
    cols = torch.as_tensor(_index_permutation(perm, k))
    return basis[:, rows][:, :, cols]


@pytest.mark.parametrize("group", ["symmetric", "alternating"])
@pytest.mark.parametrize(("n", "m"), CASES)
def test_basis_spans_null_space(n, m, group):
    expected = _null_space_dim_sparse(n, m, group)
    if n**m <= 1296:
        assert _null_space_dim_dense(n, m, group) == expected
    gens = _generators(n, group)
    for k in range(m + 1):
        l = m - k  # noqa: E741
        basis = equivariant_basis(n, k, l, group, dtype=torch.float64)
        assert basis.shape == (equivariant_basis_size(n, k, l, group), n**l, n**k)
        assert basis.shape[0] == expected
        # independent: full rank
        flat = basis.reshape(basis.shape[0], -1)
        assert int(torch.linalg.matrix_rank(flat)) == expected
        # inside the null space: P^{⊗l} B = B P^{⊗k} for every generator
        for g in gens:
            assert torch.equal(_act(g, basis, k, l), basis)


@pytest.mark.parametrize(("n", "m"), [(n, m) for n, m in CASES if m >= n - 1 and n >= 3])
def test_odd_permutation_breaks_every_extra_map(n, m):
    """The A_n extras are not S_n-equivariant: a transposition flips each ε map's sign pattern."""
    swap = list(range(n))
    swap[0], swap[1] = 1, 0
    for k in range(m + 1):
        l = m - k  # noqa: E741
        diagrams = basis_diagrams(n, k, l, "alternating")
        basis = equivariant_basis(n, k, l, "alternating", dtype=torch.float64)
        extra = torch.tensor([d.kind != "partition" for d in diagrams])
        assert int(extra.sum()) > 0
        moved = _act(swap, basis, k, l)
        assert torch.equal(moved[~extra], basis[~extra])
        assert torch.equal(moved[extra], -basis[extra])  # ε is odd under a transposition


def test_diagram_maps_match_definition():
    """Spot values: 1→1 identity and all-ones; 2→0 trace and total sum; ε entries for A_3."""
    b = equivariant_basis(3, 1, 1, dtype=torch.float64)
    assert torch.equal(b[0], torch.eye(3, dtype=torch.float64))  # labels (0, 0): i = j
    assert torch.equal(b[1], torch.ones(3, 3, dtype=torch.float64))  # labels (0, 1)
    b = equivariant_basis(4, 2, 0, dtype=torch.float64)
    x = torch.randn(16, dtype=torch.float64)
    torch.testing.assert_close(b[0, 0] @ x, x.reshape(4, 4).trace())
    torch.testing.assert_close(b[1, 0] @ x, x.sum())
    diagrams = basis_diagrams(3, 3, 0, "alternating")
    assert [d.kind for d in diagrams] == ["partition"] * 5 + ["epsilon"] + ["jellyfish"] * 3
    basis = equivariant_basis(3, 3, 0, "alternating", dtype=torch.float64)
    e = basis[5].reshape(3, 3, 3)  # ε_{abc}
    assert e[0, 1, 2] == 1 and e[1, 0, 2] == -1 and e[2, 0, 1] == 1 and e[0, 0, 1] == 0
    jelly = basis[6].reshape(3, 3, 3)  # labels (0, 0, 1): Σ_v ε(a, c, v) on a = b
    assert jelly[0, 0, 1] == 1 and jelly[1, 1, 0] == -1 and jelly[2, 2, 0] == 1 and jelly[0, 1, 2] == 0


@pytest.mark.parametrize("group", ["symmetric", "alternating"])
@pytest.mark.parametrize("normalize", [False, True])
def test_fast_apply_equals_dense_basis(group, normalize):
    gen = torch.Generator().manual_seed(1)
    for n, m in CASES:
        for k in range(m + 1):
            l = m - k  # noqa: E741
            basis = equivariant_basis(n, k, l, group, dtype=torch.float64)
            if normalize:  # each summed-out (input-only) block is divided by n
                scale = []
                for d in basis_diagrams(n, k, l, group):
                    summed = set(d.labels[l:]) - set(d.labels[:l]) if d.kind == "partition" else set()
                    scale.append(float(n) ** -len(summed))
                basis = basis * torch.tensor(scale, dtype=torch.float64)[:, None, None]
            x = torch.randn(3, 2, *[n] * k, generator=gen, dtype=torch.float64)
            w = torch.randn(4, 2, basis.shape[0], generator=gen, dtype=torch.float64)
            bias = torch.randn(4, equivariant_basis_size(n, 0, l, group), generator=gen, dtype=torch.float64)
            bias_basis = equivariant_basis(n, 0, l, group, dtype=torch.float64)[:, :, 0]
            y = permutation_equivariant_linear(x, w, bias, n=n, k=k, l=l, group=group, normalize=normalize)
            ref = torch.einsum("bIJ,zcJ,ocb->zoI", basis, x.reshape(3, 2, -1), w)
            ref = ref + (bias @ bias_basis)[None]
            torch.testing.assert_close(y, ref.reshape(3, 4, *[n] * l), rtol=1e-10, atol=1e-10)
