"""sqrtm / invsqrtm / sqrtm_invsqrtm dispatch: accuracy vs scipy, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from geomrep.linalg import invsqrtm, sqrtm, sqrtm_invsqrtm, sym

from ._helpers import degenerate_points, random_spd, rel_err, spd_with_cond

F64 = torch.float64


@pytest.mark.parametrize("cond", [1.0, 1e2, 1e6])
def test_auto_float64_matches_scipy(cond):
    A = spd_with_cond(16, cond, seed=3)
    ref = np.real(sl.sqrtm(A.numpy()))
    assert rel_err(sqrtm(A), ref) < 1e-10
    ref_inv = np.linalg.inv(ref)
    assert rel_err(invsqrtm(A), ref_inv) < 1e-10 * max(1.0, cond**0.5)
    S, R = sqrtm_invsqrtm(A)
    assert rel_err(S, ref) < 1e-10


@pytest.mark.parametrize("fn", [sqrtm, invsqrtm, lambda X: sqrtm_invsqrtm(X)[0] + sqrtm_invsqrtm(X)[1]])
def test_gradcheck_auto(fn):
    for A in [*degenerate_points(), random_spd(4, seed=2)]:
        assert torch.autograd.gradcheck(lambda X: fn(sym(X)), (A.clone().requires_grad_(),))


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(3, 4), "square"),
        (torch.ones(3, 3, dtype=torch.int64), "floating"),
        (torch.tensor([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (torch.diag(torch.tensor([1.0, -1.0])), "positive"),
    ],
)
@pytest.mark.parametrize("fn", [sqrtm, invsqrtm])
def test_bad_input(fn, bad, match):
    with pytest.raises(ValueError, match=match):
        fn(bad)


def test_unknown_method():
    with pytest.raises(ValueError, match="method"):
        sqrtm(torch.eye(2), method="nope")
