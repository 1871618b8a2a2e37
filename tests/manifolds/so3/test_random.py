"""random_rotation: Haar distribution (angle law, KS test), reproducibility, shapes, validation."""

import numpy as np
import pytest
import torch
from scipy import stats

from geomrep.manifolds.so3 import matrix_to_axis_angle, random_rotation

from ._helpers import so3_error


def test_haar_angle_distribution():
    """Under Haar measure the rotation angle has CDF (θ − sin θ)/π on [0, π]; the axis is uniform."""
    R = random_rotation(4000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert so3_error(R) < 1e-14
    v = matrix_to_axis_angle(R)
    theta = v.norm(dim=-1).numpy()
    assert stats.kstest(theta, lambda t: (t - np.sin(t)) / np.pi).pvalue > 1e-3
    # uniform axis: each coordinate of the unit axis is uniform on [−1, 1]
    axis = (v / v.norm(dim=-1, keepdim=True)).numpy()
    assert stats.kstest(axis[:, 2], stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3
    # and E[R] = 0 (Haar); a non-uniform sampler (e.g. uniform angle) fails this
    assert float(R.mean(0).abs().max()) < 0.05


def test_seeded_shapes_dtypes():
    a = random_rotation(2, 3, dtype=torch.float32, generator=torch.Generator().manual_seed(1))
    b = random_rotation((2, 3), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert a.shape == (2, 3, 3, 3) and a.dtype == torch.float32
    torch.testing.assert_close(a, b.float())
    assert random_rotation().shape == (3, 3)
    assert random_rotation(0).shape == (0, 3, 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        random_rotation(2, dtype=torch.int64)
    with pytest.raises(ValueError, match="shape must be non-negative ints"):
        random_rotation(-1)
