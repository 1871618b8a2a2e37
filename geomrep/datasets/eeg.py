"""EEG loaders: MAMEM-SSVEP-II (as released with GBWBN, CVPR 2025) and the SSVEP exoskeleton set.

Both read the ``.npz`` files described in ``shared/data/<name>/README.md`` (sources, licences,
published results). Signals and covariances are returned as :class:`torch.Tensor` in the dtype
stored on disk (float32 signals, float64 covariances); labels are zero-based ``int64``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.signal
import torch

from ._root import data_root

__all__ = [
    "EEGSplit",
    "load_mamem_ssvep2",
    "mamem_ssvep2_split",
    "load_ssvep_exo_covariances",
    "load_ssvep_exo_epochs",
    "filterbank_covariances",
]

_MAMEM_FILE = "mamem_ssvep2_gbwbn.npz"
_EXO_COV_FILE = "ssvep_exo_covariances.npz"
_EXO_RAW_FILE = "ssvep_exo_continuous.npz"
#: GBWBN's per-subject split of the 500 MAMEM trials (contiguous: labels come in runs of 4).
MAMEM_SPLIT = {"train": slice(0, 300), "val": slice(300, 400), "test": slice(400, 500)}


@dataclass(frozen=True)
class EEGSplit:
    """Inputs ``x`` and zero-based labels ``y`` of one split of one subject (or of several)."""

    x: torch.Tensor
    y: torch.Tensor


def _subject_indices(subjects, available: np.ndarray, name: str) -> np.ndarray:
    if subjects is None:
        return np.arange(len(available))
    subjects = np.atleast_1d(np.asarray(subjects))
    idx = []
    for s in subjects.tolist():
        hit = np.flatnonzero(available == s)
        if hit.size == 0:
            raise ValueError(f"{name}: subject {s!r} not in the data; available: {available.tolist()}")
        idx.append(int(hit[0]))
    return np.asarray(idx)


def load_mamem_ssvep2(
    subjects=None, root: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MAMEM-SSVEP-II EEG as preprocessed and released with the GBWBN paper (CVPR 2025).

    11 subjects x 500 trials of 8 channels x 125 samples, 5 SSVEP classes.

    Args:
        subjects: subject numbers (1..11) to keep, an int or a sequence; ``None`` keeps all.
        root: folder holding ``mamem_ssvep2/`` (default: :func:`geomrep.datasets.data_root`).

    Returns:
        ``(x, y, subject)``: ``x`` float32 ``(S, 500, 8, 125)``, ``y`` int64 ``(S, 500)`` in 0..4,
        ``subject`` int64 ``(S,)`` (1-based subject numbers).

    Example:
        >>> x, y, subj = load_mamem_ssvep2(subjects=[1, 2])  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        torch.Size([2, 500, 8, 125])
    """
    path = data_root(root, "mamem_ssvep2") / _MAMEM_FILE
    with np.load(path) as z:
        available = z["subject"]
        idx = _subject_indices(subjects, available, "subjects")
        x = torch.from_numpy(np.ascontiguousarray(z["X"][idx]))
        y = torch.from_numpy(np.ascontiguousarray(z["y"][idx]))
    return x, y, torch.from_numpy(available[idx].copy())


def mamem_ssvep2_split(x: torch.Tensor, y: torch.Tensor) -> dict[str, EEGSplit]:
    """GBWBN's per-subject split of MAMEM-SSVEP-II: trials 0:300 train, 300:400 val, 400:500 test.

    The split is contiguous (consecutive rows are sub-windows of one trial, so a random split
    would leak).

    Args:
        x: ``(..., 500, C, T)`` signals (or ``(..., 500, C, C)`` covariances) of one or more subjects.
        y: ``(..., 500)`` labels.

    Returns:
        ``{"train": EEGSplit, "val": EEGSplit, "test": EEGSplit}`` sliced along the trial axis.
    """
    if y.shape[-1] != 500 or x.shape[: y.dim()] != y.shape:
        raise ValueError(
            f"x, y: expected shapes (..., 500, ...) and (..., 500), got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    t = y.dim() - 1
    return {
        k: EEGSplit(x.narrow(t, s.start, s.stop - s.start), y.narrow(t, s.start, s.stop - s.start))
        for k, s in MAMEM_SPLIT.items()
    }


def load_ssvep_exo_covariances(root: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Trial covariances of the SSVEP exoskeleton set (Kalunga et al. 2016), pyRiemann's pipeline.

    1,056 block-diagonal 24x24 covariances (3 frequency bands x 8 channels, LWF shrinkage), 4
    classes (resting, 13 Hz, 21 Hz, 17 Hz), 33 sessions of 12 subjects, 32 trials per session.

    Args:
        root: folder holding ``ssvep_exo/`` (default: :func:`geomrep.datasets.data_root`).

    Returns:
        dict with ``covs`` float64 ``(1056, 24, 24)``, ``y`` int64 ``(1056,)`` in 0..3 (stored label
        minus one), ``session`` int64 ``(1056,)`` in 0..32, ``subject`` int64 ``(1056,)`` in 1..12,
        and ``label_names`` (a list of 4 strings).
    """
    path = data_root(root, "ssvep_exo") / _EXO_COV_FILE
    with np.load(path) as z:
        sess = z["session"]
        out = {
            "covs": torch.from_numpy(z["covs"].copy()),
            "y": torch.from_numpy(z["labels"] - 1),
            "session": torch.from_numpy(sess.copy()),
            "subject": torch.from_numpy(z["session_subject"][sess]),
            "label_names": [str(s) for s in z["label_names"][1:]],
        }
    return out


def load_ssvep_exo_epochs(
    sessions=None, tmin: float = 2.0, tmax: float = 5.0, root: str | os.PathLike | None = None
) -> dict[str, torch.Tensor]:
    """Epochs of the continuous SSVEP exoskeleton EEG (8 channels, 256 Hz), ``tmin..tmax`` s after cue.

    Args:
        sessions: session indices (0..32) to keep; ``None`` keeps all 33.
        tmin, tmax: window in seconds relative to the cue (the trial lasts 5 s).
        root: folder holding ``ssvep_exo/``.

    Returns:
        dict with ``x`` float64 ``(N, 8, round((tmax - tmin) * 256))``, ``y`` int64 ``(N,)`` in 0..3,
        ``session`` and ``subject`` int64 ``(N,)``, ``sfreq`` (float).
    """
    if not 0.0 <= tmin < tmax <= 5.0:
        raise ValueError(f"tmin, tmax: expected 0 <= tmin < tmax <= 5, got {tmin}, {tmax}")
    path = data_root(root, "ssvep_exo") / _EXO_RAW_FILE
    with np.load(path) as z:
        off, scale, sfreq = z["session_offsets"], z["scale"], float(z["sfreq"])
        ev_s, ev_y, ev_sess = z["event_sample"], z["event_label"], z["event_session"]
        sess_list = np.arange(len(off) - 1) if sessions is None else np.atleast_1d(np.asarray(sessions))
        if sess_list.min() < 0 or sess_list.max() >= len(off) - 1:
            raise ValueError(f"sessions: expected indices in 0..{len(off) - 2}, got {sess_list.tolist()}")
        a, b = int(round(tmin * sfreq)), int(round(tmax * sfreq))
        xs, ys, ss = [], [], []
        sig = z["signals_int16"]
        for s in sess_list.tolist():
            x = sig[off[s] : off[s + 1]].astype(np.float64) * scale[s]
            m = ev_sess == s
            xs.append(np.stack([x[o + a : o + b].T for o in ev_s[m]]))
            ys.append(ev_y[m] - 1)
            ss.append(np.full(int(m.sum()), s))
        subj = z["session_subject"]
    sess_arr = np.concatenate(ss)
    return {
        "x": torch.from_numpy(np.concatenate(xs)),
        "y": torch.from_numpy(np.concatenate(ys)),
        "session": torch.from_numpy(sess_arr),
        "subject": torch.from_numpy(subj[sess_arr]),
        "sfreq": sfreq,
    }


def filterbank_covariances(
    x: np.ndarray,
    fs: float = 125.0,
    freqs=(6.66, 7.5, 8.57, 10.0, 12.0),
    half_width: float = 0.5,
    order: int = 2,
    shrinkage: float = 1e-3,
) -> torch.Tensor:
    """Filter-bank covariances of EEG trials: band-pass each stimulation frequency, stack, covariance.

    The fixed front end of the SPD tutorial and demo on MAMEM-SSVEP-II (SSVEP: the stimulation
    frequencies and their neighbourhoods carry the class information). For ``c`` channels and ``k``
    frequencies the ``ck × ck`` covariance holds every channel pair within and across bands.

    Args:
        x: trials ``(..., channels, time)``.
        fs: sampling rate in Hz (MAMEM-SSVEP-II as released with GBWBN: 125 Hz, which gives
            above-chance accuracy; 250 Hz does not).
        freqs, half_width, order: Butterworth band-pass ``[f − hw, f + hw]`` per frequency, zero phase.
        shrinkage: ridge ``shrinkage · tr(C)/d · I`` added to each covariance.

    Returns:
        float64 covariances ``(..., channels·len(freqs), channels·len(freqs))``, each scaled to unit
        trace per dimension (``tr C = d``).
    """
    bands = []
    for f in freqs:
        b, a = scipy.signal.butter(order, [f - half_width, f + half_width], btype="band", fs=fs)
        bands.append(scipy.signal.filtfilt(b, a, np.asarray(x, dtype=np.float64), axis=-1))
    z = np.concatenate(bands, axis=-2)
    z = z - z.mean(-1, keepdims=True)
    C = torch.from_numpy(z @ np.swapaxes(z, -1, -2) / (z.shape[-1] - 1))
    d = C.shape[-1]
    tau = torch.diagonal(C, dim1=-2, dim2=-1).mean(-1)[..., None, None]
    C = C / tau + shrinkage * torch.eye(d, dtype=C.dtype)
    return (C + C.mT) / 2
