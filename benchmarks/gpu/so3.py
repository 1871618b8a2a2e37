"""GPU section ``so3``: the 6D map, special Procrustes and geodesic distance vs roma.

The GPU rows of ``benchmarks/bench_so3.py``, through ``geomrep.cli.so3.time_rotation_maps``.
"""

from __future__ import annotations

from gpu._common import Section


def section_so3(sec: Section) -> None:
    """6D map, special Procrustes and geodesic distance vs roma (``time_rotation_maps``)."""
    from geomrep.cli.so3 import time_rotation_maps

    dev, sz = sec.device, sec.sizes
    result: list = []

    def measure():
        result.extend(time_rotation_maps(sz.so3_n, repeats=sz.repeats, device=dev))
        return {}

    row = sec.case({}, measure)
    if row["status"] == "ok":
        sec.rows.remove(row)
        for r in result:
            r.update(status="ok", note="")
            sec.rows.append(r)
