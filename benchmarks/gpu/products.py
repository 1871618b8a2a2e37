"""GPU section ``products``: chunked ``ProductSpace.pdist`` vs geoopt's broadcasting ``ProductManifold``.

The GPU rows of ``benchmarks/bench_products.py``: the pairwise distances of ``(H2)^5`` points in
float32 and float64, with the largest difference to geoopt beside the times.
"""

from __future__ import annotations

import torch

from gpu._common import Section


def section_products(sec: Section) -> None:
    """Chunked ``ProductSpace.pdist`` vs geoopt's broadcasting ProductManifold, float32 and float64."""
    import geoopt

    from geomrep.manifolds.products import ProductSpace

    dev, sz = sec.device, sec.sizes
    for dtype in (torch.float32, torch.float64):
        for n in sz.pdist_n:

            def measure(n=n, dtype=dtype):
                space = ProductSpace("(H2)^5")
                gen = torch.Generator().manual_seed(0)
                x = space.random(n, space.dim, std=0.5, dtype=dtype, generator=gen).to(dev)
                base = geoopt.ProductManifold(
                    *[(geoopt.Stereographic(f.k), f.dim) for f in space.factors]
                ).to(dev)
                ours = sec.timed(lambda: space.pdist(x))
                theirs = sec.timed(lambda: base.dist(x[:, None, :], x[None, :, :]))
                diff = float((space.pdist(x) - base.dist(x[:, None, :], x[None, :, :])).abs().max())
                return {
                    "pdist ms": ours,
                    "geoopt ms": theirs,
                    "geoopt / ours": theirs / ours,
                    "Mpairs/s": n * n / ours / 1e3,
                    "max abs diff": diff,
                }

            sec.case({"n": n, "signature": "(H2)^5", "dtype": str(dtype).replace("torch.", "")}, measure)
