"""``assert_compiles``: ``torch.compile`` gives the eager result (and optionally no graph breaks)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from .equivariance import _leaves
from .tolerance import tolerance

__all__ = ["assert_compiles"]


def assert_compiles(
    fn: Callable,
    *inputs,
    backend: str = "inductor",
    fullgraph: bool = False,
    atol: float | None = None,
    rtol: float | None = None,
    max_graph_breaks: int | None = None,
    dynamic: bool | None = None,
):
    """Assert ``torch.compile(fn)(*inputs)`` equals ``fn(*inputs)`` (and, for modules, the buffers after).

    A module is deep-copied for the eager and the compiled call, and after one call each its buffers
    (running statistics, counters) must agree too: a compiled graph can drop a buffer update while
    its output still matches. ``fn`` itself is left unchanged.

    Args:
        fn: function or ``nn.Module``.
        *inputs: positional inputs.
        backend: ``torch.compile`` backend. ``"inductor"`` generates code (slow to compile on small
            CPUs); ``"aot_eager"`` traces forward and backward graphs without code generation and
            catches most tracing problems quickly.
        fullgraph: require a single graph (errors on any graph break).
        atol, rtol: comparison tolerances (default: :data:`TOLERANCE` of the output dtype, loosened
            tenfold for float32 since compiled kernels may reorder reductions).
        max_graph_breaks: if given, count graph breaks with ``torch._dynamo.explain`` and require at
            most this many.
        dynamic: passed to ``torch.compile``.

    Returns:
        The compiled output.

    Raises:
        AssertionError: with the maximal deviation or the graph-break count and reasons.

    Example:
        >>> out = assert_compiles(torch.nn.Linear(3, 2), torch.randn(4, 3), backend="aot_eager")
    """
    torch._dynamo.reset()
    is_module = isinstance(fn, torch.nn.Module)
    if max_graph_breaks is not None:
        explanation = torch._dynamo.explain(copy.deepcopy(fn) if is_module else fn)(*inputs)
        if explanation.graph_break_count > max_graph_breaks:
            reasons = "; ".join(str(b.reason) for b in explanation.break_reasons[:5])
            raise AssertionError(
                f"torch.compile: {explanation.graph_break_count} graph breaks > {max_graph_breaks}: {reasons}"
            )
        torch._dynamo.reset()
    eager_fn = copy.deepcopy(fn) if is_module else fn
    compiled_fn = copy.deepcopy(fn) if is_module else fn
    expected = eager_fn(*inputs)
    compiled = torch.compile(compiled_fn, backend=backend, fullgraph=fullgraph, dynamic=dynamic)
    got = compiled(*inputs)
    a, b = _leaves(got), _leaves(expected)
    if len(a) != len(b):
        raise AssertionError(f"torch.compile changed the number of outputs: {len(a)} vs {len(b)}")
    names = [f"output {i}" for i in range(len(a))]
    if is_module:
        eager_buffers = dict(eager_fn.named_buffers())
        for name, buf in compiled_fn.named_buffers():
            a.append(buf)
            b.append(eager_buffers[name])
            names.append(f"buffer {name!r}")
    for name, s, t in zip(names, a, b):
        _compare(name, s, t, backend, atol, rtol)
    return got


def _compare(name: str, s: torch.Tensor, t: torch.Tensor, backend: str, atol, rtol) -> None:
    if s.shape != t.shape:
        raise AssertionError(f"torch.compile {name}: shape {tuple(s.shape)} vs eager {tuple(t.shape)}")
    if not (s.is_floating_point() or s.is_complex()):
        if not torch.equal(s, t):
            raise AssertionError(f"torch.compile {name} differs from eager")
        return
    tol = tolerance(t.dtype)
    a_tol = atol if atol is not None else tol.atol * (10 if t.dtype == torch.float32 else 1)
    r_tol = rtol if rtol is not None else tol.rtol * (10 if t.dtype == torch.float32 else 1)
    err = float((s.detach() - t.detach()).abs().max()) if s.numel() else 0.0
    scale = float(t.detach().abs().max()) if t.numel() else 0.0
    if not (err <= a_tol + r_tol * scale):
        raise AssertionError(
            f"torch.compile(backend={backend!r}) {name} differs from eager: max abs error "
            f"{err:.3e} > {a_tol + r_tol * scale:.3e}"
        )
