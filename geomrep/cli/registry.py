"""Registry of demo tasks, benchmarks and property checks for ``python -m geomrep``.

Each feature module under :mod:`geomrep.cli` registers its entries with the decorators below:

.. code-block:: python

    from geomrep.cli.registry import register_check

    @register_check("linalg.sqrtm_squared", tol={torch.float32: 1e-4, torch.float64: 1e-10},
                    description="sqrtm(A) @ sqrtm(A) == A")
    def _check(dtype: torch.dtype, generator: torch.Generator) -> float:
        ...  # return the measured (relative) error on random inputs

- a **check** ``fn(dtype, generator) -> float`` returns a measured error; it passes when the
  error is at most ``tol[dtype]``;
- a **demo** ``fn(outdir: pathlib.Path, quick: bool) -> list[dict]`` runs a small real-data task
  (a metric and a baseline, seconds to run), writes its plots under ``outdir`` and returns table rows;
- a **benchmark** ``fn(quick: bool) -> list[dict]`` times something against a named baseline and
  returns table rows (ratios against the baseline measured in the same run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = [
    "Check",
    "Demo",
    "Benchmark",
    "Registry",
    "REGISTRY",
    "register_check",
    "register_demo",
    "register_benchmark",
]


@dataclass(frozen=True)
class Check:
    """A property evaluated on random inputs; passes when ``fn(dtype, gen) <= tol[dtype]``."""

    name: str
    fn: Callable[[torch.dtype, torch.Generator], float]
    tol: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Demo:
    """A small real-data task: ``fn(outdir, quick) -> rows``."""

    name: str
    fn: Callable
    description: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A timing comparison against a named baseline: ``fn(quick) -> rows``."""

    name: str
    fn: Callable
    description: str = ""


class Registry:
    """Holds named checks, demos and benchmarks. Names must be unique per kind."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}
        self.demos: dict[str, Demo] = {}
        self.benchmarks: dict[str, Benchmark] = {}

    def _add(self, table: dict, entry) -> None:
        if entry.name in table:
            raise ValueError(f"name {entry.name!r} is already registered")
        table[entry.name] = entry

    def add_check(self, entry: Check) -> None:
        for dtype in (torch.float32, torch.float64):
            if dtype not in entry.tol:
                raise ValueError(f"check {entry.name!r}: tol must give a threshold for {dtype}")
        self._add(self.checks, entry)

    def add_demo(self, entry: Demo) -> None:
        self._add(self.demos, entry)

    def add_benchmark(self, entry: Benchmark) -> None:
        self._add(self.benchmarks, entry)


#: The registry the CLI reads; filled when :mod:`geomrep.cli` imports its feature modules.
REGISTRY = Registry()


def register_check(name: str, *, tol: dict, description: str = "", registry: Registry = REGISTRY):
    """Decorator registering ``fn(dtype, generator) -> error`` as a check named ``name``."""

    def deco(fn):
        registry.add_check(Check(name, fn, dict(tol), description))
        return fn

    return deco


def register_demo(name: str, *, description: str = "", registry: Registry = REGISTRY):
    """Decorator registering ``fn(outdir, quick) -> rows`` as a demo task named ``name``."""

    def deco(fn):
        registry.add_demo(Demo(name, fn, description))
        return fn

    return deco


def register_benchmark(name: str, *, description: str = "", registry: Registry = REGISTRY):
    """Decorator registering ``fn(quick) -> rows`` as a benchmark named ``name``."""

    def deco(fn):
        registry.add_benchmark(Benchmark(name, fn, description))
        return fn

    return deco
