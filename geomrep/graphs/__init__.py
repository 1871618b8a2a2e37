"""Graph modules for PyTorch Geometric: random feature propagation (RFP) encodings and SIR-GCN.

- :mod:`~geomrep.graphs.operators`: sparse propagation operators from ``edge_index`` (pure torch);
- :mod:`~geomrep.graphs.normalization`: per-graph ℓ2 and sign-fixed QR column normalisation;
- :mod:`~geomrep.graphs.rfp`: :func:`random_feature_propagation`, :class:`AddRandomFeaturePropagationPE`;
- :mod:`~geomrep.graphs.learned_rfp`: :class:`RandomFeaturePropagation` (in-model, learnable operator);
- :mod:`~geomrep.graphs.sir`: :class:`SIRConv`;
- ``geomrep.graphs.validation``: the ``edge_index`` / ``edge_weight`` / ``batch`` checks every entry
  point runs (TypeError for a wrong dtype kind, ValueError naming the argument for shapes and values).
"""

from .learned_rfp import AttentionPropagation, RandomFeaturePropagation
from .normalization import l2_normalize, node_positions, qr_normalize
from .operators import OPERATORS, as_edge_index, operator_edge_weights, propagate, propagation_operator
from .rfp import (
    AddRandomFeaturePropagationPE,
    normalize_features,
    propagation_trajectory,
    random_feature_propagation,
)
from .sir import SIR_AGGREGATIONS, SIRConv

__all__ = [
    "OPERATORS",
    "SIR_AGGREGATIONS",
    "as_edge_index",
    "operator_edge_weights",
    "propagation_operator",
    "propagate",
    "l2_normalize",
    "qr_normalize",
    "node_positions",
    "normalize_features",
    "random_feature_propagation",
    "propagation_trajectory",
    "AddRandomFeaturePropagationPE",
    "AttentionPropagation",
    "RandomFeaturePropagation",
    "SIRConv",
]
