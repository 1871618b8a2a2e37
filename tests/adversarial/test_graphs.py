"""Property-based tests of geomrep.graphs on random, degenerate and malformed graphs.

Random multigraphs with self loops, duplicate edges, isolated nodes, zero weights and empty graphs;
every test asserts a documented behaviour: a value checked against an independent dense (numpy)
reference, a documented invariant, or a TypeError/ValueError naming the argument.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_geometric.data import Data

from geomrep.graphs import (
    AddRandomFeaturePropagationPE,
    AttentionPropagation,
    RandomFeaturePropagation,
    SIRConv,
    l2_normalize,
    propagate,
    propagation_operator,
    qr_normalize,
    random_feature_propagation,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPERATORS = ("sym", "rw", "laplacian")
INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8)
BAD_INDEX_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bool, torch.complex64)


@st.composite
def multigraphs(draw, max_nodes=7, max_edges=18, min_nodes=0):
    """``(edge_index (2, E) int64, weights (E,) float64 >= 0, n)``: self loops, duplicates, isolated nodes."""
    n = draw(st.integers(min_nodes, max_nodes))
    e = draw(st.integers(0, max_edges)) if n > 0 else 0
    node = st.integers(0, max(n - 1, 0))
    src = draw(st.lists(node, min_size=e, max_size=e))
    dst = draw(st.lists(node, min_size=e, max_size=e))
    w = draw(
        st.lists(
            st.sampled_from([0.0, 0.25, 1.0, 2.5, 5e-324, 1e-300]) | st.floats(0.0, 10.0),
            min_size=e,
            max_size=e,
        )
    )
    ei = torch.tensor([src, dst], dtype=torch.long).reshape(2, e)
    return ei, torch.tensor(w, dtype=torch.float64), n


def dense_reference(ei, w, n, operator):
    """The documented operator, from the definition, in numpy (pseudo-inverse degrees)."""
    A = np.zeros((n, n))
    for (s, t), c in zip(ei.T.tolist(), w.tolist()):
        A[t, s] += c  # edge s -> t puts weight on row t; duplicates add up
    d = A.sum(1)
    inv_sqrt = np.array([1 / np.sqrt(x) if x > 0 else 0.0 for x in d])
    if operator == "rw":
        return A / np.where(d > 0, d, 1.0)[:, None]
    S = inv_sqrt[:, None] * A * inv_sqrt[None, :]
    return S if operator == "sym" else 0.5 * (np.eye(n) + S)


@SETTINGS
@given(multigraphs(), st.sampled_from(OPERATORS), st.sampled_from(INDEX_DTYPES), st.booleans())
def test_operator_equals_dense_definition(graph, operator, index_dtype, weighted):
    ei, w, n = graph
    weights = w if weighted else None
    P = propagation_operator(ei.to(index_dtype), n, operator, weights, dtype=torch.float64).to_dense().numpy()
    ref = dense_reference(ei, w if weighted else torch.ones(ei.size(1), dtype=torch.float64), n, operator)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P, ref, rtol=1e-12, atol=1e-12)
    x = torch.randn(n, 3, dtype=torch.float64)
    coo = propagation_operator(ei, n, operator, weights, dtype=torch.float64, layout=torch.sparse_coo)
    np.testing.assert_allclose((coo @ x).numpy(), ref @ x.numpy(), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(multigraphs(min_nodes=1), st.sampled_from(OPERATORS), st.integers(0, 4), st.integers(1, 3))
def test_rfp_l2_columns_and_exact_permutation_equivariance(graph, operator, steps, k):
    """Documented: per-graph unit (or all-zero) columns; exactly equivariant with a permuted start (l2)."""
    ei, w, n = graph
    x0 = torch.randn(n, 2, k, dtype=torch.float64)
    out = random_feature_propagation(
        ei, n, x0=x0, num_features=k, num_inits=2, steps=steps, operator=operator, edge_weight=w
    )
    assert out.shape == (n, 2, (steps + 1) * k) and torch.isfinite(out).all()
    norms = out.pow(2).sum(0)
    assert torch.all(((norms - 1).abs() < 1e-10) | (norms == 0))
    perm = torch.randperm(n)
    inv = torch.argsort(perm)
    out_p = random_feature_propagation(
        inv[ei], n, x0=x0[perm], num_features=k, num_inits=2, steps=steps, operator=operator, edge_weight=w
    )
    torch.testing.assert_close(out_p, out[perm], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(multigraphs(min_nodes=1), st.integers(1, 4), st.sampled_from([torch.float32, torch.float64]))
def test_rfp_qr_blocks_are_orthonormal_or_zero(graph, k, dtype):
    ei, w, n = graph
    out = random_feature_propagation(
        ei,
        n,
        num_features=k,
        steps=2,
        normalization="qr",
        edge_weight=w,
        dtype=dtype,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.dtype == dtype and torch.isfinite(out).all()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for t in range(3):
        block = out[:, 0, t * k : (t + 1) * k].double()
        gram = block.T @ block
        diag = torch.diagonal(gram)
        assert torch.all(((diag - 1).abs() < tol) | (diag.abs() < tol))  # unit or zero columns
        torch.testing.assert_close(gram - torch.diag(diag), torch.zeros_like(gram), atol=tol, rtol=0)
        assert int((diag > 0.5).sum()) <= min(n, k)


@st.composite
def batched(draw):
    sizes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4))
    batch = torch.cat([torch.full((s,), g, dtype=torch.long) for g, s in enumerate(sizes)])
    shuffled = batch[torch.randperm(batch.numel())] if draw(st.booleans()) else batch
    return shuffled, len(sizes)


@SETTINGS
@given(batched(), st.integers(1, 3))
def test_per_graph_normalisation_matches_graph_by_graph(batch_and_b, k):
    batch, b = batch_and_b
    x = torch.randn(batch.numel(), k, dtype=torch.float64)
    l2, qr = l2_normalize(x, batch, b), qr_normalize(x, batch, b)
    for g in range(b):
        rows = x[batch == g].numpy()
        norms = np.linalg.norm(rows, axis=0)
        np.testing.assert_allclose(
            l2[batch == g].numpy(), rows / np.maximum(norms, np.finfo(float).eps), atol=1e-12
        )
        q = qr[batch == g].numpy()
        assert np.isfinite(q).all()
        np.testing.assert_allclose(q, qr_normalize(x[batch == g]).numpy(), atol=1e-12)
    with pytest.raises(TypeError, match="batch"):
        l2_normalize(x, batch.double(), b)
    if batch.numel() > 0:
        with pytest.raises(ValueError, match="num_graphs"):
            qr_normalize(x, batch, int(batch.max()))


@st.composite
def corrupted(draw):
    """A valid graph with one index moved out of range: ``>= n`` or negative, source or target."""
    ei, w, n = draw(multigraphs(min_nodes=1, max_edges=6))
    ei = torch.cat([ei, torch.tensor([[0], [0]])], dim=1)
    col = draw(st.integers(0, ei.size(1) - 1))
    row = draw(st.integers(0, 1))
    ei[row, col] = draw(st.integers(n, n + 5) | st.integers(-5, -1))
    return ei, n


ENTRY_POINTS = {
    "propagation_operator": lambda ei, n: propagation_operator(ei, n, "rw"),
    "propagate": lambda ei, n: propagate(torch.ones(n, 2), ei, torch.ones(ei.size(1))),
    "random_feature_propagation": lambda ei, n: random_feature_propagation(ei, n, num_features=2, steps=1),
    "AttentionPropagation": lambda ei, n: AttentionPropagation(2, 3)(torch.ones(n, 2), ei),
    "RandomFeaturePropagation": lambda ei, n: RandomFeaturePropagation(2, 1, 3, operator="sym")(
        None, ei, num_nodes=n
    ),
    "SIRConv": lambda ei, n: SIRConv(2, 3, aggr="sym")(torch.ones(n, 2), ei),
    "AddRandomFeaturePropagationPE": lambda ei, n: AddRandomFeaturePropagationPE(2, 1, seed=0)(
        Data(edge_index=ei, num_nodes=n)
    ),
}


@SETTINGS
@given(corrupted(), st.sampled_from(sorted(ENTRY_POINTS)))
def test_out_of_range_index_is_a_value_error_naming_edge_index(graph, entry):
    ei, n = graph
    with pytest.raises(ValueError, match="edge_index"):
        ENTRY_POINTS[entry](ei, n)


@SETTINGS
@given(multigraphs(min_nodes=1), st.sampled_from(BAD_INDEX_DTYPES), st.sampled_from(sorted(ENTRY_POINTS)))
def test_non_integer_index_is_a_type_error_naming_edge_index(graph, dtype, entry):
    ei, _, n = graph
    with pytest.raises(TypeError, match="edge_index"):
        ENTRY_POINTS[entry](ei.to(dtype), n)


@SETTINGS
@given(
    multigraphs(min_nodes=1, max_edges=8), st.sampled_from(OPERATORS), st.sampled_from(["neg", "nan", "inf"])
)
def test_bad_edge_weights_are_value_errors(graph, operator, kind):
    ei, w, n = graph
    ei = torch.cat([ei, torch.tensor([[0], [0]])], dim=1)
    w = torch.cat(
        [
            w,
            torch.tensor(
                [{"neg": -0.5, "nan": float("nan"), "inf": float("inf")}[kind]], dtype=torch.float64
            ),
        ]
    )
    with pytest.raises(ValueError, match="edge_weight"):
        propagation_operator(ei, n, operator, w)
    with pytest.raises(ValueError, match="edge_weight"):
        AddRandomFeaturePropagationPE(2, 1, operator=operator, seed=0)(
            Data(edge_index=ei, edge_weight=w, num_nodes=n)
        )


@SETTINGS
@given(multigraphs(), st.sampled_from(["sum", "mean", "max", "sym"]))
def test_sir_finite_and_isolated_targets_receive_the_bias(graph, aggr):
    """Documented: no self term; a node without in-edges outputs the bias ``b``."""
    ei, _, n = graph
    conv = SIRConv(3, 4, aggr=aggr).double()
    torch.nn.init.normal_(conv.bias)
    out = conv(torch.randn(n, 3, dtype=torch.float64), ei)
    assert out.shape == (n, 4) and torch.isfinite(out).all()
    isolated = torch.ones(n, dtype=torch.bool)
    isolated[ei[1]] = False
    torch.testing.assert_close(out[isolated], conv.bias.detach().expand(int(isolated.sum()), 4))


@SETTINGS
@given(multigraphs(), st.sampled_from([torch.int64, torch.int32, torch.bool, torch.float32, torch.float64]))
def test_transform_is_a_function_of_the_graph_and_never_truncates(graph, x_dtype):
    """Documented: seeded, the encoding depends on (seed, epoch, graph) only; integer/bool x is promoted."""
    ei, w, n = graph
    x = torch.randint(0, 3, (n, 1)).to(x_dtype)
    data = Data(x=x, edge_index=ei, edge_weight=w, num_nodes=n)
    t = AddRandomFeaturePropagationPE(3, 2, seed=11, attr_name=None)
    a, b = t(data.clone()).x, t(data.clone()).x
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    expected_dtype = x_dtype if x_dtype.is_floating_point else torch.get_default_dtype()
    assert a.dtype == expected_dtype and a.shape == (n, 1 + 9) and torch.isfinite(a).all()
    torch.testing.assert_close(a[:, :1], x.to(expected_dtype))
    pe = AddRandomFeaturePropagationPE(3, 2, seed=11)(data.clone()).rfp_pe
    torch.testing.assert_close(a[:, 1:], pe.to(expected_dtype))
    if n > 0:  # the start block is ℓ2-normalised per column: nothing was truncated to zero
        torch.testing.assert_close(pe[:, :3].pow(2).sum(0), torch.ones(3))
