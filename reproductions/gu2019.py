"""Reproduce Table 1 of Gu, Sala, Gunel, Ré (ICLR 2019): graph embeddings in 10-dimensional product spaces.

For each dataset (Cities: USCA312 road distances; CS PhDs; Power; Facebook — from
``$GEOMREP_DATA/hyperbolic_graphs``) and each signature (E¹⁰, H¹⁰, S¹⁰, (H⁵)², (S⁵)², H⁵×S⁵, (H²)⁵,
(S²)⁵, (H²)²×E²×(S²)²), run
:func:`geomrep.manifolds.products.embed_graph` and report the average distortion D_avg and the mean
average precision (mAP; graphs only, Cities is a metric) beside the published numbers we know (Gu et
al. as re-reported by a later paper; blank where we have none — none are guessed).

The recipe (per run): Riemannian Adam, ``--steps`` steps at ``--lr``, the paper's loss
Σ|(d_P/d_G)² − 1| by default (``--loss repo`` for Σ(d_P/d_G − 1)²), a learnt global scale, fixed unit
curvatures unless ``--learnable-curvature``, all pairs per step up to 2·10⁶ pairs (Cities, CS PhDs),
65,536 sampled pairs per step above (Power, Facebook). Cities distances are divided by 100 (D_avg is
invariant to a global scale, which is learnt). A run whose loss turns NaN is retried at a third of the
learning rate (twice at most); the table's ``lr`` column says which rate produced the row.
``--batch-pairs N`` samples N pairs per step even where all pairs fit, ``--init-scale`` sets the starting
global scale (H¹⁰ on Power stalls from the default 1; see
``embed_graph``'s ``init_scale``), ``--neighbour-weight`` weights the neighbour pairs in the loss.

Usage::

    python reproductions/gu2019.py --quick          # smoke run: 2 datasets × 2 signatures, 20 steps
    python reproductions/gu2019.py                   # everything (hours on a 2-core CPU)
    python reproductions/gu2019.py --datasets csphd --signatures "(H2)^5" E10 --steps 3000

Each finished run is appended to ``reproductions/results/gu2019.jsonl`` (``gu2019_quick.jsonl`` with
``--quick``); a run already recorded with the same settings is skipped, so a long run resumes. The table
``gu2019.md`` is rebuilt from all records after every run (``--report`` rebuilds it alone).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomrep.cli.table import markdown_table  # noqa: E402
from geomrep.datasets import load_hyperbolic_graph  # noqa: E402
from geomrep.manifolds.products import embed_graph  # noqa: E402
from reproductions._common import RESULTS, append_record, machine, read_records, today  # noqa: E402

#: settings that identify a run (a recorded run with the same values is not repeated)
KEY = (
    "dataset",
    "signature",
    "steps",
    "loss",
    "lr0",
    "learnable_curvature",
    "seed",
    "neighbour_weight",
    "init_scale",
    "batch_pairs",
)
#: value of a KEY field in records written before the field existed
KEY_DEFAULTS = {"neighbour_weight": 1.0, "init_scale": 1.0, "batch_pairs": None}
DATASETS = ("cities", "csphd", "power", "facebook")
SIGNATURES = ("E10", "H10", "S10", "(H5)^2", "(S5)^2", "H5xS5", "(H2)^5", "(S2)^5", "(H2)^2xE2x(S2)^2")

#: Published D_avg (Gu et al. 2019 as re-reported by a later paper) — only the values we were given.
PUBLISHED_DAVG = {
    ("csphd", "E10"): 0.0543,
    ("csphd", "H10"): 0.0502,
    ("csphd", "(H2)^5"): 0.0357,
    ("power", "E10"): 0.0917,
    ("power", "H10"): 0.0388,
    ("power", "H5xS5"): 0.0323,
    ("facebook", "E10"): 0.0653,
    ("facebook", "H5xS5"): 0.0402,
    ("cities", "E10"): 0.0735,
    ("cities", "S10"): 0.0598,
}
PUBLISHED_MAP = {("csphd", "(H2)^5"): 0.9694}


def run(
    dataset: str,
    signature: str,
    *,
    steps: int,
    lr: float,
    loss: str,
    learnable_curvature: bool,
    seed: int,
    progress: bool,
    neighbour_weight: float = 1.0,
    init_scale: float = 1.0,
    batch_pairs: int | None = None,
) -> dict:
    D = load_hyperbolic_graph(dataset)
    if dataset == "cities":
        D = D / 100.0
    t0 = time.perf_counter()
    emb = embed_graph(
        D,
        signature,
        steps=steps,
        lr=lr,
        loss=loss,
        neighbour_weight=neighbour_weight,
        init_scale=init_scale,
        **({} if batch_pairs is None else {"full_pairs_max": 0, "batch_pairs": batch_pairs}),
        learnable_curvature=learnable_curvature,
        seed=seed,
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    row = {
        "dataset": dataset,
        "n": D.shape[0],
        "signature": signature,
        "D_avg": emb.distortion(),
        "D_avg published": PUBLISHED_DAVG.get((dataset, signature), ""),
        "mAP": emb.map_score() if dataset != "cities" else "",
        "mAP published": PUBLISHED_MAP.get((dataset, signature), ""),
        "learnt curvatures": emb.space.signature if learnable_curvature else "",
        "steps": steps,
        "loss": loss,
        "neighbour_weight": neighbour_weight,
        "init_scale": init_scale,
        "batch_pairs": batch_pairs,
        "lr": lr,
        "seconds": seconds,
    }
    return row


def _key(record: dict) -> tuple:
    return tuple(record.get(k, KEY_DEFAULTS.get(k)) for k in KEY)


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run (2 datasets × 2 signatures, 20 steps)")
    p.add_argument("--datasets", nargs="*", default=None, choices=DATASETS)
    p.add_argument("--signatures", nargs="*", default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=0.3)
    p.add_argument("--loss", default="paper", choices=("paper", "repo"))
    p.add_argument(
        "--neighbour-weight",
        type=float,
        default=1.0,
        help="weight of neighbour pairs in the loss (embed_graph's neighbour_weight; 1: the paper's loss)",
    )
    p.add_argument(
        "--init-scale",
        type=float,
        default=1.0,
        help="starting global scale (embed_graph's init_scale)",
    )
    p.add_argument(
        "--batch-pairs",
        type=int,
        default=None,
        help="sample this many pairs per step even where all pairs fit (default: all pairs up to 2·10⁶)",
    )
    p.add_argument("--learnable-curvature", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    p.add_argument("--progress", action="store_true", help="tqdm progress bars")
    p.add_argument("--report", action="store_true", help="only rebuild the table from the records")
    p.add_argument("--out", type=Path, default=None, help="results folder (default reproductions/results)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads or 1)
    datasets = args.datasets or (("cities", "csphd") if args.quick else DATASETS)
    signatures = args.signatures or (("E10", "(H2)^5") if args.quick else SIGNATURES)
    steps = args.steps or (20 if args.quick else 2000)
    out = args.out or RESULTS
    stem = "gu2019_quick" if args.quick else "gu2019"
    path = out / f"{stem}.jsonl"
    if not args.report:
        done = {_key(r) for r in read_records(path)}
        for ds in datasets:
            for sig in signatures:
                settings = {
                    "dataset": ds,
                    "signature": sig,
                    "steps": steps,
                    "loss": args.loss,
                    "lr0": args.lr,
                    "learnable_curvature": args.learnable_curvature,
                    "seed": args.seed,
                    "neighbour_weight": args.neighbour_weight,
                    "init_scale": args.init_scale,
                    "batch_pairs": args.batch_pairs,
                }
                if tuple(settings[k] for k in KEY) in done:
                    continue
                # a run whose loss turns NaN (points pushed to the edge of float64's reach in H) is retried
                # with the learning rate divided by 3, twice at most; the row records the rate that was used
                lr = args.lr
                for attempt in range(3):
                    try:
                        row = run(
                            ds,
                            sig,
                            steps=steps,
                            lr=lr,
                            loss=args.loss,
                            neighbour_weight=args.neighbour_weight,
                            init_scale=args.init_scale,
                            batch_pairs=args.batch_pairs,
                            learnable_curvature=args.learnable_curvature,
                            seed=args.seed,
                            progress=args.progress,
                        )
                        break
                    except FloatingPointError as exc:
                        print(f"{ds} {sig}: {exc}", flush=True)
                        if attempt == 2:
                            row = {"dataset": ds, "signature": sig, "D_avg": "diverged", "lr": lr}
                        lr /= 3
                row.update(settings, machine=machine(), date=today())
                append_record(path, row)
                print({k: _fmt(v) for k, v in row.items()}, flush=True)
                report(path, out / f"{stem}.md", quick=args.quick)
    print(report(path, out / f"{stem}.md", quick=args.quick))


COLUMNS = (
    "dataset",
    "n",
    "signature",
    "D_avg",
    "D_avg published",
    "mAP",
    "mAP published",
    "learnt curvatures",
    "steps",
    "loss",
    "neighbour_weight",
    "init_scale",
    "batch_pairs",
    "lr",
    "seed",
    "seconds",
    "machine",
    "date",
)


def report(path: Path, md: Path, *, quick: bool = False) -> str:
    """Rebuild the markdown table from the records (latest record per setting, published values beside)."""
    latest = {}
    for r in read_records(path):
        latest[_key(r)] = r
    order = {d: i for i, d in enumerate(DATASETS)}
    sig_order = {s: i for i, s in enumerate(SIGNATURES)}
    rows = sorted(
        latest.values(),
        key=lambda r: (order.get(r["dataset"], 99), sig_order.get(r["signature"], 99), r["steps"]),
    )
    table = [{c: r.get(c, KEY_DEFAULTS.get(c, "")) for c in COLUMNS} for r in rows]
    for row in table:  # batch_pairs None: the script's default (all pairs up to 2·10⁶, else 65,536 sampled)
        row["batch_pairs"] = "" if row["batch_pairs"] is None else row["batch_pairs"]
    for row in table:
        row["D_avg published"] = PUBLISHED_DAVG.get((row["dataset"], row["signature"]), "")
        row["mAP published"] = PUBLISHED_MAP.get((row["dataset"], row["signature"]), "")
        for c in ("D_avg", "mAP", "seconds"):
            if isinstance(row[c], float):
                row[c] = float(f"{row[c]:.4g}")
    title = "# Gu et al. 2019 Table 1 reproduction" + (" (--quick smoke run: NOT results)" if quick else "")
    text = f"{title}\n\n{markdown_table(table)}\n" if table else f"{title}\n\nno records yet\n"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(text)
    return text


if __name__ == "__main__":
    main()
