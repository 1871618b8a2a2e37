"""geomrep.manifolds: SPD (Bures–Wasserstein), Grassmann, product spaces, SO(3)."""

from . import spd
from .spd import (
    BiMap,
    BuresWasserstein,
    CovPool,
    LogEig,
    ReEig,
    SPDBatchNorm,
    bw_distance,
    bw_exp,
    bw_geodesic,
    bw_inner,
    bw_log,
    bw_mean,
    bw_transport_from_identity,
    bw_transport_to_identity,
    convert_sync_spd_batchnorm,
    gbw_distance,
    karcher_mean,
)

__all__ = [
    "spd",
    "bw_distance",
    "bw_inner",
    "bw_log",
    "bw_exp",
    "bw_geodesic",
    "bw_mean",
    "bw_transport_to_identity",
    "bw_transport_from_identity",
    "gbw_distance",
    "karcher_mean",
    "BuresWasserstein",
    "BiMap",
    "ReEig",
    "LogEig",
    "CovPool",
    "SPDBatchNorm",
    "convert_sync_spd_batchnorm",
]
