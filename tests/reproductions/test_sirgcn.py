"""Smoke test of reproductions/sirgcn.py: ``--quick`` runs both parts, records resume, the report rebuilds."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reproductions import sirgcn  # noqa: E402
from tests._data import needs_data  # noqa: E402

DATA = Path(os.environ.get("GEOMREP_DATA", ROOT.parent / "shared" / "data"))


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", GEOMREP_DATA=str(DATA))
    cmd = [
        sys.executable,
        str(ROOT / "reproductions" / "sirgcn.py"),
        "--quick",
        "--results-dir",
        str(tmp_path),
    ]
    return subprocess.run(cmd + list(args), env=env, capture_output=True, text=True, timeout=900, check=True)


def test_zinc_model_has_the_papers_parameter_budget():
    # 75 V + 4 (17,025 + 5,700 + 150) + 5,776 parameters; the paper's model (V = 28) has 99,676.
    for v in (23, 28):
        model = sirgcn.ZincSIR(v)
        assert sirgcn.count_params(model) == 75 * v + 4 * (17_025 + 5_700 + 150) + 5_776
    assert abs(sirgcn.count_params(sirgcn.ZincSIR(28)) - 99_676) / 99_676 < 0.01
    # edge features add one bias-free (bond types x 75) map per layer
    assert sirgcn.count_params(sirgcn.ZincSIR(28, num_bond_types=5)) == 99_376 + 4 * 5 * 75


def test_graphset_batch_matches_per_graph_offsets():
    # two graphs: a path 0-1-2 and an edge 0-1; gathering them in reverse order must relabel the nodes
    gs = sirgcn.GraphSet(
        atom=torch.tensor([0, 1, 2, 3, 4]),
        edge_index=torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]]),
        bond=torch.tensor([0, 0, 1, 1, 2, 2]),
        node_ptr=torch.tensor([0, 3, 5]),
        edge_ptr=torch.tensor([0, 4, 6]),
        y=torch.tensor([1.0, 2.0]),
    )
    atom, ei, bond, graph, y = gs.batch(torch.tensor([1, 0]))
    assert atom.tolist() == [3, 4, 0, 1, 2]
    assert ei.tolist() == [[0, 1, 2, 3, 3, 4], [1, 0, 3, 2, 4, 3]]
    assert bond.tolist() == [2, 2, 0, 0, 1, 1]
    assert graph.tolist() == [0, 0, 1, 1, 1]
    assert y.tolist() == [2.0, 1.0]


def test_sir_and_pna_solve_a_small_lookup_that_gcn_and_linear_pna_cannot():
    # n = 4: SIR-GCN reaches 100 % within a few hundred steps; GCN's symmetric sum cannot beat chance by much.
    args = sirgcn.parse_args(["--lookup-samples", "400", "--lookup-epochs", "60", "--lookup-batch", "32",
                              "--plateau-on", "train-running", "--lookup-stop-at-perfect"])  # fmt: skip
    kinds = ("SIR", "GCN", "PNA", "PNA-linear")
    acc = {kind: sirgcn.train_lookup(kind, 4, 0, args, sirgcn.Clock())["test_acc"] for kind in kinds}
    assert acc["SIR"] > 0.95, acc
    assert acc["GCN"] < 0.6, acc
    # PNA solves it only with the nonlinearity after aggregation that DGL's PNAConv has and PyG's lacks
    assert acc["PNA"] > 0.95, acc
    assert acc["PNA-linear"] < 0.6, acc


@needs_data("zinc12k")
def test_quick_run_records_both_parts_and_resumes(tmp_path):
    _run(tmp_path=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "sirgcn_quick.jsonl").read_text().splitlines()]
    zinc = [r for r in records if r["part"] == "zinc"]
    assert {r["variant"] for r in zinc} == {"SIR-GCN", "SIR-GCN + edge features"}
    for r in zinc:
        assert r["epochs_run"] == 2 and 0 < r["test_mae"] < 10 and r["best_epoch"] in (1, 2)
        assert 95_000 < r["params"] < 105_000
    lookup = [r for r in records if r["part"] == "lookup"]
    assert {(r["variant"], r["n"]) for r in lookup} == {(m, n) for m in sirgcn.LOOKUP_MODELS for n in (4, 6)}
    assert all(0.0 <= r["test_acc"] <= 1.0 for r in lookup)
    # a rerun finds every run done and appends nothing; --report rebuilds the table from the records alone
    _run(tmp_path=tmp_path)
    assert len((tmp_path / "sirgcn_quick.jsonl").read_text().splitlines()) == len(records)
    (tmp_path / "sirgcn_quick.md").unlink()
    _run("--report", tmp_path=tmp_path)
    table = (tmp_path / "sirgcn_quick.md").read_text()
    assert "| SIR-GCN + edge features |" in table and "| PNA |" in table and "0.278" in table
    assert all(r["target"] == "score" and "target=" not in r["config"] for r in zinc)
    # the benchmark target is a separate config: a new record beside the score one, never resumed into it
    _run("--parts", "zinc", "--target", "penalized_logp", tmp_path=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "sirgcn_quick.jsonl").read_text().splitlines()]
    pl = [r for r in records if r["part"] == "zinc" and r.get("target") == "penalized_logp"]
    assert len(pl) == 1 and pl[0]["config"] == "epochs=2 max_per_split=48 target=penalized_logp"
    assert len(records) == len(zinc) + len(lookup) + 1
    assert "`epochs=2 max_per_split=48 target=penalized_logp`" in (tmp_path / "sirgcn_quick.md").read_text()
    assert (tmp_path / "sirgcn_quick_zinc.png").stat().st_size > 0
    assert (tmp_path / "sirgcn_quick_lookup.png").stat().st_size > 0


@needs_data("zinc12k")
def test_zinc_target_flag_reaches_the_data_and_the_config(monkeypatch):
    from geomrep.datasets import load_zinc12k

    assert "target" not in sirgcn._config(sirgcn.parse_args([]), "zinc")  # earlier runs' configs unchanged
    args = sirgcn.parse_args(["--target", "penalized_logp"])
    assert sirgcn._config(args, "zinc").endswith(" target=penalized_logp")
    assert "target" not in sirgcn._config(args, "lookup")
    monkeypatch.setenv("GEOMREP_DATA", str(DATA))
    pl = sirgcn.build_zinc(8, "penalized_logp")[0]["val"].y
    score = sirgcn.build_zinc(8)[0]["val"].y
    ref = load_zinc12k(splits=("val",), max_per_split=8, target="penalized_logp")["val"]
    assert torch.equal(pl, torch.tensor([float(g.y) for g in ref]))
    assert not torch.allclose(pl, score, atol=0.1)
