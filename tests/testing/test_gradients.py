import pytest
import torch

from geomrep.testing import assert_gradcheck


class _WrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x.sin()

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.cos() * torch.where(x.abs() < 1e-3, 2.0, 1.0)  # wrong only near 0


def test_correct_gradient_passes():
    assert_gradcheck(lambda x: x.sin() * x, torch.randn(4), points=[torch.zeros(4)])


def test_wrong_gradient_at_degenerate_point_is_caught():
    assert_gradcheck(_WrongGrad.apply, torch.full((3,), 0.5))  # fine away from 0
    with pytest.raises(AssertionError, match=r"points\[0\]"):
        assert_gradcheck(_WrongGrad.apply, torch.full((3,), 0.5), points=[torch.zeros(3)])


def test_non_finite_gradient_is_caught():
    with pytest.raises(AssertionError, match="not finite"):
        assert_gradcheck(lambda x: x.sqrt(), torch.rand(3) + 1.0, points=[torch.zeros(3)])


def test_integer_inputs_pass_through():
    idx = torch.tensor([0, 2])
    assert_gradcheck(lambda x, i: x[i] ** 2, (torch.randn(3), idx))
