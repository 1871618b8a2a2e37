"""``assert_equivariant`` / ``assert_invariant``: compare ``f(g·x)`` with ``g·f(x)`` on random g."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence

import torch

from .tolerance import tolerance

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
    trial), ``worst_trial``, ``dtype`` (the dtype actually evaluated) and ``errors`` (per trial).
    See :func:`assert_equivariant` for the arguments.
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
    if not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")

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
                raise AssertionError(
                    f"output structure/shape changed under the group action: "
                    f"{[tuple(t.shape) for t in a]} vs {[tuple(t.shape) for t in b]}"
                )
            err = max((float((s - t).abs().max()) if s.numel() else 0.0 for s, t in zip(a, b)), default=0.0)
            sc = max((float(t.abs().max()) if t.numel() else 0.0 for t in b), default=0.0)
            errors.append(err)
            scales.append(sc)
        return errors, scales

    in_dtype = _float_dtype(inputs)
    used = in_dtype
    result = None
    with torch.no_grad():
        if dtype == _AUTO and in_dtype is not None and in_dtype != torch.float64:
            f64 = copy.deepcopy(fn).double() if isinstance(fn, torch.nn.Module) else fn
            try:
                result = run(f64, _cast(inputs, torch.float64), torch.float64)
                used = torch.float64
            except RuntimeError:
                result = None  # fn is tied to its dtype (e.g. a closure over float32 weights)
        elif isinstance(dtype, torch.dtype):
            f_cast = copy.deepcopy(fn).to(dtype) if isinstance(fn, torch.nn.Module) else fn
            result = run(f_cast, _cast(inputs, dtype), dtype)
            used = dtype
        if result is None:
            result = run(fn, inputs, in_dtype)
            used = in_dtype
    errors, scales = result
    worst = max(range(trials), key=lambda i: float("inf") if errors[i] != errors[i] else errors[i])
    return {
        "error": errors[worst],
        "scale": scales[worst],
        "worst_trial": worst,
        "dtype": used,
        "errors": errors,
        "scales": scales,
    }


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
            from :data:`TOLERANCE` for the dtype evaluated.
        dtype: ``"auto"`` (default) evaluates in float64 when the inputs are floating: inputs are cast
            and an ``nn.Module`` is deep-copied and ``.double()``-ed; if that raises a ``RuntimeError``
            (e.g. a closure over float32 weights) the original dtype is used. ``None`` keeps the
            inputs' dtype; a ``torch.dtype`` forces it.

    Returns:
        The maximal absolute error measured.

    Raises:
        AssertionError: with the measured error, the tolerance, the worst trial and the dtype.

    Example:
        >>> from geomrep.testing import random_rotation, rotation_action
        >>> x = torch.randn(5, 3)
        >>> err = assert_invariant(lambda p: p.norm(dim=-1), (x,), (rotation_action,),
        ...                        group_sampler=random_rotation)
    """
    r = equivariance_error(
        fn, inputs, in_actions, out_action, group_sampler=group_sampler, trials=trials, dtype=dtype
    )
    used = r["dtype"] or torch.get_default_dtype()
    tol = tolerance(used)
    atol = tol.atol if atol is None else atol
    rtol = tol.rtol if rtol is None else rtol
    bound = atol + rtol * r["scale"]
    if not (r["error"] <= bound):  # also catches NaN
        kind = "invariant" if out_action is None else "equivariant"
        raise AssertionError(
            f"function is not {kind}: max abs error {r['error']:.3e} > tolerance {bound:.3e} "
            f"(atol={atol:.1e}, rtol={rtol:.1e}, output scale {r['scale']:.3e}); worst trial "
            f"{r['worst_trial'] + 1} of {trials}, per-trial errors "
            f"{', '.join(f'{e:.2e}' for e in r['errors'])}; evaluated in {used}"
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
