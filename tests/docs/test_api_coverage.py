"""Every public name (``__all__`` of every package) has a docstring and an entry on a page of the site.

"Has a page" is read from the page sources (``docs/api/*.rst``, ``docs/**/*.md``): an ``auto*`` directive
naming it (under the ``currentmodule`` in force), or an ``automodule`` with ``:members:`` of its module. The
site build test (``test_site.py``) makes sure each of those directives renders without a warning.
"""

import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"

#: every public package; the umbrella ones (geomrep, manifolds, equivariant) re-export from the others
PACKAGES = [
    "geomrep",
    "geomrep.linalg",
    "geomrep.manifolds",
    "geomrep.manifolds.spd",
    "geomrep.manifolds.grassmann",
    "geomrep.manifolds.products",
    "geomrep.manifolds.so3",
    "geomrep.equivariant",
    "geomrep.equivariant.gaunt",
    "geomrep.equivariant.permutation",
    "geomrep.graphs",
    "geomrep.testing",
    "geomrep.datasets",
    "geomrep.cli",
]

_KINDS = "currentmodule|module|automodule|autoclass|autofunction|autodata"
_DIRECTIVE = re.compile(rf"^\s*\.\. ({_KINDS})::\s*(\S+)")


def documented_names(sources: list[str]) -> set[str]:
    """Fully qualified names that the given page sources document (see the module docstring)."""
    names: set[str] = set()
    for text in sources:
        current = None
        lines = text.splitlines()
        for i, line in enumerate(lines):
            m = _DIRECTIVE.match(line)
            if not m:
                continue
            kind, target = m.groups()
            if kind in ("currentmodule", "module"):
                current = target
            elif kind == "automodule":
                names.add(target)
                current = target
                options = []
                for nxt in lines[i + 1 :]:
                    if not nxt.strip().startswith(":"):
                        break
                    options.append(nxt.strip())
                if ":members:" in options:
                    mod = importlib.import_module(target)
                    names.update(f"{target}.{n}" for n in getattr(mod, "__all__", ()))
            else:
                full = target if target.startswith("geomrep") or current is None else f"{current}.{target}"
                names.add(full)
    return names


def _page_sources() -> list[str]:
    files = sorted(DOCS.glob("api/*.rst")) + sorted(DOCS.glob("*.md")) + sorted(DOCS.glob("api/*.md"))
    return [f.read_text() for f in files]


def _constant_comment(module: types.ModuleType, name: str) -> str | None:
    """The ``#:`` comment above ``name = ...`` in the source of ``module`` or a submodule defining it."""
    pattern = re.compile(rf"((?:^[ \t]*#:.*\n)+)^{re.escape(name)}\b\s*(?::[^=\n]+)?=", re.M)
    candidates = [module] + [
        m
        for key, m in sorted(importlib.sys.modules.items())
        if key.startswith(module.__name__ + ".") and m is not None
    ]
    for mod in candidates:
        try:
            source = inspect.getsource(mod)
        except (OSError, TypeError):
            continue
        found = pattern.search(source)
        if found:
            return " ".join(ln.strip()[2:].strip() for ln in found.group(1).splitlines())
    return None


def missing_docstrings(module: types.ModuleType) -> list[str]:
    """Names of ``module.__all__`` without their own docstring (``#:`` comment for constants)."""
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            doc = obj.__doc__
        elif inspect.isclass(obj):
            doc = obj.__dict__.get("__doc__")  # its own, not one inherited from torch.nn.Module
        elif callable(obj):
            doc = inspect.getdoc(obj)
        else:
            doc = _constant_comment(module, name)
        if not (doc and doc.strip()):
            missing.append(name)
    return missing


def missing_pages(module: types.ModuleType, documented: set[str]) -> list[str]:
    """Names of ``module.__all__`` that no page documents, under this name or as the same object elsewhere."""
    by_object = {}
    for full in documented:
        modname, _, attr = full.rpartition(".")
        try:
            by_object.setdefault(id(getattr(importlib.import_module(modname), attr)), full)
        except (ImportError, AttributeError, ValueError):
            try:
                by_object.setdefault(id(importlib.import_module(full)), full)
            except ImportError:
                pass
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        full = f"{module.__name__}.{name}"
        if full in documented:
            continue
        if isinstance(obj, types.ModuleType) and obj.__name__ in documented:
            continue  # a subpackage with its own page
        if not isinstance(obj, (str, int, float, tuple, dict)) and id(obj) in by_object:
            continue  # a re-export of an object documented in its subpackage
        missing.append(name)
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package):
    module = importlib.import_module(package)
    assert module.__doc__ and module.__doc__.strip(), f"{package} has no module docstring"
    assert not missing_docstrings(module), f"{package}: no docstring for {missing_docstrings(module)}"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_page(package):
    module = importlib.import_module(package)
    documented = documented_names(_page_sources())
    assert package in documented, f"no page documents the package {package}"
    missing = missing_pages(module, documented)
    assert not missing, f"{package}: not on any page: {missing}"


def test_the_checks_catch_an_undocumented_name():
    """A planted package with an undocumented function, class and constant, and a page missing one name."""
    fake = types.ModuleType("geomrep._fake_for_docs_test")

    def documented():
        """Has a docstring."""

    def bare():
        pass

    class Bare:
        pass

    fake.documented, fake.bare, fake.Bare, fake.LIMITS = documented, bare, Bare, (1, 2)
    fake.__all__ = ["documented", "bare", "Bare", "LIMITS"]
    assert missing_docstrings(fake) == ["bare", "Bare", "LIMITS"]

    page = ".. currentmodule:: geomrep.linalg\n\n.. autofunction:: sqrtm\n"
    linalg = importlib.import_module("geomrep.linalg")
    missing = missing_pages(linalg, documented_names([page]))
    assert "sqrtm" not in missing and "invsqrtm" in missing and "METHODS" in missing


def test_constant_comments_are_read_from_the_defining_module():
    linalg = importlib.import_module("geomrep.linalg")
    assert "sqrtm" in _constant_comment(linalg, "METHODS")
    assert _constant_comment(linalg, "NO_SUCH_CONSTANT") is None
