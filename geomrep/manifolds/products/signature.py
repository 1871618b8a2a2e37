r"""Signatures of product spaces: ``"H2xS2xE2"``, ``"H4(-0.5)xE2"``, ``"(H2)^5"`` or ``[(κ, d), ...]``.

Grammar (case-insensitive, spaces ignored, ``x``, ``×`` or ``*`` between factors)::

    signature := term ("x" term)*
    term      := factor | "(" signature ")" "^" n | factor "^" n
    factor    := ("H" | "S" | "E") d [ "(" κ ")" ]

``H`` needs κ < 0 (default −1), ``S`` needs κ > 0 (default 1), ``E`` has κ = 0 (``E2(0)`` is allowed,
any other value is an error). ``d ≥ 1`` is the intrinsic dimension of the factor (``S2`` is the 2-sphere).
A list form gives ``(curvature, dim)`` pairs; the sign of the curvature picks the kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Factor", "parse_signature", "format_signature"]

_DEFAULT_K = {"H": -1.0, "S": 1.0, "E": 0.0}


@dataclass(frozen=True)
class Factor:
    """One factor: ``kind`` in ``{"H", "S", "E"}``, curvature ``k`` and dimension ``dim``."""

    kind: str
    k: float
    dim: int

    def __str__(self) -> str:
        default = _DEFAULT_K[self.kind]
        return f"{self.kind}{self.dim}" if self.k == default else f"{self.kind}{self.dim}({self.k:g})"


def _err(signature, why: str) -> ValueError:
    return ValueError(
        f"signature {signature!r} is invalid: {why}. Expected e.g. 'H2xS2xE2', 'H4(-0.5)xE2', '(H2)^5' "
        "or a list of (curvature, dim) pairs"
    )


def _check_factor(kind: str, k: float, dim: int, signature) -> Factor:
    if not math.isfinite(k):
        raise _err(signature, f"curvature {k} of factor {kind}{dim} is not finite")
    if dim < 1:
        raise _err(signature, f"factor {kind}{dim} has dimension {dim} < 1")
    if kind == "H" and not k < 0:
        raise _err(signature, f"a hyperbolic factor needs curvature < 0, got {k}")
    if kind == "S" and not k > 0:
        raise _err(signature, f"a spherical factor needs curvature > 0, got {k}")
    if kind == "E" and k != 0:
        raise _err(signature, f"a Euclidean factor has curvature 0, got {k}")
    return Factor(kind, float(k), int(dim))


_FACTOR = re.compile(r"([HSE])(\d+)(?:\(([^()]*)\))?$")


def _split_top(s: str, signature) -> list[str]:
    """Split at top-level ``x`` (outside parentheses)."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _err(signature, "unbalanced parentheses")
        if ch == "X" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise _err(signature, "unbalanced parentheses")
    parts.append(cur)
    return parts


def _parse(s: str, signature) -> list[Factor]:
    out: list[Factor] = []
    for term in _split_top(s, signature):
        if not term:
            raise _err(signature, "empty factor (two separators in a row, or a leading/trailing 'x')")
        power = 1
        m = re.match(r"^(.*)\^(\d+)$", term)
        if m:
            term, power = m.group(1), int(m.group(2))
            if power < 1:
                raise _err(signature, f"power ^{power} must be ≥ 1")
        if term.startswith("(") and term.endswith(")") and _FACTOR.match(term) is None:
            inner = _parse(term[1:-1], signature)
        else:
            fm = _FACTOR.match(term)
            if fm is None:
                raise _err(signature, f"cannot read factor {term!r}")
            kind, dim = fm.group(1), int(fm.group(2))
            if fm.group(3) is None:
                k = _DEFAULT_K[kind]
            else:
                try:
                    k = float(fm.group(3))
                except ValueError:
                    raise _err(
                        signature, f"curvature {fm.group(3)!r} of {kind}{dim} is not a number"
                    ) from None
            inner = [_check_factor(kind, k, dim, signature)]
        out.extend(inner * power)
    return out


def parse_signature(signature) -> list[Factor]:
    """Parse a product-space signature into a list of :class:`Factor`.

    Args:
        signature: a string (grammar in the module docstring), a list of ``(curvature, dim)`` pairs, a
            list of :class:`Factor`, or a :class:`Factor`.

    Returns:
        The factors in order.

    Raises:
        TypeError: ``signature`` is neither a string nor a sequence of pairs.
        ValueError: the string cannot be read, a dimension is < 1, a curvature has the wrong sign for
            its kind, or the signature is empty.

    Example:
        >>> [str(f) for f in parse_signature("(H2)^2xS3(0.5)xE1")]
        ['H2', 'H2', 'S3(0.5)', 'E1']
    """
    if isinstance(signature, Factor):
        return [signature]
    if isinstance(signature, str):
        s = re.sub(r"\s+", "", signature).upper().replace("×", "X").replace("*", "X")
        if not s:
            raise _err(signature, "it is empty")
        return _parse(s, signature)
    if isinstance(signature, (list, tuple)):
        if len(signature) == 0:
            raise _err(signature, "it is empty")
        out = []
        for item in signature:
            if isinstance(item, Factor):
                out.append(_check_factor(item.kind, item.k, item.dim, signature))
                continue
            if not (isinstance(item, (list, tuple)) and len(item) == 2):
                raise _err(signature, f"item {item!r} is not a (curvature, dim) pair")
            k, dim = item
            if isinstance(dim, bool) or not isinstance(dim, int) or isinstance(k, bool):
                raise _err(signature, f"item {item!r} needs a float curvature and an int dim")
            k = float(k)
            kind = "H" if k < 0 else "S" if k > 0 else "E"
            out.append(_check_factor(kind, k, dim, signature))
        return out
    raise TypeError(
        "signature must be a string like 'H2xS2' or a list of (curvature, dim) pairs, "
        f"got {type(signature).__name__}"
    )


def format_signature(factors) -> str:
    """Inverse of :func:`parse_signature` (up to grouping): ``[H2, H2, E1] -> "H2xH2xE1"``."""
    return "x".join(str(f) for f in parse_signature(factors))
