"""``assert_equivariant`` / ``assert_invariant``: compare ``f(g·x)`` with ``g·f(x)`` on random g."""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable, Sequence

import torch

from .promotion import promote
from .tolerance import ROUNDED_CONSTANTS, Tolerance, tolerance

__all__ = ["assert_equivariant", "assert_invariant", "equivariance_error"]

_AUTO = "auto"


def _cast(obj, dtype: torch.dtype):
    """Cast floating tensors inside ``obj`` (tensor, tuple/list/dict, PyG Data) to ``dtype``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(_cast(o, dtype) for o in obj)
    if isinstance(obj, dict):
        return {k: _cast(v, dtype) for k, v in obj.items()}
    if hasattr(obj, "apply") and hasattr(obj, "keys"):  # PyG Data / Batch
        out = copy.copy(obj)
        return out.apply(lambda t: t.to(dtype) if t.is_floating_point() else t)
    return obj


def _leaves(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _leaves(o)]
    if isinstance(obj, dict):
        return [t for k in sorted(obj) for t in _leaves(obj[k])]
    if hasattr(obj, "keys") and hasattr(obj, "apply"):  # PyG Data
        return [obj[k] for k in sorted(obj.keys()) if isinstance(obj[k], torch.Tensor)]
    raise TypeError(f"cannot compare outputs of type {type(obj).__name__}")


def _float_dtype(inputs) -> torch.dtype | None:
    for t in _leaves_or_empty(inputs):
        if t.is_floating_point():
            return t.dtype
    return None


def _leaves_or_empty(obj) -> list[torch.Tensor]:
    """Tensors inside ``obj``, skipping leaves that are not tensors (numbers, strings, None)."""
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _leaves_or_empty(o)]
    try:
        return _leaves(obj)
    except TypeError:
        return []


def _sample(group_sampler: Callable, dtype: torch.dtype | None):
    """Call the sampler, passing ``dtype=`` when it accepts one (so float64 runs get float64 g)."""
    try:
        params = inspect.signature(group_sampler).parameters
    except (TypeError, ValueError):
        params = {}
    if dtype is not None and "dtype" in params:
        return group_sampler(dtype=dtype)
    return group_sampler()


def _apply_actions(g, values: Sequence, actions: Sequence):
    return tuple(v if a is None else a(g, v) for v, a in zip(values, actions))


def _apply_out_action(g, y, out_action):
    if out_action is None:
        return y
    if isinstance(out_action, (tuple, list)):
        if not isinstance(y, (tuple, list)) or len(y) != len(out_action):
            raise ValueError("out_action is a tuple: fn must return a tuple of the same length")
        return type(y)(yi if a is None else a(g, yi) for yi, a in zip(y, out_action))
    return out_action(g, y)


class _JudgementError(AssertionError):
    """A failure of the property itself (not of running ``fn``): never a reason to fall back."""


def _precision_key(dtype: torch.dtype) -> float:
    if dtype.is_complex:
        dtype = torch.float32 if dtype == torch.complex64 else torch.float64
    return float(torch.finfo(dtype).eps)


def _output_dtype(y) -> torch.dtype | None:
    """The least precise floating/complex dtype among the outputs (None if no floating output)."""
    dtypes = [t.dtype for t in _leaves(y) if t.is_floating_point() or t.is_complex()]
    return max(dtypes, key=_precision_key) if dtypes else None


def _max_abs(t: torch.Tensor) -> float:
    """``max |t|`` (0 for empty tensors), for strided and sparse layouts alike."""
    if t.layout == torch.sparse_coo:
        t = t.coalesce().values()
    elif t.layout != torch.strided:  # CSR/CSC/BSR/BSC
        t = t.values()
    return float(t.abs().max()) if t.numel() else 0.0


def equivariance_error(
    fn: Callable,
    inputs,
    in_actions,
    out_action,
    *,
    group_sampler: Callable[[], object],
    trials: int = 3,
    dtype: torch.dtype | str | None = _AUTO,
) -> dict:
    """Measure ``max |f(g·x) − g·f(x)|`` over ``trials`` sampled group elements.

    Returns a dict with keys ``error`` (max absolute error), ``scale`` (max ``|g·f(x)|`` of the worst
    trial), ``worst_trial``, ``errors`` and ``scales`` (per trial), ``dtype`` (the dtype of the
    outputs, which the verdict is judged in; the least precise one for several outputs, None when no
    output is floating), ``evaluated_dtype`` (the dtype the inputs were cast to),
    ``rounded_constants`` (dtypes of constants — module buffers, captured tensors — that were less
    precise than ``evaluated_dtype`` before promotion) and ``fallback`` (None, or why the requested
    dtype could not be used) and ``input_scale`` (max ``|x|`` over the floating inputs). See
    :func:`assert_equivariant` for the arguments.
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    if in_actions is None or callable(in_actions):
        in_actions = (in_actions,) * len(inputs) if len(inputs) == 1 else in_actions
    if in_actions is None or len(in_actions) != len(inputs):
        raise ValueError(
            f"in_actions must give one action (or None) per input: {len(inputs)} inputs, "
            f"got {in_actions if in_actions is None else len(in_actions)}"
        )
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")
    if not (dtype is None or dtype == _AUTO or isinstance(dtype, torch.dtype)):
        raise ValueError(f"dtype must be 'auto', None or a torch.dtype, got {dtype!r}")
    if isinstance(dtype, torch.dtype) and not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype}")

    def run(f, xs, target_dtype):
        errors, scales = [], []
        y = f(*xs)
        for _ in range(trials):
            g = _sample(group_sampler, target_dtype)
            if isinstance(g, torch.Tensor) and g.is_floating_point() and target_dtype is not None:
                g = g.to(target_dtype)
            y_g = f(*_apply_actions(g, xs, in_actions))
            expected = _apply_out_action(g, y, out_action)
            a, b = _leaves(y_g), _leaves(expected)
            if len(a) != len(b) or any(s.shape != t.shape for s, t in zip(a, b)):
                raise _JudgementError(
                    f"output structure/shape changed under the group action: "
                    f"{[tuple(t.shape) for t in a]} vs {[tuple(t.shape) for t in b]}"
                )
            diffs = []
            for s, t in zip(a, b):  # differences in float64 (complex128): no overflow, bools and ints too
                wide = torch.promote_types(torch.promote_types(s.dtype, t.dtype), torch.float64)
                diffs.append(_max_abs(s.to(wide) - t.to(wide)))
            errors.append(max(diffs, default=0.0))
            scales.append(
                max((_max_abs(t.to(torch.promote_types(t.dtype, torch.float64))) for t in b), default=0.0)
            )
        return errors, scales, _output_dtype(y)

    in_dtype = _float_dtype(inputs)
    result, evaluated, rounded, fallback = None, in_dtype, set(), None
    with torch.no_grad():
        target = torch.float64 if dtype == _AUTO else dtype
        if target is not None:
            try:
                promoted = promote(fn, target)
                result = run(promoted.fn, _cast(inputs, target), target)
                evaluated, rounded = target, promoted.rounded_constants
            except _JudgementError:
                raise
            except Exception as exc:
                if dtype != _AUTO:
                    raise
                fallback = f"evaluating fn in {target} raised {type(exc).__name__}: {str(exc)[:200]}"
                warnings.warn(
                    f"equivariance check: {fallback}; fn is evaluated in its own dtype ({in_dtype}) and "
                    "judged with that dtype's tolerance, which cannot see errors below it (pass dtype=None "
                    "to skip the float64 attempt)",
                    stacklevel=3,
                )
        if result is None:
            result = run(fn, inputs, in_dtype)
            evaluated = in_dtype
    errors, scales, out_dtype = result
    worst = max(range(trials), key=lambda i: float("inf") if errors[i] != errors[i] else errors[i])
    floats = [t for t in _leaves_or_empty(inputs) if t.is_floating_point() or t.is_complex()]
    return {
        "error": errors[worst],
        "scale": scales[worst],
        "input_scale": max(
            (_max_abs(t.detach().to(torch.promote_types(t.dtype, torch.float64))) for t in floats),
            default=0.0,
        ),
        "worst_trial": worst,
        "dtype": out_dtype,
        "evaluated_dtype": evaluated,
        "rounded_constants": rounded,
        "fallback": fallback,
        "errors": errors,
        "scales": scales,
    }


def _judging_tolerance(r: dict) -> tuple[Tolerance, str]:
    """Tolerance for the verdict and a sentence saying what it was judged in."""
    out, evaluated = r["dtype"], r["evaluated_dtype"]
    if out is None:
        return Tolerance(0.0, 0.0), "outputs are not floating: judged exactly"
    tol = tolerance(out)
    how = f"judged in {out} (the outputs' dtype"
    how += f"; inputs evaluated in {evaluated})" if evaluated not in (None, out) else ")"
    coarse = [d for d in r["rounded_constants"] if _precision_key(d) > _precision_key(out)]
    if coarse:  # float64 arithmetic on constants rounded to a coarser dtype: their rounding is the floor
        worst = max(coarse, key=_precision_key)
        tol = ROUNDED_CONSTANTS.get(worst, tolerance(worst))
        how += f", with the tolerance for constants rounded to {worst} (fn held {worst} buffers/tensors)"
    if r["fallback"]:
        how += f"; the float64 evaluation failed ({r['fallback']})"
    return tol, how


def assert_equivariant(
    fn: Callable,
    inputs,
    in_actions,
    out_action,
    *,
    group_sampler: Callable[[], object],
    trials: int = 3,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: torch.dtype | str | None = _AUTO,
) -> float:
    """Assert ``fn(g·x) == g·fn(x)`` for random group elements ``g``.

    Args:
        fn: function or ``nn.Module`` taking ``*inputs``.
        inputs: a tensor or a tuple of positional arguments (tensors, PyG ``Data``, anything).
        in_actions: an action (for a single input) or a tuple with one action per input; ``None``
            leaves that input unchanged. An action is ``action(g, x) -> g·x`` (see
            :mod:`geomrep.testing.actions`).
        out_action: action on the output, a tuple of actions for tuple outputs, or ``None`` for an
            invariant output.
        group_sampler: zero-argument callable returning a group element, e.g. ``random_rotation`` or
            ``lambda: random_permutation(n)``. If it accepts a ``dtype`` keyword it is called with the
            dtype being evaluated (so a float64 run gets an exactly-float64 rotation); otherwise a
            floating ``g`` is cast.
        trials: number of sampled group elements.
        atol, rtol: pass when ``max|fn(g·x) − g·fn(x)| <= atol + rtol · max|g·fn(x)|``; defaults
            from :data:`TOLERANCE` for the dtype judged in (below), the default ``atol`` multiplied by
            ``min(1, max(max|g·fn(x)|, max|x|))`` so that data far below unit scale is still judged
            relatively (a leak in data of size 1e-30 is not hidden under an absolute 1e-10).
        dtype: ``"auto"`` (default) evaluates in float64: floating inputs are cast, and ``fn``'s state
            is promoted on a copy (an ``nn.Module`` is deep-copied and ``.to(float64)``-ed; a function,
            bound method or ``functools.partial`` gets the modules and floating tensors it holds —
            closure cells, defaults, partial arguments, module-level names its body reads — converted;
            see ``geomrep.testing.promotion.promote``). If that raises
            any exception, ``fn`` runs in its own dtype and a ``UserWarning`` says so. ``None`` keeps
            the inputs' dtype; a ``torch.dtype`` forces it (and raises if it cannot be used).

    The verdict is judged in the dtype of the *outputs* (the least precise one), not of the inputs:
    ``lambda X: sqrtm(X.float())`` is judged at float32 tolerance even when evaluated on float64
    inputs. When ``fn`` held constants (module buffers or captured tensors, not parameters) stored in a
    less precise dtype, their rounding is the floor of what a float64 run can show, and the
    :data:`ROUNDED_CONSTANTS` tolerance of that dtype is used (a ``.double()`` cannot restore digits
    a float32 Clebsch–Gordan table has lost). A function that computes internally in float32 but
    returns float64 cannot be recognised: judge it with ``dtype=None`` or explicit tolerances.

    Returns:
        The maximal absolute error measured.

    Raises:
        AssertionError: with the measured error, the tolerance, the worst trial and the dtype judged in
            (and why, when the float64 evaluation fell back).

    Example:
        >>> from geomrep.testing import random_rotation, rotation_action
        >>> x = torch.randn(5, 3)
        >>> err = assert_invariant(lambda p: p.norm(dim=-1), (x,), (rotation_action,),
        ...                        group_sampler=random_rotation)
    """
    r = equivariance_error(
        fn, inputs, in_actions, out_action, group_sampler=group_sampler, trials=trials, dtype=dtype
    )
    tol, how = _judging_tolerance(r)
    # the default atol is for outputs near zero at unit data scale: data smaller than 1 scales it down,
    # so a leak in data of size 1e-30 is not hidden under an absolute 1e-10
    atol = tol.atol * min(1.0, max(r["scale"], r["input_scale"])) if atol is None else atol
    rtol = tol.rtol if rtol is None else rtol
    bound = atol + rtol * r["scale"]
    if not (r["error"] <= bound):  # also catches NaN
        kind = "invariant" if out_action is None else "equivariant"
        raise AssertionError(
            f"function is not {kind}: max abs error {r['error']:.3e} > tolerance {bound:.3e} "
            f"(atol={atol:.1e}, rtol={rtol:.1e}, output scale {r['scale']:.3e}); worst trial "
            f"{r['worst_trial'] + 1} of {trials}, per-trial errors "
            f"{', '.join(f'{e:.2e}' for e in r['errors'])}; {how}"
        )
    return r["error"]


def assert_invariant(
    fn: Callable,
    inputs,
    in_actions,
    *,
    group_sampler: Callable[[], object],
    trials: int = 3,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: torch.dtype | str | None = _AUTO,
) -> float:
    """Assert ``fn(g·x) == fn(x)``; :func:`assert_equivariant` with ``out_action=None``."""
    return assert_equivariant(
        fn,
        inputs,
        in_actions,
        None,
        group_sampler=group_sampler,
        trials=trials,
        atol=atol,
        rtol=rtol,
        dtype=dtype,
    )
