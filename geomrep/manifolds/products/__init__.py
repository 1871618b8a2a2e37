"""Products of hyperbolic, spherical and Euclidean spaces (mixed-curvature representations).

- :mod:`.stereographic`: the κ-stereographic functional core (:func:`dist`, :func:`expmap`, :func:`logmap`,
  :func:`mobius_add`, :func:`transp` …), smooth through κ = 0, precise near the boundary;
- :mod:`.signature`: :func:`parse_signature` (``"H2xS2xE2"``, ``"H4(-0.5)xE2"``, ``"(H2)^5"``);
- :mod:`.factor`: :class:`KappaStereographic` (a ``geoopt.Stereographic``);
- :mod:`.product`: :class:`ProductSpace` (a ``geoopt.ProductManifold``);
- :mod:`.ambient`: :func:`to_ambient` / :func:`from_ambient` (hyperboloid / sphere, isometric for every κ);
- :mod:`.wrapped_normal`: :func:`wrapped_normal_sample`, :func:`wrapped_normal_log_prob`;
- :mod:`.metrics`: :func:`graph_distances`, :func:`average_distortion`, :func:`mean_average_precision`;
- :mod:`.embedding`: :func:`embed_graph` (Gu et al. 2019) → :class:`GraphEmbedding`;
- :mod:`.sampled_distances`: :class:`ShortestPathSampler` (BFS targets for 10⁵⁺-node graphs),
  :func:`sampled_distortion`, :func:`sampled_map`;
- :mod:`.curvature`: :func:`sectional_curvature`, :func:`delta_hyperbolicity`, :func:`suggest_signature`;
- :mod:`.mlr`: :class:`ProductMLR` (gyroplane logistic regression); :mod:`.kappa_gcn`: :class:`KappaGCNConv`.
"""

from . import stereographic
from .ambient import from_ambient, to_ambient
from .curvature import candidate_signatures, delta_hyperbolicity, sectional_curvature, suggest_signature
from .embedding import GraphEmbedding, embed_graph
from .factor import KappaStereographic
from .kappa_gcn import KappaGCNConv, mobius_scalar_mul
from .metrics import (
    adjacency_from_distances,
    average_distortion,
    average_precision_rows,
    graph_distances,
    mean_average_precision,
)
from .mlr import ProductMLR, gyroplane_logits
from .product import ProductSpace
from .sampled_distances import ShortestPathSampler, sampled_distortion, sampled_map
from .signature import Factor, format_signature, parse_signature
from .wrapped_normal import wrapped_normal_log_prob, wrapped_normal_sample

__all__ = [
    "stereographic",
    "Factor",
    "parse_signature",
    "format_signature",
    "KappaStereographic",
    "ProductSpace",
    "to_ambient",
    "from_ambient",
    "wrapped_normal_sample",
    "wrapped_normal_log_prob",
    "graph_distances",
    "adjacency_from_distances",
    "average_distortion",
    "mean_average_precision",
    "average_precision_rows",
    "ShortestPathSampler",
    "sampled_distortion",
    "sampled_map",
    "embed_graph",
    "GraphEmbedding",
    "sectional_curvature",
    "delta_hyperbolicity",
    "suggest_signature",
    "candidate_signatures",
    "ProductMLR",
    "gyroplane_logits",
    "KappaGCNConv",
    "mobius_scalar_mul",
]
