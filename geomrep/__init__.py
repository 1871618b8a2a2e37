"""geomrep: geometric deep-learning building blocks for PyTorch.

Subpackages (imported on first attribute access, so ``import geomrep`` stays cheap):

- :mod:`geomrep.linalg` -- matrix functions with tie-safe gradients, fast matrix square roots.
- :mod:`geomrep.manifolds` -- SPD (Bures-Wasserstein), Grassmann, product spaces, SO(3).
- :mod:`geomrep.equivariant` -- Gaunt tensor products, permutation-equivariant layers.
- :mod:`geomrep.graphs` -- PyTorch Geometric modules (random feature propagation, SIR-GCN).
- :mod:`geomrep.testing` -- equivariance / invariance assertions for your own unit tests.
- :mod:`geomrep.datasets` -- loaders for the real data used by tutorials and benchmarks.
"""

import importlib

from ._version import __version__

_SUBPACKAGES = ("linalg", "manifolds", "equivariant", "graphs", "testing", "datasets")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
