"""GPU section ``permutation``: the 2→2 permutation-equivariant layer vs the dense basis and Maron et al.

The GPU rows of ``benchmarks/bench_permutation.py``, through its ``measure``.
"""

from __future__ import annotations

from gpu._common import Section, predict


def section_permutation(sec: Section) -> None:
    """2→2 permutation-equivariant layer vs dense basis and Maron et al. (``bench_permutation.measure``)."""
    import bench_permutation

    dev, sz = sec.device, sec.sizes
    history: dict = {}
    for n in sz.perm_n:
        pred = predict(history, "all", n**2)
        row = sec.case(
            {"n": n},
            lambda n=n: bench_permutation.measure(
                n, sz.perm_batch, sz.perm_channels, dev.type, sz.repeats, sz.perm_dense_limit_gb
            ),
            pred,
        )
        if row["status"] == "ok":
            history["all"] = (n**2, sec.last_wall)
