"""Gathers with a gather backward: values and derivatives equal to index_select's."""

import pytest
import torch

from geomrep.equivariant.gaunt.gather import column_inverse, take


def test_take_columns_gathers_and_differentiates_like_index_select():
    index = torch.tensor([2, 4, 0, 4, 4, 1])  # column 4 of [x, 0] is the appended zero (x has 4 columns)
    inverse = column_inverse(index, 4)
    assert inverse.tolist() == [2, 5, 0, 6]  # column 3 unused: points past the end (a zero gradient)
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    ref = torch.cat([x, x.new_zeros(3, 1)], 1).index_select(1, index)
    torch.testing.assert_close(take(x, index, inverse), ref, atol=0, rtol=0)
    assert torch.autograd.gradcheck(lambda t: take(t, index, inverse), (x,))
    assert torch.autograd.gradgradcheck(lambda t: take(t, index, inverse), (x,))
    with pytest.raises(ValueError, match="more than once"):
        column_inverse(torch.tensor([1, 1]), 4)


def test_take_along_rows_without_padding():
    index = torch.tensor([1, 0, 2, 2])  # row 2 taken twice: the second copy must get a zero gradient
    inverse = torch.tensor([1, 0, 2])
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(take(x, index, inverse, dim=0, pad=False), x.index_select(0, index))
    w = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64).unsqueeze(1)  # zero weight on the repeat
    (g,) = torch.autograd.grad((take(x, index, inverse, dim=0, pad=False) * w).sum(), x)
    (ref,) = torch.autograd.grad((x.index_select(0, index) * w).sum(), x)
    torch.testing.assert_close(g, ref, atol=0, rtol=0)
