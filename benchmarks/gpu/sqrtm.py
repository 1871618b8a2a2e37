"""GPU section ``sqrtm``: ``sqrtm`` and ``invsqrtm`` for every method vs ``torch.linalg.eigh`` autograd.

Every method of ``geomrep.linalg.METHODS`` (``auto``, ``eig``: eigh + our tie-safe Daleckii–Krein
backward, ``sns``, ``ns``, ``mpa``, ``mtp``) against plain ``eigh`` autograd (``U f(Λ) Uᵀ``), forward
and backward in float32 at κ = 1e3, for each n and batch of the sizes; beside each time the relative
Frobenius error of the same method at each κ of ``sizes.sqrtm_conds`` (vs float64 ``eigh`` of the
rounded input). Returns the ``select_method`` recommendation: per batch and n, the fastest method
whose sqrtm and invsqrtm errors are ≤ :data:`SQRTM_ERR_BOUND` at every κ ≤ 1e3.
"""

from __future__ import annotations

import math

import torch

from gpu._common import Section, Sizes, fwd_bwd, predict

#: Accuracy bound of the ``select_method`` recommendation (relative error at κ ≤ 1e3, float32).
SQRTM_ERR_BOUND = 1e-4


def section_sqrtm(sec: Section) -> dict:
    """sqrtm/invsqrtm fwd+bwd per method vs eigh autograd, with the error at each κ; returns the
    recommendation ``{batch: {n: method}}`` for ``select_method``."""
    from geomrep.cli.linalg import (
        exact_roots,
        plain_eigh_inv,
        plain_eigh_sqrtm,
        relative_error,
        spd_with_condition,
    )
    from geomrep.linalg import METHODS, invsqrtm, sqrtm, sqrtm_invsqrtm

    dev, sz = sec.device, sec.sizes
    methods = tuple(METHODS)  # auto, eig, sns, ns, mpa, mtp
    ops = {
        "sqrtm": (plain_eigh_sqrtm, sqrtm),
        "invsqrtm": (plain_eigh_inv, invsqrtm),
    }
    # accuracy: {(n, cond, impl): (err sqrt, err invsqrt)}
    errors: dict = {}
    for n in sz.sqrtm_n:

        def acc(n=n):
            out = {}
            for cond in sz.sqrtm_conds:
                gen = torch.Generator().manual_seed(1)
                A = spd_with_condition(n, cond, sz.sqrtm_err_batch, generator=gen).to(dev)
                S0, R0 = exact_roots(A)
                with torch.no_grad():
                    for m in methods:
                        S, R = sqrtm_invsqrtm(A, method=m)
                        errors[(n, cond, m)] = (relative_error(S, S0), relative_error(R, R0))
                    errors[(n, cond, "eigh autograd")] = (
                        relative_error(plain_eigh_sqrtm(A), S0),
                        relative_error(plain_eigh_inv(A), R0),
                    )
                out[f"max err κ={cond:.0e}"] = max(max(errors[(n, cond, m)]) for m in ("eig", "sns"))
            return out

        sec.case({"part": "accuracy", "n": n}, acc)
    sec.rows[:] = [r for r in sec.rows if r.get("status") != "ok"]  # accuracy goes beside the times

    history: dict = {}
    times: dict = {}
    for batch in sz.sqrtm_batch:
        for n in sz.sqrtm_n:
            gen = torch.Generator().manual_seed(0)
            # 64 distinct matrices (κ = 1e3) tiled to the batch: built on the host in float64 (QR), cheap
            base = spd_with_condition(n, 1e3, min(batch, 64), generator=gen).to(dev)
            A = base.repeat(math.ceil(batch / base.shape[0]), 1, 1)[:batch].contiguous().requires_grad_()
            G = torch.randn(batch, n, n, device=dev, generator=torch.Generator(dev).manual_seed(0))
            for op, (baseline, fn) in ops.items():
                # matmul-only methods first: if the eigh-based cases of a large size run out of budget,
                # the cheap GPU cases of that size are already measured
                order = [m for m in methods if m in ("sns", "ns", "mpa", "mtp")]
                order += [m for m in methods if m not in order]
                impls = {
                    **{m: (lambda X, m=m, fn=fn: fn(X, method=m)) for m in order},
                    "eigh autograd": baseline,
                }
                for name, f in impls.items():
                    label = {"op": op, "n": n, "batch": batch, "impl": name}
                    pred = predict(history, (op, name), batch * n**3)

                    def measure(f=f, A=A, G=G):
                        return {"ms": sec.timed(fwd_bwd(f, A, weight=G))}

                    row = sec.case(label, measure, pred)
                    if row["status"] == "ok":
                        history[(op, name)] = (batch * n**3, sec.last_wall)
                        times[(op, n, batch, name)] = row["ms"]
            del A, G, base
    # assemble the rows: ratio to eigh and the errors beside each time
    for row in sec.rows:
        if "op" not in row:
            continue
        op, n, batch, name = row["op"], row["n"], row["batch"], row["impl"]
        base_ms = times.get((op, n, batch, "eigh autograd"))
        if row.get("status") == "ok" and base_ms:
            row["eigh ms / ms"] = base_ms / row["ms"]
        k = 0 if op == "sqrtm" else 1
        for cond in sz.sqrtm_conds:
            e = errors.get((n, cond, name))
            row[f"err κ={cond:.0e}"] = e[k] if e else None
    return _recommend_sqrtm(times, errors, sz)


def _recommend_sqrtm(times: dict, errors: dict, sz: Sizes) -> dict:
    """Fastest method (excluding ``auto`` and the non-tie-safe baseline) whose sqrtm and invsqrtm errors
    at every κ ≤ 1e3 are ≤ SQRTM_ERR_BOUND; by the sum of the sqrtm and invsqrtm times."""
    from geomrep.linalg import METHODS

    candidates = [m for m in METHODS if m != "auto"]
    conds = [c for c in sz.sqrtm_conds if c <= 1e3]
    rec: dict = {}
    for batch in sz.sqrtm_batch:
        rec[batch] = {}
        for n in sz.sqrtm_n:
            best = None
            for m in candidates:
                errs = [errors.get((n, c, m)) for c in conds]
                if any(e is None or not all(v <= SQRTM_ERR_BOUND for v in e) for e in errs):  # NaN fails
                    continue
                t = [times.get((op, n, batch, m)) for op in ("sqrtm", "invsqrtm")]
                if None in t:
                    continue
                if best is None or sum(t) < best[1]:
                    best = (m, sum(t), t[0])
            if best is None:
                continue
            eigh = times.get(("sqrtm", n, batch, "eigh autograd"))
            rec[batch][n] = {
                "method": best[0],
                "sqrtm ms": best[2],
                "eigh ms": eigh,
                "speed-up vs eigh (sqrtm)": eigh / best[2] if eigh else None,
            }
    return rec
