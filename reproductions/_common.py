"""Shared plumbing of the reproduction scripts: seeding, resumable JSON-lines records, machine string, plots.

Every script in ``reproductions/`` runs many independent *runs* (one subject × arm × seed, one seed of a
model, ...). Each finished run is appended as one JSON object to a ``.jsonl`` file, so an interrupted full
run resumes where it stopped (``done_keys``) and a partial result is never lost.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import random
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

__all__ = [
    "RESULTS",
    "append_record",
    "done_keys",
    "machine",
    "mean_std",
    "plot_curves",
    "read_records",
    "seed_everything",
    "today",
]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator seeded with ``seed`` for explicit use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the global state is what third-party code draws from)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def machine() -> str:
    """One line naming the machine: CPU/GPU, core count, torch version and threads."""
    if torch.cuda.is_available():
        dev = torch.cuda.get_device_name(0)
    else:
        dev = f"{platform.machine()} CPU, {os.cpu_count()} cores"
    return f"{dev}, torch {torch.__version__}, {torch.get_num_threads()} torch thread(s)"


def today() -> str:
    return datetime.date.today().isoformat()


def append_record(path: str | os.PathLike, record: dict) -> None:
    """Append one run's record as a JSON line (created with its parent folder when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def read_records(path: str | os.PathLike) -> list[dict]:
    """All records of a ``.jsonl`` file (empty when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def done_keys(path: str | os.PathLike, fields: Sequence[str]) -> set[tuple]:
    """The ``fields`` tuples of the runs already recorded in ``path`` (to skip them on resume)."""
    return {tuple(r[f] for f in fields) for r in read_records(path)}


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    v = list(values)
    if not v:
        return float("nan"), float("nan")
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def plot_curves(
    curves: dict[str, Sequence[float] | np.ndarray],
    path: str | os.PathLike,
    *,
    xlabel: str = "epoch",
    ylabel: str = "",
    title: str = "",
    logy: bool = False,
) -> Path:
    """Plot named curves (one line each; a 2-D array is drawn as mean ± std over its rows) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, c in curves.items():
        a = np.asarray(c, dtype=float)
        if a.ndim == 2:
            m, s = a.mean(0), a.std(0)
            x = np.arange(1, m.size + 1)
            ax.plot(x, m, label=name)
            ax.fill_between(x, m - s, m + s, alpha=0.2)
        else:
            ax.plot(np.arange(1, a.size + 1), a, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
