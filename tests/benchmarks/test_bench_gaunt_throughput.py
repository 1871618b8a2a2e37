"""The Gaunt throughput benchmark runs end to end (--quick) and reports consistent numbers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_gaunt_throughput as bench  # noqa: E402

from geomrep.equivariant.gaunt.transforms import sample_grid  # noqa: E402


def test_quick_run_reports_every_backend_with_counted_work(tmp_path):
    out = bench.main(["--quick", "--threads", "1", "--out", str(tmp_path)])
    assert out["peak"] > 0
    rows = out["backends"]
    assert {r["backend"] for r in rows} == {"grid", "grid unblocked", "fft", "dense"}
    for r in rows:
        assert r["fwd+bwd ms"] > 0 and r["GFLOP"] > 0
        assert abs(r["GFLOP/s"] - r["GFLOP"] / r["fwd+bwd ms"] * 1e3) < 1e-6 * r["GFLOP/s"]
    # profiler count of the grid GEMMs = the separable transforms' work written out: per row, each of
    # the 3 forward transforms and their 3 transposes costs 2(2L+1)Nβ(L+1) + 2Nα(2L+1)Nβ
    for r in rows:
        if r["backend"] == "grid unblocked":
            L = r["L"]
            grid = sample_grid("grid", 2 * L, L)
            per_transform = (
                2 * (2 * L + 1) * grid.n_beta * (L + 1) + 2 * grid.n_alpha * (2 * L + 1) * grid.n_beta
            )
            assert r["GFLOP"] * 1e9 == 6 * per_transform * r["rows"]
    assert {r["impl"] for r in out["mixed"]} >= {"GauntTensorProduct"}
    assert [r["ν"] for r in out["many_body"]] == [2, 3]
