"""Cast a callable's floating state to a dtype without touching the original (for float64 test runs).

:func:`promote` returns a twin of ``fn`` that computes in ``dtype``: an ``nn.Module`` is deep-copied
and converted; a bound method of a module becomes the same method of a converted copy; a
``functools.partial`` and a Python function have the modules and floating tensors they hold
(closure cells, default arguments, partial arguments, module-level names the function body reads,
also inside tuples/lists/dicts and nested closures) replaced by converted copies; the converted
function reads a copy of its globals dict, the original is untouched. Objects reached any other way
(attributes of other objects, globals of the functions it calls) are not converted.

It also reports which *constants* were rounded before the conversion: floating buffers and captured
tensors whose dtype was less precise than ``dtype``. Parameters are not counted: an equivariant layer
is equivariant for every value of its weights, so rounded weights do not break equivariance, while a
rounded constant (a Clebsch–Gordan table stored in float32) does, at the level of that dtype.
"""

from __future__ import annotations

import copy
import functools
import types

import torch

__all__ = ["promote", "Promotion"]

_MAX_DEPTH = 4


class Promotion:
    """Result of :func:`promote`: ``fn`` (the converted twin) and ``rounded_constants`` (dtypes seen)."""

    def __init__(self, fn, rounded_constants: set[torch.dtype]) -> None:
        self.fn = fn
        self.rounded_constants = rounded_constants


def _less_precise(dtype: torch.dtype, target: torch.dtype) -> bool:
    return dtype.is_floating_point and torch.finfo(dtype).eps > torch.finfo(target).eps


def promote(fn, dtype: torch.dtype) -> Promotion:
    """Twin of ``fn`` whose modules and floating tensors are converted to ``dtype`` (see module doc).

    Raises whatever the conversion raises (e.g. a module that cannot be deep-copied); the caller
    decides whether to fall back.
    """
    rounded: set[torch.dtype] = set()
    memo: dict[int, object] = {}

    def convert(obj, depth: int):
        key = id(obj)
        if key in memo:
            return memo[key]
        if isinstance(obj, torch.nn.Module):
            for b in obj.buffers():
                if b.is_floating_point() and _less_precise(b.dtype, dtype):
                    rounded.add(b.dtype)
            out = copy.deepcopy(obj).to(dtype)
        elif isinstance(obj, torch.Tensor):
            if obj.is_floating_point():
                if _less_precise(obj.dtype, dtype) and not isinstance(obj, torch.nn.Parameter):
                    rounded.add(obj.dtype)
                out = obj.detach().to(dtype)
            else:
                out = obj
        elif depth >= _MAX_DEPTH:
            out = obj
        elif isinstance(obj, types.MethodType) and isinstance(obj.__self__, torch.nn.Module):
            out = types.MethodType(obj.__func__, convert(obj.__self__, depth + 1))
        elif isinstance(obj, functools.partial):
            out = functools.partial(
                convert(obj.func, depth + 1),
                *(convert(a, depth + 1) for a in obj.args),
                **{k: convert(v, depth + 1) for k, v in obj.keywords.items()},
            )
        elif isinstance(obj, types.FunctionType):
            memo[key] = obj  # a recursive closure refers to itself: keep the original there
            out = _convert_function(obj, lambda o: convert(o, depth + 1))
        elif type(obj) in (tuple, list):  # exact types only: subclasses (e3nn Irreps …) stay as they are
            items = [convert(o, depth + 1) for o in obj]
            changed = any(n is not o for n, o in zip(items, obj))
            out = type(obj)(items) if changed else obj
        elif type(obj) is dict:
            items = {k: convert(v, depth + 1) for k, v in obj.items()}
            out = items if any(items[k] is not v for k, v in obj.items()) else obj
        else:
            out = obj
        memo[key] = out
        return out

    return Promotion(convert(fn, 0), rounded)


def _convert_function(fn: types.FunctionType, convert) -> types.FunctionType:
    namespace = fn.__globals__
    for name in fn.__code__.co_names:  # module-level modules/tensors the function body reads
        value = fn.__globals__.get(name)
        if isinstance(value, (torch.nn.Module, torch.Tensor)):
            new = convert(value)
            if new is not value:
                namespace = dict(namespace) if namespace is fn.__globals__ else namespace
                namespace[name] = new
    if not fn.__closure__ and not fn.__defaults__ and not fn.__kwdefaults__ and namespace is fn.__globals__:
        return fn
    cells = None
    if fn.__closure__:
        cells = []
        for cell in fn.__closure__:
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell (variable not bound yet)
                cells.append(cell)
                continue
            new = convert(value)
            cells.append(cell if new is value else types.CellType(new))
        cells = tuple(cells)
    defaults = tuple(convert(d) for d in fn.__defaults__) if fn.__defaults__ else fn.__defaults__
    out = types.FunctionType(fn.__code__, namespace, fn.__name__, defaults, cells)
    out.__kwdefaults__ = {k: convert(v) for k, v in fn.__kwdefaults__.items()} if fn.__kwdefaults__ else None
    out.__dict__.update(fn.__dict__)
    out.__qualname__ = fn.__qualname__
    return out
