"""A wheel built from the repository installs cleanly and imports from its install folder alone.

The wheel is built from a copy of exactly what the sdist/wheel build reads (``pyproject.toml``,
``README.md``, ``geomrep/``), without build isolation (offline), installed with
``pip install --no-deps --target``, and imported in a fresh interpreter that does not run ``site``
(so the editable install of the checkout cannot stand in for a module the wheel lacks).
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("docs_wheel")


def _source_modules() -> set[str]:
    out = set()
    for f in (ROOT / "geomrep").rglob("*.py"):
        parts = f.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "geomrep", src / "geomrep", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    cmd += ["-w", str(dist), "."]
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    (path,) = dist.glob("geomrep-*.whl")
    return path, proc.stdout + proc.stderr


def test_build_prints_no_packaging_warning(wheel):
    _, log = wheel
    bad = [ln for ln in log.splitlines() if "Warning" in ln or "deprecat" in ln.lower() or "!!" in ln]
    assert not bad, "\n".join(bad)


def test_wheel_holds_every_module_and_py_typed(wheel):
    path, _ = wheel
    names = zipfile.ZipFile(path).namelist()
    assert "geomrep/py.typed" in names
    in_wheel = set()
    for n in names:
        if n.startswith("geomrep/") and n.endswith(".py"):
            parts = n[: -len(".py")].split("/")
            in_wheel.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert in_wheel == _source_modules()
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(path).read(metadata).decode()
    assert "License-Expression: MIT" in text


def test_installed_wheel_imports_every_subpackage(wheel, tmp_path):
    path, _ = wheel
    target = tmp_path / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "geomrep" / "py.typed").is_file()
    script = f"""
import importlib, json, pkgutil, sys
sys.path[:0] = [{str(target)!r}, {sysconfig.get_paths()["purelib"]!r}, {sysconfig.get_paths()["platlib"]!r}]
import geomrep
names = ["geomrep"] + [m.name for m in pkgutil.walk_packages(geomrep.__path__, "geomrep.")]
files = {{n: importlib.import_module(n).__file__ for n in names}}
assert not any("editable" in repr(f).lower() for f in sys.meta_path), sys.meta_path
print(json.dumps(files))
"""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    files = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(files) == _source_modules()
    outside = {n: f for n, f in files.items() if not Path(f).resolve().is_relative_to(target.resolve())}
    assert not outside, outside
