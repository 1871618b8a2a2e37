"""Local Sphinx extension of the geomrep docs.

- copies the tutorial notebooks (``tutorials/*.ipynb``), the benchmark results (``benchmarks/RESULTS.md``
  with its ``results/`` plots) and the reproductions (``reproductions/RESULTS.md`` with its tables and
  plots) into the source tree before reading, and warns
  (an error under ``-W``) on a notebook whose code cells were not executed and stored;
- shows private base classes through their public bases (``:show-inheritance:``);
- documents module-level constants from their ``#:`` comment in the defining submodule (autodoc only
  looks in the package ``__init__`` where they are re-exported);
- ``.. geomrep-cli::`` renders ``python -m geomrep --help``, the help of every subcommand and the
  registered demos, benchmarks and checks (what ``python -m geomrep list`` prints).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

logger = logging.getLogger(__name__)


def _copy_if_changed(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


def unexecuted_cells(path: Path) -> list[int]:
    """Indices (into ``cells``) of the non-empty code cells of a notebook stored without being executed.

    The site renders the stored outputs, so a notebook must be saved after running it top to bottom: every
    non-empty code cell carries an ``execution_count``.
    """
    cells = json.loads(path.read_text())["cells"]
    return [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "".join(c["source"]).strip() and c.get("execution_count") is None
    ]


def _stage_sources(app) -> None:
    docs = Path(app.srcdir)
    root = docs.parent
    tut_dst = docs / "tutorials"
    notebooks = sorted((root / "tutorials").glob("*.ipynb"))
    for nb in notebooks:
        _copy_if_changed(nb, tut_dst / nb.name)
        missing = unexecuted_cells(nb)
        if missing:
            msg = f"tutorials/{nb.name}: code cells {missing} have no stored outputs (run it, then save)"
            logger.warning(msg)
    for stale in tut_dst.glob("*.ipynb"):
        if not (root / "tutorials" / stale.name).exists():
            stale.unlink()
    bench = root / "benchmarks"
    _copy_if_changed(bench / "RESULTS.md", docs / "benchmarks" / "RESULTS.md")
    for f in (bench / "results").glob("*"):
        if f.is_file():
            _copy_if_changed(f, docs / "benchmarks" / "results" / f.name)
    repro = root / "reproductions"
    _copy_if_changed(repro / "RESULTS.md", docs / "reproductions" / "RESULTS.md")
    for f in (repro / "results").glob("*"):
        if f.is_file() and f.suffix in (".md", ".png"):
            _copy_if_changed(f, docs / "reproductions" / "results" / f.name)


def _constant_comment(modname: str, name: str) -> list[str] | None:
    """The ``#:`` comment of constant ``name`` in ``modname`` or one of its loaded submodules."""
    value = getattr(importlib.import_module(modname), name)
    for sub in sorted(m for m in sys.modules if m == modname or m.startswith(modname + ".")):
        if getattr(sys.modules[sub], name, None) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(sub).find_attr_docs()
        except Exception:  # a compiled or source-less module
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return None


def _process_docstring(app, what, name, obj, options, lines) -> None:
    if what != "data" or not name.startswith("geomrep."):
        return
    modname, _, attr = name.rpartition(".")
    comment = _constant_comment(modname, attr)
    lines[:] = comment if comment else []


def _resolve(path: str):
    """The Python object named by a dotted ``geomrep`` path, or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _documented_aliases(env) -> dict[int, str]:
    """id(object) → the name under which it is documented, for every documented geomrep object."""
    cache = getattr(env, "_geomrep_aliases", None)
    if cache is None:
        cache = {}
        for name, entry in env.get_domain("py").objects.items():
            if name.startswith("geomrep.") and not entry.aliased:
                obj = _resolve(name)
                if obj is not None and not isinstance(obj, (str, int, float, tuple, dict)):
                    cache.setdefault(id(obj), name)
        env._geomrep_aliases = cache
    return cache


def _missing_reference(app, env, node, contnode):
    """Resolve ``geomrep.pkg.submodule.name`` to where ``name`` is documented (``geomrep.pkg.name``)."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    candidates = [target]
    modname = node.get("py:module")
    if modname and not target.startswith("geomrep."):
        candidates.insert(0, f"{modname}.{target}")
    for cand in candidates:
        if not cand.startswith("geomrep."):
            continue
        obj = _resolve(cand)
        name = _documented_aliases(env).get(id(obj)) if obj is not None else None
        if name is not None:
            entry = env.get_domain("py").objects[name]
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)
    return None


def _is_public(cls: type) -> bool:
    """Whether a geomrep class is exported by ``__all__`` of a package above its defining module."""
    parts = cls.__module__.split(".")
    for cut in range(len(parts), 0, -1):
        pkg = sys.modules.get(".".join(parts[:cut]))
        if pkg is None or not hasattr(pkg, "__path__"):  # the defining file's own __all__ does not count
            continue
        if cls.__name__ in getattr(pkg, "__all__", ()) and getattr(pkg, cls.__name__) is cls:
            return True
    return False


def _process_bases(app, name, obj, options, bases) -> None:
    """Show a private geomrep base class (no page to link to) as the public bases it derives from."""
    out = []
    for base in bases:
        if getattr(base, "__module__", "").startswith("geomrep") and not _is_public(base):
            out.extend(b for b in base.__bases__ if b not in out)
        elif base not in out:
            out.append(base)
    if out != bases:
        bases[:] = out
        _process_bases(app, name, obj, options, bases)


class CLIHelp(SphinxDirective):
    """Literal blocks with the argparse help of ``python -m geomrep`` and each subcommand."""

    def run(self):
        import argparse

        from geomrep.cli import _parser

        parser = _parser()
        out = [nodes.literal_block(text=parser.format_help().replace("\t", "  "), language="text")]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    section = nodes.section(ids=[f"cli-{name}"])
                    section += nodes.title(text=f"python -m geomrep {name}")
                    section += nodes.literal_block(text=sub.format_help(), language="text")
                    out.append(section)
        out.append(self._registered())
        return out

    @staticmethod
    def _registered():
        """A section per kind with a table of the registered names and descriptions (``list``)."""
        from geomrep.cli.registry import REGISTRY

        top = nodes.section(ids=["cli-registered"])
        top += nodes.title(text="Registered demos, benchmarks and checks")
        kinds = (("demo", REGISTRY.demos), ("bench", REGISTRY.benchmarks), ("check", REGISTRY.checks))
        for kind, table in kinds:
            section = nodes.section(ids=[f"cli-registered-{kind}"])
            section += nodes.title(text=f"{kind} ({len(table)})")
            group = nodes.tgroup(cols=2)
            group += nodes.colspec(colwidth=1)
            group += nodes.colspec(colwidth=3)
            body = nodes.tbody()
            for name, entry in table.items():
                row = nodes.row()
                row += nodes.entry("", nodes.paragraph("", "", nodes.literal(text=name)))
                row += nodes.entry("", nodes.paragraph(text=entry.description))
                body += row
            head = nodes.thead()
            hrow = nodes.row()
            hrow += nodes.entry("", nodes.paragraph(text="name"))
            hrow += nodes.entry("", nodes.paragraph(text="description"))
            head += hrow
            group += head
            group += body
            section += nodes.table("", group)
            top += section
        return top


def setup(app):
    app.connect("builder-inited", _stage_sources)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-process-bases", _process_bases)
    app.add_directive("geomrep-cli", CLIHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
