"""Power-series coefficients of ``(1 − z)^p`` and Padé approximants, built in float64 and cached."""

from __future__ import annotations

import functools
from fractions import Fraction

import torch

__all__ = ["binomial_series", "pade_sqrt", "cached_constant"]


def cached_constant(fn, *args):
    """Call an ``lru_cache``-wrapped constant builder; under ``torch.compile`` call the plain function.

    Dynamo does not honour ``lru_cache`` (it warns and traces the wrapped function); the builders are
    pure Python on floats, so tracing the uncached function yields the same constants.
    """
    if torch.compiler.is_compiling():
        return fn.__wrapped__(*args)
    return fn(*args)


@functools.lru_cache(maxsize=64)
def binomial_series(p: float, degree: int) -> tuple[float, ...]:
    """Taylor coefficients ``t_k`` of ``(1 − z)^p = Σ_k t_k z^k``, ``k = 0..degree`` (float64).

    ``t_0 = 1``, ``t_{k+1} = t_k (k − p)/(k + 1)``.

    Example:
        >>> binomial_series(0.5, 2)
        (1.0, -0.5, -0.125)
    """
    t = [1.0]
    for k in range(degree):
        t.append(t[-1] * (k - p) / (k + 1))
    return tuple(t)


@functools.lru_cache(maxsize=64)
def pade_sqrt(m: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Padé ``[m/m]`` approximant ``P(z)/Q(z)`` of ``√(1 − z)``: coefficients ``(p_0..p_m, q_0..q_m)``.

    ``Q(z)√(1−z) − P(z) = O(z^{2m+1})`` with ``q_0 = 1``, solved exactly in rational arithmetic
    from the Taylor series and rounded once to float64.

    Example:
        >>> p, q = pade_sqrt(1)
        >>> [round(x, 6) for x in p], [round(x, 6) for x in q]
        ([1.0, -0.75], [1.0, -0.25])
    """
    if m < 1:
        raise ValueError(f"degree m must be >= 1, got {m}")
    half = Fraction(1, 2)
    t = [Fraction(1)]
    for k in range(2 * m):
        t.append(t[-1] * (k - half) / (k + 1))
    # rows k = m+1..2m: sum_{j=0}^m q_j t_{k-j} = 0 with q_0 = 1  ->  m x m system for q_1..q_m
    rows = [[t[k - j] for j in range(1, m + 1)] + [-t[k]] for k in range(m + 1, 2 * m + 1)]
    q_tail = _solve_exact(rows)
    q = [Fraction(1), *q_tail]
    p = [sum(q[j] * t[k - j] for j in range(k + 1)) for k in range(m + 1)]
    return tuple(float(x) for x in p), tuple(float(x) for x in q)


def _solve_exact(rows: list[list[Fraction]]) -> list[Fraction]:
    """Gauss–Jordan elimination on an augmented ``m × (m+1)`` system of Fractions."""
    m = len(rows)
    rows = [list(r) for r in rows]
    for col in range(m):
        piv = next(r for r in range(col, m) if rows[r][col] != 0)
        rows[col], rows[piv] = rows[piv], rows[col]
        inv = 1 / rows[col][col]
        rows[col] = [x * inv for x in rows[col]]
        for r in range(m):
            if r != col and rows[r][col] != 0:
                f = rows[r][col]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[col])]
    return [rows[r][m] for r in range(m)]
