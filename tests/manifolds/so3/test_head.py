"""RotationHead: every representation returns rotations; gradients, state_dict, compile, validation."""

import pytest
import torch

from geomrep.manifolds.so3 import REPRESENTATION_SIZES, GeodesicLoss, RotationHead, random_rotation
from geomrep.testing import assert_compiles

from ._helpers import DTYPES, so3_error

REPS = tuple(REPRESENTATION_SIZES)


@pytest.mark.parametrize("rep", REPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_rotations_and_trains(rep, dtype):
    head = RotationHead(8, rep, dtype=dtype)
    x = torch.randn(16, 8, dtype=dtype)
    R = head(x)
    assert R.shape == (16, 3, 3) and R.dtype == dtype
    assert so3_error(R) < (1e-6 if dtype == torch.float32 else 1e-13)
    # one loss backward reaches the weights with finite gradients
    GeodesicLoss()(R, random_rotation(16, dtype=dtype)).backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())
    assert head(torch.randn(2, 5, 8, dtype=dtype)).shape == (2, 5, 3, 3)


def test_to_matrix_uses_the_named_map():
    head = RotationHead(4, "euler", euler_seq="zyx")
    y = torch.tensor([[0.1, 0.2, 0.3]])
    from geomrep.manifolds.so3 import euler_to_matrix

    torch.testing.assert_close(head.to_matrix(y), euler_to_matrix(y, "zyx"))
    assert "euler_seq='zyx'" in repr(head)


@pytest.mark.parametrize("rep", REPS)
def test_state_dict_round_trip_and_compile(rep):
    head = RotationHead(6, rep)
    other = RotationHead(6, rep)
    other.load_state_dict(head.state_dict())
    x = torch.randn(5, 6)
    torch.testing.assert_close(other(x), head(x))
    assert_compiles(head, x, backend="aot_eager")


def test_validation():
    with pytest.raises(ValueError, match="representation must be one of"):
        RotationHead(4, "rodrigues")
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        RotationHead(0)
    with pytest.raises(ValueError, match="seq must be"):
        RotationHead(4, "euler", euler_seq="XXY")
    head = RotationHead(4)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\)"):
        head(torch.randn(3, 5))
    with pytest.raises(TypeError, match="x must have a floating dtype"):
        head(torch.ones(3, 4, dtype=torch.long))
    assert head(torch.randn(0, 4)).shape == (0, 3, 3)
