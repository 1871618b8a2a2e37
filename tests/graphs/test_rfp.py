"""Random feature propagation: trajectory definition, batching, equivariance, power-iteration limit."""

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.utils import from_networkx

from geomrep.graphs import AddRandomFeaturePropagationPE, propagation_operator, random_feature_propagation
from geomrep.testing import (
    assert_equivariant,
    edge_index_permutation_action,
    graph_permutation_action,
    node_permutation_action,
    random_permutation,
)

OPERATORS = ("sym", "rw", "laplacian")


def ring_of_cliques(num_cliques=4, size=6):
    return from_networkx(nx.ring_of_cliques(num_cliques, size)).edge_index


def small_graph():
    return torch.tensor([[0, 1, 1, 2, 2, 3, 3, 0, 0, 2], [1, 0, 2, 1, 3, 2, 0, 3, 2, 0]])


@pytest.mark.parametrize("normalization", ["l2", "qr"])
@pytest.mark.parametrize("operator", OPERATORS)
def test_trajectory_matches_dense_power_iteration(operator, normalization):
    """X_t = N(P X_{t-1}) with a dense P and numpy's QR / norms as the independent reference."""
    ei = small_graph()
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 2, 3, generator=gen, dtype=torch.float64)
    out = random_feature_propagation(
        ei, x0=x0, num_features=3, steps=4, num_inits=2, operator=operator, normalization=normalization
    )
    assert out.shape == (4, 2, 15) and out.dtype == torch.float64
    P = propagation_operator(ei, operator=operator, dtype=torch.float64).to_dense().numpy()

    def norm(y):
        if normalization == "l2":
            return y / np.linalg.norm(y, axis=0, keepdims=True)
        q, r = np.linalg.qr(y)
        return q * np.sign(np.diag(r))

    for s in range(2):
        x = norm(x0[:, s].numpy())
        blocks = [x]
        for _ in range(4):
            x = norm(P @ x)
            blocks.append(x)
        np.testing.assert_allclose(out[:, s].numpy(), np.concatenate(blocks, axis=1), atol=1e-10)


def test_reproducible_with_generator_and_seed():
    ei = ring_of_cliques()
    a = random_feature_propagation(ei, num_features=4, steps=3, generator=torch.Generator().manual_seed(7))
    b = random_feature_propagation(ei, num_features=4, steps=3, generator=torch.Generator().manual_seed(7))
    c = random_feature_propagation(ei, num_features=4, steps=3, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    data = Data(edge_index=ei, num_nodes=24)
    t1, t2 = AddRandomFeaturePropagationPE(4, 3, seed=1), AddRandomFeaturePropagationPE(4, 3, seed=1)
    first = [t1(data.clone()).rfp_pe for _ in range(2)]
    second = [t2(data.clone()).rfp_pe for _ in range(2)]
    torch.testing.assert_close(first[0], second[0])
    torch.testing.assert_close(first[1], second[1])
    torch.testing.assert_close(first[0], first[1])  # a graph's start depends on (seed, epoch, graph) only
    t1.set_epoch(1)
    assert not torch.allclose(t1(data.clone()).rfp_pe, first[0])  # a new epoch draws new starts
    assert not torch.allclose(AddRandomFeaturePropagationPE(4, 3, seed=2)(data.clone()).rfp_pe, first[0])


@pytest.mark.parametrize("normalization", ["l2", "qr"])
@pytest.mark.parametrize("operator", OPERATORS)
def test_permutation_equivariance_with_permuted_init(operator, normalization):
    """Permuting the graph and the random start together permutes the encoding."""
    ei = ring_of_cliques(3, 5)
    n = 15
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(n, 2, 4, generator=gen)

    def rfp(x0, ei):
        return random_feature_propagation(
            ei, x0=x0, num_features=4, steps=6, num_inits=2, operator=operator, normalization=normalization
        )

    assert_equivariant(
        rfp,
        (x0, ei),
        (node_permutation_action, edge_index_permutation_action),
        node_permutation_action,
        group_sampler=lambda: random_permutation(n, generator=gen),
    )


def test_permutation_equivariance_check_can_fail():
    """Without permuting the start (same draw for both graphs) the encoding is *not* equivariant."""
    ei = ring_of_cliques(3, 5)
    gen = torch.Generator().manual_seed(2)

    def rfp(ei):
        return random_feature_propagation(
            ei, num_features=4, steps=2, generator=torch.Generator().manual_seed(0)
        )

    with pytest.raises(AssertionError):
        assert_equivariant(
            rfp,
            (ei,),
            (edge_index_permutation_action,),
            node_permutation_action,
            group_sampler=lambda: random_permutation(15, generator=gen),
        )


def test_transform_equivariant_in_distribution():
    """The encoding of a permuted graph has the same per-node distribution (squared-norm statistics)."""
    ei = ring_of_cliques(3, 5)
    data = Data(edge_index=ei, num_nodes=15)
    g = random_permutation(15, generator=torch.Generator().manual_seed(3))
    perm = graph_permutation_action(g, data)
    t = AddRandomFeaturePropagationPE(8, 4, operator="laplacian", normalization="qr", seed=0)

    # the squared norm of each node's last block converges to the same invariant (leverage score)
    def draw(graph, epoch):
        t.set_epoch(epoch)
        return t(graph.clone()).rfp_pe[:, -8:].pow(2).sum(1)

    lev = torch.stack([draw(data, e) for e in range(200)]).mean(0)
    lev_p = torch.stack([draw(perm, e) for e in range(200)]).mean(0)
    torch.testing.assert_close(lev_p, lev[g], atol=0.05, rtol=0)


def test_per_graph_normalisation_in_batch():
    """Batched computation = per-graph computation; no normalisation across graphs."""
    gen = torch.Generator().manual_seed(4)
    graphs = [
        Data(edge_index=ring_of_cliques(3, 4), num_nodes=12),
        Data(edge_index=small_graph(), num_nodes=4),
        Data(edge_index=ring_of_cliques(2, 5), num_nodes=10),
    ]
    batch = Batch.from_data_list(graphs)
    x0 = torch.randn(batch.num_nodes, 1, 3, generator=gen, dtype=torch.float64)
    for normalization in ("l2", "qr"):
        out = random_feature_propagation(
            batch.edge_index, x0=x0, num_features=3, steps=5, batch=batch.batch, normalization=normalization
        )
        for i, g in enumerate(graphs):
            sl = slice(int(batch.ptr[i]), int(batch.ptr[i + 1]))
            ref = random_feature_propagation(
                g.edge_index, x0=x0[sl], num_features=3, steps=5, normalization=normalization
            )
            torch.testing.assert_close(out[sl], ref)
    # the transform is applied per graph before batching: each graph's PE is unit-norm on its own nodes
    t = AddRandomFeaturePropagationPE(3, 2, normalization="l2", seed=0)
    pe_batch = Batch.from_data_list([t(g.clone()) for g in graphs])
    for i in range(3):
        pe = pe_batch.rfp_pe[pe_batch.batch == i]
        torch.testing.assert_close(pe.pow(2).sum(0), torch.ones(9))


def _subspace_angle(x, basis):
    return float(np.max(scipy.linalg.subspace_angles(x, basis)))


@pytest.mark.parametrize("operator", OPERATORS)
def test_long_trajectory_converges_to_top_eigenvectors(operator):
    """QR-normalised propagation is orthogonal iteration: X_T spans the top-k eigenvectors (eigsh)."""
    k = 4
    ei = ring_of_cliques(4, 6)
    n = 24
    A = scipy.sparse.coo_matrix((np.ones(ei.size(1)), (ei[1].numpy(), ei[0].numpy())), shape=(n, n)).tocsr()
    d = np.asarray(A.sum(1)).ravel()
    S = scipy.sparse.diags(d**-0.5) @ A @ scipy.sparse.diags(d**-0.5)
    if operator == "laplacian":
        vals, vecs = scipy.sparse.linalg.eigsh(0.5 * (scipy.sparse.identity(n) + S), k=k + 1, which="LA")
        ratio = abs(vals[0] / vals[1])
        basis = vecs[:, 1:]
    else:  # P = S (sym) or D^{-1} A = D^{-1/2} S D^{1/2} (rw, eigenvectors D^{-1/2} v)
        vals, vecs = scipy.sparse.linalg.eigsh(S, k=k + 1, which="LM")
        order = np.argsort(-np.abs(vals))
        vals, vecs = vals[order], vecs[:, order]
        ratio = abs(vals[k] / vals[k - 1])
        basis = vecs[:, :k] if operator == "sym" else (d**-0.5)[:, None] * vecs[:, :k]
    steps = int(np.ceil(np.log(1e-9) / np.log(ratio)))
    assert steps < 400  # the test graph has a clear spectral gap
    out = random_feature_propagation(
        ei,
        num_features=k,
        steps=steps,
        operator=operator,
        normalization="qr",
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    last, first = out[:, 0, -k:].numpy(), out[:, 0, :k].numpy()
    assert _subspace_angle(last, basis) < 1e-6
    assert _subspace_angle(first, basis) > 0.1  # the random start is far from it: the check can fail
    # with l2 normalisation every column collapses onto the single top eigenvector
    if operator == "laplacian":
        l2 = random_feature_propagation(
            ei,
            num_features=2,
            steps=2000,
            operator=operator,
            normalization="l2",
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
        )
        top = np.sqrt(d) / np.linalg.norm(np.sqrt(d))
        assert np.abs(np.abs(top @ l2[:, 0, -2:].numpy()) - 1).max() < 1e-8


def test_transform_options_and_shapes():
    ei = ring_of_cliques(3, 4)
    data = Data(x=torch.ones(12, 2), edge_index=ei, edge_weight=torch.rand(ei.size(1)))
    out = AddRandomFeaturePropagationPE(5, 3, seed=0)(data.clone())
    assert out.rfp_pe.shape == (12, 20) and out.x.shape == (12, 2)
    out = AddRandomFeaturePropagationPE(5, 3, num_inits=3, attr_name="pe", seed=0)(data.clone())
    assert out.pe.shape == (12, 3, 20)
    out = AddRandomFeaturePropagationPE(5, 3, attr_name=None, seed=0)(data.clone())
    assert out.x.shape == (12, 22)
    no_x = Data(edge_index=ei, num_nodes=12)
    assert AddRandomFeaturePropagationPE(2, 1, attr_name=None)(no_x).x.shape == (12, 4)
    # torch.sparse adjacency in data.adj_t
    adj = Data(adj_t=torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1)), (12, 12)), num_nodes=12)
    assert AddRandomFeaturePropagationPE(5, 3, seed=0)(adj).rfp_pe.shape == (12, 20)
    # edge weights are used
    a = AddRandomFeaturePropagationPE(5, 3, seed=0)(data.clone()).rfp_pe
    b = AddRandomFeaturePropagationPE(5, 3, seed=0)(Data(x=data.x, edge_index=ei)).rfp_pe
    assert not torch.allclose(a, b)
    assert "AddRandomFeaturePropagationPE(num_features=5, steps=3" in repr(
        AddRandomFeaturePropagationPE(5, 3)
    )


def test_sparse_adjacency_equals_edge_index():
    ei = ring_of_cliques(3, 4)
    x0 = torch.randn(12, 3, generator=torch.Generator().manual_seed(5))
    adj_t = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1)), (12, 12))
    for normalization in ("l2", "qr"):
        a = random_feature_propagation(ei, x0=x0, num_features=3, steps=4, normalization=normalization)
        b = random_feature_propagation(
            adj_t.coalesce().to_sparse_csr(), x0=x0, num_features=3, steps=4, normalization=normalization
        )
        torch.testing.assert_close(a, b)


def test_degenerate_graphs():
    """Isolated nodes, no edges, no nodes, fewer nodes than features: finite outputs of the right shape."""
    empty = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=5)
    for op in OPERATORS:
        for norm in ("l2", "qr"):
            pe = AddRandomFeaturePropagationPE(3, 2, operator=op, normalization=norm, seed=0)(
                empty.clone()
            ).rfp_pe
            assert pe.shape == (5, 9) and torch.isfinite(pe).all()
    pe = AddRandomFeaturePropagationPE(3, 2, operator="sym", seed=0)(empty.clone()).rfp_pe
    assert torch.all(pe[:, 3:] == 0)  # A = 0: the propagated blocks vanish (no NaN)
    zero = Data(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0)
    assert AddRandomFeaturePropagationPE(3, 2, seed=0)(zero).rfp_pe.shape == (0, 9)
    tiny = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    pe = AddRandomFeaturePropagationPE(4, 3, normalization="qr", seed=0)(tiny).rfp_pe
    assert torch.isfinite(pe).all() and torch.all(pe[:, 2:4] == 0)  # only 2 orthonormal columns exist


def test_bad_arguments():
    ei = small_graph()
    with pytest.raises(ValueError, match="num_features"):
        AddRandomFeaturePropagationPE(0, 3)
    with pytest.raises(ValueError, match="steps"):
        random_feature_propagation(ei, steps=-1)
    with pytest.raises(ValueError, match="operator"):
        AddRandomFeaturePropagationPE(3, 3, operator="heat")
    with pytest.raises(ValueError, match="normalization"):
        random_feature_propagation(ei, normalization="svd")
    with pytest.raises(ValueError, match="num_inits"):
        AddRandomFeaturePropagationPE(3, 3, num_inits=2, attr_name=None)
    with pytest.raises(ValueError, match="x0"):
        random_feature_propagation(ei, x0=torch.randn(4, 5), num_features=3)
    with pytest.raises(ValueError, match="edge_index"):
        AddRandomFeaturePropagationPE(3, 3)(Data(num_nodes=3))


def test_concatenation_onto_integer_x_promotes_instead_of_truncating():
    """Item 5: ZINC-style integer atom ids in x used to turn the concatenated encoding into zeros."""
    ei = ring_of_cliques(3, 4)
    ids = torch.randint(0, 20, (12, 2))
    data = Data(x=ids, edge_index=ei)
    out = AddRandomFeaturePropagationPE(4, 2, attr_name=None, seed=0)(data.clone())
    assert out.x.dtype == torch.get_default_dtype() and out.x.shape == (12, 2 + 12)
    torch.testing.assert_close(out.x[:, :2], ids.to(out.x.dtype))
    pe = AddRandomFeaturePropagationPE(4, 2, seed=0)(data.clone()).rfp_pe
    torch.testing.assert_close(out.x[:, 2:], pe)
    torch.testing.assert_close(out.x[:, 2:].pow(2).sum(0), torch.ones(12))  # unit ℓ2 columns: not truncated
    flags = AddRandomFeaturePropagationPE(4, 2, attr_name=None, seed=0)(
        Data(x=torch.ones(12, dtype=torch.bool), edge_index=ei)
    )
    assert flags.x.dtype == torch.get_default_dtype() and torch.all(flags.x[:, 0] == 1)
    # a floating x keeps its dtype (PyG's convention): the encoding is cast to it
    half = AddRandomFeaturePropagationPE(4, 2, attr_name=None, seed=0)(
        Data(x=torch.ones(12, 1, dtype=torch.float16), edge_index=ei)
    )
    assert half.x.dtype == torch.float16 and half.x[:, 1:].abs().sum() > 0


class _TransformedGraphs(torch.utils.data.Dataset):
    def __init__(self, graphs, transform):
        self.graphs, self.transform = graphs, transform

    def __len__(self):
        return len(self.graphs)

    def __getitem__(self, i):
        return self.transform(self.graphs[i].clone())


def _cycles_with_one_chord(n=6):
    """n-node cycles, each with a different chord: distinct graphs with the same node count."""
    ring = [(i, (i + 1) % n) for i in range(n)]
    chords = [(0, 2), (0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (3, 5), (0, 4)]
    out = []
    for c in chords:
        pairs = ring + [c]
        src = [a for a, b in pairs] + [b for a, b in pairs]
        dst = [b for a, b in pairs] + [a for a, b in pairs]
        out.append(Data(edge_index=torch.tensor([src, dst]), num_nodes=n))
    return out


def test_seeded_transform_is_independent_of_workers_and_order():
    """Item 6: workers used to copy one generator: starts repeated and results depended on num_workers."""
    from torch_geometric.loader import DataLoader

    graphs = _cycles_with_one_chord()
    t = AddRandomFeaturePropagationPE(3, 2, seed=5)
    runs = {}
    for workers in (0, 2):
        loader = DataLoader(_TransformedGraphs(graphs, t), batch_size=2, num_workers=workers)
        runs[workers] = torch.cat([b.rfp_pe for b in loader])
    torch.testing.assert_close(runs[2], runs[0], rtol=0, atol=0)
    backwards = [t(g.clone()).rfp_pe for g in reversed(graphs)][::-1]  # dataset order does not matter
    torch.testing.assert_close(torch.cat(backwards), runs[0], rtol=0, atol=0)
    starts = runs[0][:, :3].reshape(len(graphs), 6, 3)  # X_0 of every graph
    for i in range(len(graphs)):
        for j in range(i):
            assert (starts[i] - starts[j]).abs().max() > 0.1, (i, j)
    # documented: identical content -> identical start; a new epoch -> new starts everywhere
    torch.testing.assert_close(t(graphs[0].clone()).rfp_pe, runs[0][:6], rtol=0, atol=0)
    t.set_epoch(1)
    loader = DataLoader(_TransformedGraphs(graphs, t), batch_size=2, num_workers=2)
    epoch1 = torch.cat([b.rfp_pe for b in loader])
    assert (epoch1[:, :3] - runs[0][:, :3]).reshape(len(graphs), -1).abs().amax(1).min() > 0.1


def test_seeded_transform_is_the_same_in_a_fresh_process():
    """The per-graph seed must not use Python's salted hash: a new interpreter gives the same encoding."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import torch; from torch_geometric.data import Data\n"
        "from geomrep.graphs import AddRandomFeaturePropagationPE as T\n"
        "ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])\n"
        "pe = T(2, 1, seed=3)(Data(x=torch.arange(4).view(4, 1), edge_index=ei)).rfp_pe.double()\n"
        "print(pe.flatten().tolist())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"}
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    here = AddRandomFeaturePropagationPE(2, 1, seed=3)(
        Data(x=torch.arange(4).view(4, 1), edge_index=ei)
    ).rfp_pe
    assert eval(res.stdout.strip()) == here.double().flatten().tolist()  # noqa: S307 (our own output)
