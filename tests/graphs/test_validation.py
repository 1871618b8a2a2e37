"""Bad graph input raises a clear TypeError/ValueError naming the argument at every graph entry point."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from geomrep.graphs import (
    AddRandomFeaturePropagationPE,
    AttentionPropagation,
    RandomFeaturePropagation,
    SIRConv,
    l2_normalize,
    node_positions,
    operator_edge_weights,
    propagate,
    propagation_operator,
    qr_normalize,
    random_feature_propagation,
)
from geomrep.graphs.validation import check_batch, check_edge_index, check_edge_weight

PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # path 0 - 1 - 2


def entry_points(edge_index, n=3):
    """Every public function/module that takes an edge_index, called on an n-node graph."""
    x = torch.randn(n, 2)
    return {
        "propagation_operator": lambda: propagation_operator(edge_index, n, "rw"),
        "operator_edge_weights": lambda: operator_edge_weights(edge_index, n, "sym"),
        "propagate": lambda: propagate(x, edge_index, torch.ones(edge_index.shape[-1])),
        "random_feature_propagation": lambda: random_feature_propagation(edge_index, n, num_features=2),
        "AttentionPropagation": lambda: AttentionPropagation(2, 4)(x, edge_index),
        "RandomFeaturePropagation": lambda: RandomFeaturePropagation(
            2, 2, 3, in_channels=2, operator="attention"
        )(x, edge_index),
        "RandomFeaturePropagation(rw)": lambda: RandomFeaturePropagation(2, 2, 3, operator="rw")(
            x, edge_index
        ),
        "SIRConv": lambda: SIRConv(2, 3)(x, edge_index),
        "AddRandomFeaturePropagationPE": lambda: AddRandomFeaturePropagationPE(2, 2, seed=0)(
            Data(edge_index=edge_index, num_nodes=n)
        ),
    }


@pytest.mark.parametrize(
    "bad", ["source_too_large", "target_too_large", "negative_source", "negative_target"]
)
def test_out_of_range_indices_raise_everywhere(bad):
    ei = PATH.clone()
    row, value = {
        "source_too_large": (0, 3),
        "target_too_large": (1, 5),
        "negative_source": (0, -1),
        "negative_target": (1, -3),
    }[bad]
    ei[row, 1] = value
    for name, call in entry_points(ei).items():
        with pytest.raises(ValueError, match="edge_index") as info:
            call()
        assert "out of range" in str(info.value) or "negative" in str(info.value), name


def test_rw_out_of_range_source_no_longer_lands_in_another_entry():
    """Item 4: before, source 5 on 3 nodes became the key 0*3+5 = entry (1, 2) of P, silently."""
    with pytest.raises(ValueError, match="source index 5"):
        propagation_operator(torch.tensor([[5], [0]]), 3, "rw")


def test_attention_does_not_wrap_negative_indices():
    att = AttentionPropagation(2, 4)
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match="edge_index has negative"):
        att(x, torch.tensor([[0, -1], [1, 0]]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool, torch.complex64])
def test_non_integer_edge_index_is_a_type_error(dtype):
    ei = PATH.to(dtype)
    for call in entry_points(ei).values():
        with pytest.raises(TypeError, match="edge_index"):
            call()
    with pytest.raises(TypeError, match="edge_index"):
        check_edge_index([[0, 1], [1, 0]])


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 2, 2)])
def test_wrong_edge_index_shape(shape):
    ei = torch.zeros(shape, dtype=torch.long)
    for name, call in entry_points(ei).items():
        if name == "AddRandomFeaturePropagationPE" and len(shape) != 2:
            continue  # PyG's Data itself rejects a non-2-D edge_index before the transform sees it
        with pytest.raises(ValueError, match="edge_index"):
            call()


def test_int32_and_uint8_indices_accepted():
    for dtype in (torch.int32, torch.int16, torch.uint8):
        ref = propagation_operator(PATH, 3, "sym").to_dense()
        torch.testing.assert_close(propagation_operator(PATH.to(dtype), 3, "sym").to_dense(), ref)
        SIRConv(2, 3)(torch.randn(3, 2), PATH.to(dtype))


def test_negative_and_non_finite_edge_weights():
    for bad in (torch.tensor([1.0, -0.5, 1.0, 1.0]), torch.tensor([1.0, float("nan"), 1.0, 1.0])):
        for op in ("sym", "rw", "laplacian"):
            with pytest.raises(ValueError, match="edge_weight"):
                propagation_operator(PATH, 3, op, bad)
        with pytest.raises(ValueError, match="edge_weight"):
            random_feature_propagation(PATH, num_features=2, edge_weight=bad)
        with pytest.raises(ValueError, match="edge_weight"):
            AddRandomFeaturePropagationPE(2, 2, seed=0)(Data(edge_index=PATH, edge_weight=bad, num_nodes=3))
    adj = torch.sparse_coo_tensor(PATH.flip(0), torch.tensor([1.0, -1.0, 1.0, 1.0]), (3, 3))
    with pytest.raises(ValueError, match="sparse adjacency values"):
        propagation_operator(adj)
    with pytest.raises(TypeError, match="edge_weight"):
        propagation_operator(PATH, 3, "sym", torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="edge_weight"):
        check_edge_weight(torch.ones(3), 4)
    # a learned (signed) operator may still be applied with propagate
    out = propagate(torch.ones(3, 1), PATH, -torch.ones(4))
    torch.testing.assert_close(out, torch.tensor([[-1.0], [-2.0], [-1.0]]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_subnormal_and_overflowing_weights(dtype):
    """Found by the property tests: 1 / d overflowed for a subnormal degree, so "rw" returned inf/NaN."""
    tiny = torch.finfo(dtype).smallest_normal / 2**20  # subnormal
    w = torch.tensor([1.0, tiny, 1.0, 1.0], dtype=dtype)  # node 0: one subnormal in-edge
    for op in ("sym", "rw", "laplacian"):
        P = propagation_operator(PATH, 3, op, w).to_dense()
        assert torch.isfinite(P).all(), op
    torch.testing.assert_close(
        propagation_operator(PATH, 3, "rw", w).to_dense()[0, 1], torch.tensor(1.0, dtype=dtype)
    )
    huge = torch.finfo(dtype).max / 1.5
    with pytest.raises(ValueError, match="edge_weight too large"):
        propagation_operator(PATH, 3, "sym", torch.tensor([huge, 1.0, 1.0, huge], dtype=dtype))  # node 1


def test_integer_edge_weights_become_float():
    w = torch.tensor([1, 2, 1, 2])
    a = propagation_operator(PATH, 3, "rw", w).to_dense()
    b = propagation_operator(PATH, 3, "rw", w.double()).to_dense()
    assert a.dtype == torch.get_default_dtype()
    torch.testing.assert_close(a.double(), b)


@pytest.mark.parametrize("operator", ["sym", "rw", "laplacian"])
def test_zero_in_degree_rows_are_explicit(operator):
    """Isolated node 3 and node 2 whose only in-edge has weight 0: zero row (sym/rw), e_i / 2 (laplacian)."""
    ei = torch.tensor([[0, 1, 1], [1, 0, 2]])
    w = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    P = propagation_operator(ei, 4, operator, w).to_dense().numpy()
    assert np.isfinite(P).all()
    for i in (2, 3):
        expected = np.zeros(4)
        if operator == "laplacian":
            expected[i] = 0.5
        np.testing.assert_array_equal(P[i], expected)
    # connected rows by hand: A[1, 0] = 1, A[0, 1] = 2, in-degrees d = (2, 1)
    r2 = np.sqrt(2.0)
    sym = np.array([[0, 2 / r2], [1 / r2, 0]])
    ref = {"rw": np.array([[0.0, 1.0], [1.0, 0.0]]), "sym": sym, "laplacian": 0.5 * (np.eye(2) + sym)}[
        operator
    ]
    np.testing.assert_allclose(P[:2, :2], ref, atol=1e-15)


def test_batch_vector_errors():
    x = torch.randn(5, 2)
    good = torch.tensor([0, 0, 1, 1, 1])
    for fn in (l2_normalize, qr_normalize):
        with pytest.raises(TypeError, match="batch"):
            fn(x, good.float())
        with pytest.raises(ValueError, match="num_graphs=1 is too small"):
            fn(x, good, num_graphs=1)
        with pytest.raises(ValueError, match="batch has negative"):
            fn(x, torch.tensor([0, -1, 1, 1, 1]))
        with pytest.raises(ValueError, match="batch must have shape"):
            fn(x, good[:4])
        with pytest.raises(TypeError, match="num_graphs"):
            fn(x, good, num_graphs=2.0)
    with pytest.raises(ValueError, match="batch has negative"):
        node_positions(torch.tensor([0, -1]), 2)
    with pytest.raises(ValueError, match="num_graphs=1 is too small"):
        node_positions(good, 1)
    ei = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    with pytest.raises(TypeError, match="batch"):
        random_feature_propagation(ei, 5, num_features=2, batch=good.float())
    with pytest.raises(ValueError, match="num_graphs"):
        random_feature_propagation(ei, 5, num_features=2, batch=good, num_graphs=1)
    m = RandomFeaturePropagation(2, 2, 3)
    with pytest.raises(TypeError, match="batch"):
        m(x, ei, batch=good.double())
    with pytest.raises(ValueError, match="num_graphs"):
        m(x, ei, batch=good, num_graphs=1)
    assert check_batch(good, 5) == (good, 2)
    assert check_batch(good, 5, 4)[1] == 4  # extra empty graphs are allowed
    assert check_batch(None, 5) == (None, 1)


def test_node_feature_errors():
    with pytest.raises(TypeError, match="x"):
        RandomFeaturePropagation(2, 2, 3, in_channels=2, operator="attention")(
            torch.ones(3, 2, dtype=torch.long), PATH
        )
    with pytest.raises(ValueError, match="x must have shape"):
        RandomFeaturePropagation(2, 2, 3, in_channels=2, operator="attention")(
            torch.ones(4, 2), PATH, num_nodes=3
        )
    with pytest.raises(TypeError, match="x0"):
        random_feature_propagation(PATH, x0=torch.ones(3, 2, dtype=torch.long), num_features=2)
    with pytest.raises(TypeError, match="dtype"):
        random_feature_propagation(PATH, num_features=2, dtype=torch.int64)
    with pytest.raises(TypeError, match="x"):
        SIRConv(2, 3)(torch.ones(3, 2, dtype=torch.long), PATH)
    with pytest.raises(ValueError, match="edge_attr"):
        SIRConv(2, 3, edge_dim=2)(torch.ones(3, 2), PATH, torch.ones(3, 2))
    with pytest.raises(TypeError, match="x"):
        propagate(torch.ones(3, 1, dtype=torch.long), PATH, torch.ones(4))


def test_bipartite_sir_checks_each_side():
    conv = SIRConv((2, 3), 4)
    xs, xd = torch.randn(5, 2), torch.randn(2, 3)
    ei = torch.tensor([[4, 0], [1, 0]])  # source 4 < 5, target 1 < 2
    assert conv((xs, xd), ei).shape == (2, 4)
    with pytest.raises(ValueError, match="target index 2"):
        conv((xs, xd), torch.tensor([[0], [2]]))
    with pytest.raises(ValueError, match="source index 5"):
        conv((xs, xd), torch.tensor([[5], [0]]))


def test_constructor_arguments():
    for kwargs in ({"out_channels": 0}, {"out_channels": -2}, {"out_channels": 2.5}, {"hidden_channels": 0}):
        args = {"num_features": 2, "steps": 2, "out_channels": 3} | kwargs
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            RandomFeaturePropagation(**args)
    with pytest.raises(ValueError, match="in_channels"):
        RandomFeaturePropagation(2, 2, 3, in_channels=0, operator="attention")
    with pytest.raises(ValueError, match="in_channels"):
        AttentionPropagation(0, 4)
    with pytest.raises(ValueError, match="hidden_channels"):
        AttentionPropagation(3, 0)
    for kwargs, name in (
        ({"in_channels": 0}, "in_channels"),
        ({"in_channels": (2, 0)}, "in_channels"),
        ({"in_channels": 2.0}, "in_channels"),
        ({"edge_dim": 0}, "edge_dim"),
        ({"out_channels": 0}, "out_channels"),
    ):
        args = {"in_channels": 2, "out_channels": 3} | kwargs
        with pytest.raises(ValueError, match=name):
            SIRConv(**args)
    assert SIRConv(-1, 3)(torch.randn(3, 5), PATH).shape == (3, 3)  # lazy in_channels still works
    with pytest.raises(TypeError, match="seed"):
        AddRandomFeaturePropagationPE(2, 2, seed=1.5)
    with pytest.raises(TypeError, match="epoch"):
        AddRandomFeaturePropagationPE(2, 2, seed=1).set_epoch("1")
