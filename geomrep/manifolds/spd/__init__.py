"""SPD matrices under (generalized) Bures–Wasserstein geometry: functions, manifold, layers, batch norm.

- :mod:`.bw`: :func:`bw_distance`, :func:`bw_inner`, :func:`bw_log`, :func:`bw_exp`, :func:`bw_geodesic`,
  :func:`bw_transport_to_identity`, :func:`bw_transport_from_identity`;
- :mod:`.gbw`: the generalized BW metric with SPD parameter ``M`` (:func:`gbw_distance` …);
- :mod:`.mean`: :func:`bw_mean` (fixed point), :func:`karcher_mean` (affine-invariant);
- :mod:`.manifold`: :class:`BuresWasserstein` (a ``geoopt.Manifold``);
- :mod:`.layers`: :class:`BiMap`, :class:`ReEig`, :class:`LogEig`, :class:`CovPool`;
- :mod:`.batchnorm`: :class:`SPDBatchNorm` (GBW/BW/AIM), :func:`convert_sync_spd_batchnorm`;
- :mod:`.reference`: :func:`gbw_batchnorm_reference`, the per-matrix loop twin (benchmark baseline).

Inputs: float32/float64 only (``TypeError`` otherwise); every matrix argument is validated the same way
(finite, symmetric, SPD or PSD as the function needs), and errors name the user's argument and report
that matrix's own smallest eigenvalue (:mod:`._checks`). Data checks are skipped under ``torch.compile``.
"""

from .batchnorm import SPDBatchNorm, convert_sync_spd_batchnorm
from .bw import (
    bw_distance,
    bw_exp,
    bw_geodesic,
    bw_inner,
    bw_log,
    bw_transport_from_identity,
    bw_transport_to_identity,
)
from .gbw import gbw_congruence, gbw_distance, gbw_exp, gbw_geodesic, gbw_inner, gbw_log
from .layers import BiMap, CovPool, LogEig, ReEig, sym_to_vec
from .manifold import BuresWasserstein
from .mean import arithmetic_mean, bw_mean, karcher_mean
from .reference import gbw_batchnorm_reference

__all__ = [
    "bw_distance",
    "bw_inner",
    "bw_log",
    "bw_exp",
    "bw_geodesic",
    "bw_transport_to_identity",
    "bw_transport_from_identity",
    "gbw_congruence",
    "gbw_distance",
    "gbw_inner",
    "gbw_log",
    "gbw_exp",
    "gbw_geodesic",
    "bw_mean",
    "karcher_mean",
    "arithmetic_mean",
    "BuresWasserstein",
    "BiMap",
    "ReEig",
    "LogEig",
    "CovPool",
    "sym_to_vec",
    "SPDBatchNorm",
    "convert_sync_spd_batchnorm",
    "gbw_batchnorm_reference",
]
