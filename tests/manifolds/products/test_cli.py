"""The products CLI checks pass in float32/float64 and the data loader reads Gu et al.'s graphs."""

import pytest
import torch

from geomrep.cli import run_checks
from geomrep.datasets import load_hyperbolic_graph
from tests._data import needs_data


def test_registered_checks_pass():
    rows, ok = run_checks(["products.*"])
    assert len(rows) == 4 and ok, rows


@needs_data("hyperbolic_graphs")
def test_load_hyperbolic_graph():
    D = load_hyperbolic_graph("phylo_tree")
    assert D.shape == (344, 344) and float(D.max()) > 5
    C = load_hyperbolic_graph("cities")
    assert C.shape == (312, 312) and torch.equal(C, C.T) and float(C.diagonal().abs().max()) == 0
    with pytest.raises(ValueError, match="name"):
        load_hyperbolic_graph("nope")
