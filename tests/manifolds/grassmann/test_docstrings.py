"""The docstring examples of geomrep.manifolds.grassmann run and give the shown results."""

import doctest

import geoopt
import pytest
import torch

from geomrep.manifolds.grassmann import classifier, geometry, manifold, optim


@pytest.mark.parametrize("module", [geometry, manifold, classifier, optim], ids=lambda m: m.__name__)
def test_examples(module):
    result = doctest.testmod(module, extraglobs={"torch": torch, "nn": torch.nn, "geoopt": geoopt})
    assert result.attempted > 0 and result.failed == 0
