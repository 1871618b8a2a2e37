"""Shared inputs for the SO(3) tests: rotations at the critical angles, built independently of geomrep."""

import math

import numpy as np
import torch
from scipy.spatial.transform import Rotation

#: the angles the issue names: values and gradients must be right at each of them
CRITICAL_ANGLES = (0.0, 1e-6, 1e-4, math.pi - 1e-3, math.pi - 1e-6, math.pi)
DTYPES = (torch.float32, torch.float64)


def scipy_rotations(n: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    """``(n, 3, 3)`` Haar rotations from scipy (independent of the code under test)."""
    return torch.tensor(Rotation.random(n, random_state=seed).as_matrix(), dtype=dtype)


def rotvec_rotations(angles, seed: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotations by the given angles about random axes, built by scipy in float64 then cast.

    Returns ``(R, rotvec)`` with ``R (len(angles), 3, 3)`` and float64 rotation vectors.
    """
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(len(angles), 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rv = axes * np.asarray(angles)[:, None]
    R = Rotation.from_rotvec(rv).as_matrix()
    return torch.tensor(R, dtype=dtype), torch.tensor(rv)


def so3_error(R: torch.Tensor) -> float:
    """``max(‖RᵀR − I‖_max, |det R − 1|)`` computed in float64."""
    R = R.double()
    eye = torch.eye(3, dtype=torch.float64)
    return max(float((R.mT @ R - eye).abs().max()), float((torch.linalg.det(R) - 1).abs().max()))
