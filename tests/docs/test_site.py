"""The documentation site builds from scratch with warnings as errors, offline, with every page in place.

A broken docstring (bad reST), a dangling reference to a geomrep object, a name whose import fails, a
tutorial saved without its outputs: each is a Sphinx warning, hence a failed build here.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

from geomrep_docs import unexecuted_cells  # noqa: E402

pytestmark = pytest.mark.xdist_group("docs_site")  # one build, shared by the tests of this file

API_PAGES = [
    "linalg",
    "manifolds.spd",
    "manifolds.grassmann",
    "manifolds.products",
    "manifolds.so3",
    "equivariant.gaunt",
    "equivariant.permutation",
    "graphs",
    "testing",
    "datasets",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-E", "-q"]
    cmd += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr[-10000:]
    return out / "html"


def test_pages_exist(site):
    for page in ["index", "api/index", "tutorials", "numerics", "benchmarks", "benchmarks/RESULTS", "cli"]:
        assert (site / f"{page}.html").is_file(), page
    for page in API_PAGES:
        html = (site / "api" / f"{page}.html").read_text()
        assert f'id="module-geomrep.{page}"' in html  # the package's own entry


def test_api_pages_render_math_and_entries(site):
    html = (site / "api" / "linalg.html").read_text()
    assert 'id="geomrep.linalg.sqrtm"' in html and 'id="geomrep.linalg.METHODS"' in html
    assert r"\(" in html or r"\[" in html  # :math: rendered for MathJax
    assert "Methods accepted by" in (site / "api" / "linalg.html").read_text()  # a constant's #: comment


def test_tutorials_rendered_with_stored_plots(site):
    for nb in sorted((ROOT / "tutorials").glob("*.ipynb")):
        html = (site / "tutorials" / f"{nb.stem}.html").read_text()
        cells = json.loads(nb.read_text())["cells"]
        has_png = any("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
        if has_png:
            assert "<img" in html, f"{nb.name}: stored plots missing from the page"
        assert "cell_output" in html, f"{nb.name}: no outputs rendered"


def test_offline_assets(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in site.rglob("*.html"):
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?:[^"]+)"', page.read_text())
        assert not remote, f"{page.relative_to(site)} loads {remote}"


def test_cli_page_shows_the_help(site):
    html = (site / "cli.html").read_text()
    for sub in ("demo", "bench", "check", "list"):
        assert f"python -m geomrep {sub}" in html
    from geomrep.cli.registry import REGISTRY

    for table in (REGISTRY.demos, REGISTRY.benchmarks, REGISTRY.checks):
        assert table and all(name in html for name in table)


def test_the_notebook_check_flags_a_notebook_saved_without_outputs(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "source": ["x = 1\n"], "outputs": [], "execution_count": 1}
    nb = {"cells": [cell, {**cell, "execution_count": None}, {**cell, "source": []}], "metadata": {}}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert unexecuted_cells(path) == [1]
    for real in sorted((ROOT / "tutorials").glob("*.ipynb")):
        assert unexecuted_cells(real) == [], f"{real.name} is stored with unexecuted cells"


def test_landing_page_example_runs():
    text = (DOCS / "index.md").read_text()
    match = re.search(r"## Example\n\n```python\n(.*?)```", text, re.S)
    assert match is not None, "docs/index.md has no ## Example python block"
    assert len(match.group(1).splitlines()) <= 25
    exec(compile(match.group(1), "docs/index.md", "exec"), {})
