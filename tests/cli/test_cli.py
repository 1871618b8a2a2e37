import subprocess
import sys

import pytest
import torch

from geomrep.cli import main, run_benchmarks, run_checks, run_demos
from geomrep.cli.registry import Registry, register_benchmark, register_check, register_demo
from geomrep.cli.table import format_table


def _registry():
    reg = Registry()

    @register_check("good", tol={torch.float32: 1e-5, torch.float64: 1e-12}, registry=reg)
    def _good(dtype, gen):
        x = torch.randn(4, dtype=dtype, generator=gen)
        return float((x - x).abs().max())

    @register_check("bad", tol={torch.float32: 1e-5, torch.float64: 1e-12}, registry=reg)
    def _bad(dtype, gen):
        return 1.0

    @register_check("nan", tol={torch.float32: 1e-5, torch.float64: 1e-12}, registry=reg)
    def _nan(dtype, gen):
        return float("nan")

    @register_demo("d", registry=reg)
    def _demo(outdir, quick):
        (outdir / "plot.txt").write_text("x")
        return [{"metric": "acc", "value": 1.0}]

    @register_benchmark("b", registry=reg)
    def _bench(quick):
        return [{"ratio": 2.0}]

    return reg


def test_checks_pass_and_fail():
    rows, ok = run_checks(registry=_registry())
    status = {r["check"]: r["status"] for r in rows}
    assert status == {"good": "PASS", "bad": "FAIL", "nan": "FAIL"}
    assert not ok
    rows, ok = run_checks(["good"], registry=_registry())
    assert ok and len(rows) == 1


def test_demo_and_bench(tmp_path):
    rows, ok = run_demos(tmp_path / "out", registry=_registry())
    assert ok and rows[0]["value"] == 1.0 and (tmp_path / "out" / "plot.txt").exists()
    rows, ok = run_benchmarks(registry=_registry())
    assert ok and rows[0]["ratio"] == 2.0


def test_registry_rejects_duplicates_and_missing_tolerances():
    reg = _registry()
    with pytest.raises(ValueError, match="already registered"):
        register_demo("d", registry=reg)(lambda o, q: [])
    with pytest.raises(ValueError, match="tol"):
        register_check("x", tol={torch.float32: 1.0}, registry=reg)(lambda d, g: 0.0)


def test_format_table():
    text = format_table([{"a": 1.23456789, "b": "x"}, {"a": 1e-9}])
    assert "1.235" in text and "1.000e-09" in text
    assert format_table([]) == "(no rows)"


def test_main_list_and_help(capsys):
    assert main(["list"]) == 0
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


def test_python_m_geomrep_check_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "geomrep", "check"], capture_output=True, text=True, timeout=600
    )
    assert "passed" in proc.stdout, proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
