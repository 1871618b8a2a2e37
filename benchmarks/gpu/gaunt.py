"""GPU section ``gaunt``: ``gaunt_product`` and ``GauntTensorProduct`` vs e3nn's same-function products.

``gaunt_product`` (grid, fft, dense backends) and ``GauntTensorProduct`` (grid, fft) against the
fastest e3nn implementation of the same function (``o3.TensorProduct`` on the Gaunt paths, the
experimental v2 products filtered to them; as in ``benchmarks/bench_gaunt.py``), forward+backward in
float32 for each L and number of rows of the sizes; the set-up (tables, e3nn code generation) is
timed apart with a one-row first call. Returns the ``default_backend`` recommendation (per rows and L,
the fastest of grid/fft) and the per-(L, rows) summary rows.
"""

from __future__ import annotations

import time

import torch

from gpu._common import Section, fwd_bwd, predict


def _natural(mul: int, lmax: int):
    from e3nn import o3

    return o3.Irreps([(mul, (l, (-1) ** l)) for l in range(lmax + 1)])


def _gaunt_impls(L: int, channels: int, dev: torch.device) -> dict:
    """``{name: make(rows) -> closure}`` for every implementation at degree L on ``dev``."""
    import bench_gaunt
    from e3nn import o3

    from geomrep.equivariant.gaunt import GauntTensorProduct, gaunt_constant, gaunt_paths, gaunt_product

    d = (L + 1) ** 2
    irreps = _natural(channels, L)

    def functional(backend):
        def make(rows):
            x1 = torch.randn(rows, d, device=dev, requires_grad=True)
            x2 = torch.randn(rows, d, device=dev, requires_grad=True)
            return fwd_bwd(lambda a, b: gaunt_product(a, b, L, L, L, backend=backend), x1, x2)

        return make

    def module(backend):
        tp = GauntTensorProduct(irreps, irreps, irreps, backend=backend).to(dev)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return fwd_bwd(tp, x1, x2)

        return make

    def e3nn_tp():
        instr = [(a, b, c, "uuu", False, gaunt_constant(a, b, c) ** 2) for a, b, c in gaunt_paths(L, L, L)]
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
        tp = tp.to(dev)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return fwd_bwd(tp, x1, x2)

        return make

    def e3nn_elementwise():
        pairs = sorted({(a, b) for a, b, _ in gaunt_paths(L, L, L)})
        irreps1 = o3.Irreps([(channels, (a, (-1) ** a)) for a, _ in pairs])
        irreps2 = o3.Irreps([(channels, (b, (-1) ** b)) for _, b in pairs])
        sl = irreps.slices()
        idx1 = torch.cat([torch.arange(sl[a].start, sl[a].stop) for a, _ in pairs]).to(dev)
        idx2 = torch.cat([torch.arange(sl[b].start, sl[b].stop) for _, b in pairs]).to(dev)
        tp = o3.experimental.ElementwiseTensorProductv2(irreps1, irreps2, filter_ir_out=_natural(1, L)).to(
            dev
        )
        target, scale, n_out = bench_gaunt._reduction(tp, L, channels)
        target, scale = target.to(dev), scale.to(dev)

        def run(a, b):
            z = tp(a.index_select(1, idx1), b.index_select(1, idx2))
            return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

        def make(rows):
            x1 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            x2 = torch.randn(max(rows // channels, 1), irreps.dim, device=dev, requires_grad=True)
            return fwd_bwd(run, x1, x2)

        return make

    def e3nn_full_v2():
        ir1 = _natural(1, L)
        tp = o3.experimental.FullTensorProductv2(ir1, ir1, filter_ir_out=ir1).to(dev)
        target, scale, n_out = bench_gaunt._reduction(tp, L, 1)
        target, scale = target.to(dev), scale.to(dev)

        def run(a, b):
            z = tp(a, b)
            return z.new_zeros(z.shape[0], n_out).index_add(1, target, z * scale)

        def make(rows):
            x1 = torch.randn(rows, ir1.dim, device=dev, requires_grad=True)
            x2 = torch.randn(rows, ir1.dim, device=dev, requires_grad=True)
            return fwd_bwd(run, x1, x2)

        return make

    # the O(L⁶) dense reference last: its exact table takes ~20 s to build at L = 16 (one CPU core), so
    # the budget skips it before anything else
    return {
        "gaunt_product grid": lambda: functional("grid"),
        "gaunt_product fft": lambda: functional("fft"),
        "GauntTensorProduct grid": lambda: module("grid"),
        "GauntTensorProduct fft": lambda: module("fft"),
        "e3nn TP (Gaunt paths)": e3nn_tp,
        "e3nn ElementwiseTPv2 (Gaunt)": e3nn_elementwise,
        "e3nn FullTPv2 (Gaunt)": e3nn_full_v2,
        "gaunt_product dense": lambda: functional("dense"),
    }


GAUNT_BACKENDS = ("grid", "fft", "dense")
E3NN_SAME_FUNCTION = ("e3nn TP (Gaunt paths)", "e3nn ElementwiseTPv2 (Gaunt)", "e3nn FullTPv2 (Gaunt)")
#: Growth exponent of the cost in L used to predict the next degree (O(L⁶) for dense and e3nn).
_GAUNT_GROWTH = {
    "gaunt_product grid": 3,
    "gaunt_product fft": 3,
    "GauntTensorProduct grid": 3,
    "GauntTensorProduct fft": 3,
}


def section_gaunt(sec: Section) -> dict:
    """gaunt_product backends and GauntTensorProduct vs e3nn's same-function products; returns the
    recommendation ``{rows: {L: backend}}`` for ``default_backend`` and the per-(L, rows) summary rows."""
    import bench_gaunt

    bench_gaunt._use_exact_gaunt_3j_in_e3nn()  # e3nn's set-up only; its run time is unaffected
    dev, sz = sec.device, sec.sizes
    history: dict = {}
    setups: dict = {}
    times: dict = {}
    for L in sz.gaunt_L:
        makers = _gaunt_impls(L, sz.gaunt_channels, dev)
        for name, build in makers.items():
            p = _GAUNT_GROWTH.get(name, 6)
            state: dict = {}
            for rows in sz.gaunt_rows:
                label = {"L": L, "rows": rows, "impl": name}
                pred = predict(history, name, rows * (L + 1) ** p)
                if "make" not in state and name in setups:  # set-up (tables, e3nn code generation)
                    prev_l, prev_s = setups[name]
                    pred += prev_s * ((L + 1) / (prev_l + 1)) ** (6 if "dense" in name else 4)

                def measure(build=build, rows=rows, state=state):
                    out = {}
                    if "make" not in state:  # set-up: modules, code generation, the tables the
                        t0 = time.perf_counter()  # first call builds and caches (one row)
                        state["make"] = build()
                        state["make"](1)()
                        if dev.type == "cuda":
                            torch.cuda.synchronize(dev)
                        out["setup s"] = time.perf_counter() - t0
                    out["fwd+bwd ms"] = sec.timed(state["make"](rows))
                    return out

                # e3nn's set-up at L = 16 (code generation for ~2,500 paths) takes 5–25 s on one core
                row = sec.case(label, measure, pred, cap_s=2 * sz.case_max_s)
                if row["status"] == "ok":
                    setup = row.get("setup s") or 0.0
                    history[name] = (rows * (L + 1) ** p, max(sec.last_wall - setup, 1e-6))
                    if "setup s" in row:
                        setups[name] = (L, setup)
                    times[(L, rows, name)] = row["fwd+bwd ms"]
    for row in sec.rows:
        row.setdefault("setup s", "—")
    rec: dict = {}
    summary = []
    for rows in sz.gaunt_rows:
        rec[rows] = {}
        for L in sz.gaunt_L:
            ours = {b: times.get((L, rows, f"gaunt_product {b}")) for b in GAUNT_BACKENDS}
            ours = {b: t for b, t in ours.items() if t is not None}
            e3 = {n: times.get((L, rows, n)) for n in E3NN_SAME_FUNCTION}
            e3 = {n: t for n, t in e3.items() if t is not None}
            if not ours:
                continue
            best = min(ours, key=ours.get)
            fast = {b: ours[b] for b in ours if b != "dense"}
            best_fast = min(fast, key=fast.get) if fast else best
            rec[rows][L] = {"backend": best_fast, "fastest incl. dense": best, "ms": ours}
            s = {"L": L, "rows": rows, "fastest backend": best, "ms": ours[best]}
            s["grid ms"], s["fft ms"], s["dense ms"] = (ours.get(b) for b in GAUNT_BACKENDS)
            gtp = [times.get((L, rows, f"GauntTensorProduct {b}")) for b in ("grid", "fft")]
            s["GauntTensorProduct ms (grid/fft)"] = "/".join("—" if t is None else f"{t:.3g}" for t in gtp)
            if e3:
                b3 = min(e3, key=e3.get)
                s["fastest e3nn same fn"], s["e3nn ms"] = b3, e3[b3]
                s["speed-up fwd+bwd"] = e3[b3] / ours[best]
            else:
                s["fastest e3nn same fn"], s["e3nn ms"], s["speed-up fwd+bwd"] = "not measured", None, None
            summary.append(s)
    return {"backend": rec, "summary": summary}
