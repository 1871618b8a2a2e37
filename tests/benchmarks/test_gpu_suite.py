"""The CPU rehearsal of the GPU benchmark suite: ``benchmarks/gpu_suite.py --device cpu --quick``.

The suite is meant to run once per GPU session as a single prepared command; this test runs the same
code paths at tiny sizes on the CPU, so a change that breaks a section shows here, not on the GPU.
Both runs are subprocesses (as on the device; the suite patches e3nn's 3j cache for its set-up).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks" / "gpu_suite.py"
SECTIONS = ("sqrtm", "spd", "gaunt", "graphs", "grassmann", "permutation", "products", "so3")

pytestmark = [pytest.mark.xdist_group("gpu_suite"), pytest.mark.slow]


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


def _run(args: list[str], prelude: str = "") -> subprocess.CompletedProcess:
    """Run the suite as ``python3 benchmarks/gpu_suite.py ARGS`` (``prelude`` runs first, in-process)."""
    code = f"{prelude}\nimport runpy, sys\nsys.argv = {[str(SUITE), *args]!r}\n"
    code += f"runpy.run_path({str(SUITE)!r}, run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_suite")
    proc = _run(["--device", "cpu", "--quick", "--out", str(out)])
    return proc, out


def test_quick_run_succeeds_and_writes_every_section(quick_run):
    proc, out = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / "gpu_suite.json").read_text())
    assert list(data["sections"]) == list(SECTIONS)
    for name, info in data["sections"].items():
        assert info["status"] == "ok", (name, info)
        rows = [r for r in data["rows"] if r["section"] == name]
        assert rows, f"section {name} has no rows"
        bad = [r for r in rows if r["status"] != "ok"]
        assert not bad, bad
    md = (out / "gpu_suite.md").read_text()
    for name in SECTIONS:
        assert f"\n## {name}\n" in md
    assert "FAILED" not in md and "ERRORS" not in md
    assert data["environment"]["torch"]
    assert data["environment"]["date (UTC)"]
    assert sorted(data["plots"]) == ["gpu_gaunt.png", "gpu_sqrtm.png"]
    for png in data["plots"]:
        assert (out / png).stat().st_size > 1000


def test_quick_run_rows_cover_every_method_and_error(quick_run):
    proc, out = quick_run
    data = json.loads((out / "gpu_suite.json").read_text())
    rows = [r for r in data["rows"] if r["section"] == "sqrtm"]
    impls = {"eigh autograd", "auto", "eig", "sns", "ns", "mpa", "mtp"}
    cases = {(r["op"], r["n"], r["batch"]) for r in rows}
    assert {op for op, _, _ in cases} == {"sqrtm", "invsqrtm"}
    for case in cases:
        got = {r["impl"] for r in rows if (r["op"], r["n"], r["batch"]) == case}
        assert got == impls, (case, got)
    for r in rows:
        assert r["ms"] > 0
        errs = [v for k, v in r.items() if k.startswith("err κ=")]
        assert len(errs) == 3 and all(isinstance(e, float) and e >= 0 for e in errs), r
    gaunt = {r["impl"] for r in data["rows"] if r["section"] == "gaunt"}
    assert {"gaunt_product grid", "gaunt_product fft", "gaunt_product dense"} <= gaunt
    assert any(i.startswith("e3nn") for i in gaunt) and any(i.startswith("GauntTensorProduct") for i in gaunt)


def test_quick_run_recommendations_are_pasteable(quick_run):
    proc, out = quick_run
    data = json.loads((out / "gpu_suite.json").read_text())
    text = data["recommendations_text"]
    assert text in proc.stdout
    sq = re.findall(r"^CUDA_SQRTM_METHOD_BATCH(\d+) = (\{.*\})$", text, re.M)
    ga = re.findall(r"^CUDA_GAUNT_BACKEND_ROWS(\d+) = (\{.*\})$", text, re.M)
    assert [int(b) for b, _ in sq] == [4, 8] and [int(r) for r, _ in ga] == [8, 16]
    for _, d in sq:
        methods = ast.literal_eval(d)
        assert set(methods) == {4, 8} and set(methods.values()) <= {"eig", "sns", "ns", "mpa", "mtp"}
    for _, d in ga:
        backends = ast.literal_eval(d)
        assert set(backends) == {1, 2} and set(backends.values()) <= {"grid", "fft"}


def test_failed_section_is_reported_and_the_others_still_run(tmp_path):
    """A section that raises is marked FAILED (exit status 1) and the next section still runs; without
    matplotlib (as on the device image) the tables are written with a note instead of plots."""
    proc = _run(
        [
            "--device",
            "cpu",
            "--quick",
            "--out",
            str(tmp_path),
            "--sections",
            "so3",
            "products",
            "--inject-failure",
            "products",
        ],
        prelude="import sys; sys.modules['matplotlib'] = None",
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert list(data["sections"]) == ["products", "so3"]
    assert data["sections"]["products"]["status"].startswith("FAILED: InjectedFailure")
    assert data["sections"]["so3"]["status"] == "ok"
    assert [r["map"] for r in data["rows"] if r["section"] == "so3"] == [
        "rotation_6d_to_matrix",
        "special_procrustes",
        "geodesic_distance",
    ]
    md = (tmp_path / "gpu_suite.md").read_text()
    assert "| products | FAILED: InjectedFailure" in md
    assert data["plots"] == [] and "matplotlib is not importable" in data["plot_note"]
    assert "matplotlib is not importable" in md
