"""GPU section ``grassmann``: the Grassmann head vs its Linear floor, and the optimizer steps.

The GPU rows of ``benchmarks/bench_grassmann.py``, through the same helpers
(``geomrep.cli.grassmann.time_head`` and ``time_optimizer_steps``).
"""

from __future__ import annotations

from gpu._common import Section


def section_grassmann(sec: Section) -> None:
    """Grassmann head fwd+bwd vs its Linear floor, and the optimizer steps (``bench_grassmann`` helpers)."""
    from geomrep.cli.grassmann import time_head, time_optimizer_steps

    dev, sz = sec.device, sec.sizes
    for d, C, k in sz.grassmann:
        sec.case(
            {"part": "head"},
            lambda d=d, C=C, k=k: time_head(d, C, k, sz.grassmann_batch, device=dev, repeats=sz.repeats),
        )
        sec.case(
            {"part": "optimizer step"},
            lambda d=d, C=C, k=k: time_optimizer_steps(d, C, k, device=dev, repeats=sz.repeats),
        )
