"""reproductions/gaunt_qm9.py: the CG many-body twin, the two arms' models, and a ``--quick`` run."""

import contextlib
import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from e3nn import o3

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geomrep.equivariant.gaunt import GauntSelfInteraction  # noqa: E402
from geomrep.equivariant.gaunt.interatomic import rotation_invariance_error  # noqa: E402
from reproductions import gaunt_qm9  # noqa: E402

IRREPS = "3x0e+3x1o+3x2e"


@contextlib.contextmanager
def _float64_default():
    """e3nn bakes its Clebsch–Gordan constants (and Wigner D generators) at the default dtype: build the
    float64 references under a float64 default (restored afterwards, never leaked)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _rotation(seed=0):
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def test_cg_self_interaction_is_equivariant_and_homogeneous():
    torch.manual_seed(0)
    with _float64_default():
        si = gaunt_qm9.CGSelfInteraction(IRREPS, correlation=3)
    irreps = o3.Irreps(IRREPS)
    x = torch.randn(5, irreps.dim, dtype=torch.float64)
    rot = _rotation()
    with _float64_default():  # e3nn's Wigner D is built at the default dtype too
        d = irreps.D_from_matrix(rot)  # includes the parity of a reflection when det = -1
    torch.testing.assert_close(si(x @ d.T), si(x) @ d.T, atol=1e-10, rtol=1e-10)
    # only the cubic term: y(2x) = 8 y(x); only the linear term: y = w x / sqrt(3)
    with torch.no_grad():
        si.weight.zero_()
        si.weight[2] = 1.0
    torch.testing.assert_close(si(2 * x), 8 * si(x), atol=1e-10, rtol=1e-10)
    assert si(x).abs().max() > 1e-3  # the cubic power is not identically zero
    with torch.no_grad():
        si.weight.zero_()
        si.weight[0] = 1.0
    torch.testing.assert_close(si(x), x / 3**0.5)


def test_cg_powers_span_the_gaunt_powers():
    """Each Gaunt power f^k (k ≤ 3) is a fixed combination of the CG paths: the CG module, with its path
    weights fitted by least squares, reproduces the Gaunt square exactly (residual ~ 0)."""
    torch.manual_seed(0)
    irreps = o3.Irreps("1x0e+1x1o+1x2e")
    gaunt = GauntSelfInteraction(irreps, correlation=2).double()
    with _float64_default():
        cg = gaunt_qm9.CGSelfInteraction(irreps, correlation=2)
    with torch.no_grad():
        gaunt.weight.zero_()
        gaunt.weight[1] = 1.0  # f² only
    x = torch.randn(200, irreps.dim, dtype=torch.float64)
    target = gaunt(x).detach()
    tp = cg.products[0]
    # per-path outputs with unit weights: the columns of the least-squares problem
    cols = []
    for i in range(tp.weight_numel):
        w = torch.zeros(tp.weight_numel, dtype=torch.float64)
        w[i] = 1.0
        cols.append(tp(x, x, w).reshape(-1))
    a = torch.stack(cols, 1)
    sol = torch.linalg.lstsq(a, target.reshape(-1, 1)).solution
    assert (a @ sol - target.reshape(-1, 1)).abs().max() < 1e-8
    assert target.abs().max() > 1e-2


def _molecules(count=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    mols = []
    for i in range(count):
        n = 3 + i % 4
        z = torch.tensor([6, 1, 8, 7, 9, 1, 6][:n])
        mols.append(
            SimpleNamespace(z=z, pos=1.4 * torch.randn(n, 3, generator=g), y=torch.randn(1, 2, generator=g))
        )
    return mols


@pytest.mark.parametrize("arm", gaunt_qm9.ARMS)
def test_models_are_invariant_and_differ_only_in_the_product(arm):
    torch.manual_seed(0)
    with _float64_default():
        model = gaunt_qm9.build_model(arm, channels=3, lmax=2, layers=2, correlation=3, hidden=8)
    si = model.layers[0].linear[0]
    assert isinstance(si, GauntSelfInteraction if arm == "gaunt" else gaunt_qm9.CGSelfInteraction)
    assert rotation_invariance_error(model, _molecules(), dtype=torch.float64) < 1e-9
    b = gaunt_qm9.make_batch(_molecules())
    out = model(b["z"], b["pos"].double(), b["batch"], b["n"])
    assert out.shape == (6, 2) and torch.isfinite(out).all()
    counts = gaunt_qm9.count_parameters(model)
    other = gaunt_qm9.build_model(
        "cg" if arm == "gaunt" else "gaunt", channels=3, lmax=2, layers=2, correlation=3, hidden=8
    )
    shared = counts["params"] - counts["params_radial"] - counts["params_many_body"]
    c2 = gaunt_qm9.count_parameters(other)
    assert shared == c2["params"] - c2["params_radial"] - c2["params_many_body"]  # everything else identical


def test_standardiser_round_trip():
    mols = _molecules(12)
    std = gaunt_qm9.Standardiser(mols)
    b = gaunt_qm9.make_batch(mols)
    y = b["y"].to(torch.float64)
    torch.testing.assert_close(std.inverse(std.forward(y, b["counts"]), b["counts"]), y)


@pytest.mark.skipif(
    importlib.util.find_spec("qm9pack") is None, reason="QM9 data absent (the qm9pack wheel is not installed)"
)
def test_quick_run_records_both_arms_and_resumes(tmp_path):
    out = tmp_path / "q.jsonl"
    threads = torch.get_num_threads()
    try:
        assert gaunt_qm9.main(["--quick", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)  # main() pins one thread; do not leak it into other tests
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["arm"] for r in recs) == ["cg", "gaunt"]
    for r in recs:
        assert r["flags"]["n_train"] == 200 and r["steps"] == 10
        for k in (
            "gap_mae_mev",
            "u0_mae_mev",
            "step_ms_median",
            "step_cpu_ms_median",
            "saved_for_backward_mb",
            "peak_rss_delta_mb",
        ):
            assert r[k] > 0 and r[k] == r[k], k
        assert r["gap_mae_mev"] < 5000 and r["u0_mae_mev"] < 20000  # eV-scale errors, not Hartree-scale
    assert out.with_suffix(".md").exists() and out.with_suffix(".png").exists()
    md = out.with_suffix(".md").read_text()
    assert "| gaunt | 1 |" in md and "| cg | 1 |" in md
    try:
        gaunt_qm9.main(["--quick", "--out", str(out)])  # resume: nothing left to run
    finally:
        torch.set_num_threads(threads)
    assert len(out.read_text().splitlines()) == 2
