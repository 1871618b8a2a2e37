"""``assert_gradcheck``: float64 finite-difference gradient checks, also at degenerate points."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["assert_gradcheck"]


def _prepare(inputs) -> tuple:
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    out = []
    for x in inputs:
        if isinstance(x, torch.Tensor) and (x.is_floating_point() or x.is_complex()):
            dt = torch.complex128 if x.is_complex() else torch.float64
            out.append(x.detach().to(dt).requires_grad_(True))
        else:
            out.append(x)
    return tuple(out)


def assert_gradcheck(
    fn: Callable,
    inputs,
    *,
    points: Sequence = (),
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    check_finite: bool = True,
) -> None:
    """Check analytic gradients of ``fn`` against central finite differences in float64.

    Runs :func:`torch.autograd.gradcheck` at ``inputs`` and at every extra input tuple in ``points``
    (the degenerate inputs of your function: repeated eigenvalues, the identity rotation, an empty
    graph …). Floating inputs are cast to float64 and marked ``requires_grad``; other inputs pass
    through unchanged.

    For functions of a *symmetric* matrix, finite differences perturb single entries and leave the
    symmetric set; check ``lambda A: f((A + A.mT) / 2)`` instead, as usual.

    Args:
        fn: function of the inputs returning a tensor or a tuple of tensors.
        inputs: a tensor or tuple of positional arguments.
        points: further input tuples (or tensors) checked the same way.
        eps, atol, rtol: passed to ``gradcheck``.
        fast_mode: ``gradcheck``'s fast mode (random projections; use for large inputs).
        check_finite: also require the outputs and gradients to be finite (gradcheck alone accepts
            matching NaNs in some configurations).

    Raises:
        AssertionError: naming the failing point and gradcheck's message.

    Example:
        >>> assert_gradcheck(lambda x: (x ** 2).sum(), torch.randn(3))
    """
    all_points = [inputs, *points]
    for i, pt in enumerate(all_points):
        args = _prepare(pt)
        label = "inputs" if i == 0 else f"points[{i - 1}]"
        if check_finite:
            out = fn(*args)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for o in outs:
                if isinstance(o, torch.Tensor) and not torch.isfinite(o).all():
                    raise AssertionError(f"gradcheck at {label}: output is not finite")
            diffs = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
            tensors = [o for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
            if tensors and diffs:
                grads = torch.autograd.grad(
                    [o.sum() for o in tensors], diffs, allow_unused=True, retain_graph=False
                )
                for j, gr in enumerate(grads):
                    if gr is not None and not torch.isfinite(gr).all():
                        raise AssertionError(f"gradcheck at {label}: gradient of input {j} is not finite")
        try:
            torch.autograd.gradcheck(fn, args, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
        except Exception as exc:  # GradcheckError and friends
            raise AssertionError(f"gradcheck failed at {label}: {exc}") from exc
