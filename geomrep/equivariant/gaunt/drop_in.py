"""Drop-in replacement of an e3nn tensor product (``o3.TensorProduct``, ``FullyConnectedTensorProduct``).

:class:`~geomrep.equivariant.gaunt.GauntDropIn` has the interface of e3nn's tensor products —
``irreps_in1``, ``irreps_in2``, ``irreps_out``, ``weight_numel``, ``internal_weights``,
``shared_weights`` and ``forward(x1, x2, weight=None)`` with a flat ``weight (..., weight_numel)`` — so
it replaces one in a model without touching the model's code:

.. math:: y = \\mathrm{Lin}_{\\text{out}}\\Big(\\mathrm{Gaunt}_w\\big(\\mathrm{Lin}_1(x_1),\\,
   \\mathrm{Lin}_2(x_2)\\big)\\Big)

``Lin_1``/``Lin_2`` are e3nn ``o3.Linear`` maps of each input to ``channels`` copies of each of its
irreps (an input whose multiplicities are all 1, such as edge spherical harmonics, is used as it is
and broadcast; with ``mix_inputs=False`` the inputs enter the product as they are, channel ``c`` of
every irrep paired as in :mod:`~geomrep.equivariant.gaunt.channels`, which halves the parameters);
``Gaunt_w`` is the channel-wise :class:`~geomrep.equivariant.gaunt.GauntTensorProduct` with weights
``w`` per (parity pair, channel, output degree) — the only weights that ``weight`` carries when they
come from outside (e.g. a radial network); ``Lin_out`` mixes the channels into ``irreps_out``. This
is the "linear up, channel-wise product, linear down" shape of MACE/NequIP interaction blocks. With
``mix_output=False`` the product emits ``irreps_out`` directly (no ``Lin_out``).
``GauntDropIn.from_e3nn`` uses neither linear map for an e3nn product that is channel-wise already
(every instruction ``"uvu"`` or ``"uuu"``, as in the interaction block of ``InteratomicModel`` in
``geomrep.equivariant.gaunt.interatomic``) and both for any other (``FullyConnectedTensorProduct``:
``"uvw"``). Equivariance is exact (float64 relative error ~4e-15).

What changes (state it in your model card): a Gaunt product has only the paths with ``l1 + l2 + l3``
even (no antisymmetric paths such as the cross product ``1o × 1o → 1e``); an output irrep that only
such paths reach raises ``ValueError``; the path weights are per (channel, output degree), not per
``(u, v, w)`` channel triple. Measured parameter counts (``parameter_counts``; tested):

- ``64x0e+32x1o+16x2e ⊗ 1x0e+1x1o+1x2e → 64x0e+32x1o+16x2e``: e3nn ``FullyConnectedTensorProduct``
  13,824; ``GauntDropIn`` 14,528 (two ``o3.Linear`` maps of 7,168, 192 product weights);
  ``mix_inputs=False`` 7,360;
- ``InteratomicModel("cg", channels=8, lmax=2, layers=2)``: 7,513 parameters, 88 radial-MLP weights
  per edge and layer; after the recipe below 3,289 parameters, 24 weights per edge and layer.

Recipe for the interaction block of ``InteratomicModel`` (and any e3nn block whose per-edge weights
come from a radial MLP)::

    model = InteratomicModel("cg", channels=8, lmax=2)
    for layer in model.layers:
        layer.tp = GauntDropIn.from_e3nn(layer.tp)        # same irreps, same forward(x1, x2, w)
        last = layer.radial[-1]                           # the radial MLP now emits tp.weight_numel
        layer.radial[-1] = torch.nn.Linear(last.in_features, layer.tp.weight_numel)

and for a layer ``fctp = o3.FullyConnectedTensorProduct(irreps1, irreps2, irreps_out)``:
``fctp = GauntDropIn.from_e3nn(fctp)``. The replacement's weights are freshly initialised (retrain).
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from torch import nn

from .channels import channel_layout, parity_class
from .tensor_product import GauntTensorProduct

__all__ = ["GauntDropIn", "parameter_counts"]


def _broadcastable(irreps: o3.Irreps) -> bool:
    """Every multiplicity 1 and every irrep once: used as it is and broadcast over channels."""
    return all(mul == 1 for mul, _ in irreps) and len({ir for _, ir in irreps}) == len(irreps)


def _uniform(irreps: o3.Irreps, channels: int) -> o3.Irreps:
    """``channels`` copies of each distinct irrep of ``irreps``, sorted."""
    return o3.Irreps([(channels, ir) for ir in sorted({ir for mul, ir in irreps if mul > 0})])


class GauntDropIn(nn.Module):
    """e3nn-compatible tensor product computed by a Gaunt product between two equivariant linear maps.

    Args:
        irreps_in1, irreps_in2, irreps_out: as for ``o3.FullyConnectedTensorProduct`` (any e3nn irreps).
        channels: width of the channel-wise product (default: the largest input multiplicity).
        mix_inputs: apply ``Lin_1``/``Lin_2`` (default). If False the inputs are used as they are (any
            multiplicities; their largest multiplicities must agree unless one broadcasts).
        mix_output: apply ``Lin_out`` (default). If False the product emits ``irreps_out`` directly
            (every output channel must be reachable, see
            :class:`~geomrep.equivariant.gaunt.GauntTensorProduct`).
        internal_weights: learnable Gaunt weights inside the module (default: ``shared_weights``).
        shared_weights: if False, ``forward`` takes one weight vector per row
            (``weight (..., weight_numel)``); if True (default), internal weights or one ``(weight_numel,)``.
        backend: Gaunt backend (see :class:`~geomrep.equivariant.gaunt.GauntTensorProduct`).

    Shapes:
        ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)`` → ``(..., irreps_out.dim)``; the
        e3nn linear maps follow the module's dtype (``.double()``), as in e3nn.

    Raises:
        ValueError: if an irrep of ``irreps_out`` is reached only by paths with ``l1 + l2 + l3`` odd.

    Example:
        >>> fctp = o3.FullyConnectedTensorProduct("16x0e+8x1o", "1x0e+1x1o", "16x0e+8x1o")
        >>> g = GauntDropIn.from_e3nn(fctp)
        >>> g(torch.randn(3, 40), torch.randn(3, 4)).shape
        torch.Size([3, 40])
    """

    def __init__(
        self,
        irreps_in1,
        irreps_in2,
        irreps_out,
        *,
        channels: int | None = None,
        mix_inputs: bool = True,
        mix_output: bool = True,
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        lay1 = channel_layout(irreps_in1, "irreps_in1")
        lay2 = channel_layout(irreps_in2, "irreps_in2")
        lay_out = channel_layout(irreps_out, "irreps_out")
        self.irreps_in1, self.irreps_in2, self.irreps_out = lay1.irreps, lay2.irreps, lay_out.irreps
        b1, b2 = _broadcastable(self.irreps_in1), _broadcastable(self.irreps_in2)
        if not mix_inputs:
            b1 = b2 = True  # used as they are
            channels = max(lay1.channels, lay2.channels) if channels is None else channels
        if channels is None:
            channels = max([1] + [lay.channels for lay, b in ((lay1, b1), (lay2, b2)) if not b])
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        if shared_weights is None:
            shared_weights = True
        if internal_weights is None:
            internal_weights = shared_weights
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights=True requires shared_weights=True (as in e3nn)")
        self.channels, self.internal_weights, self.shared_weights = channels, internal_weights, shared_weights

        mid1 = self.irreps_in1 if b1 else _uniform(self.irreps_in1, channels)
        mid2 = self.irreps_in2 if b2 else _uniform(self.irreps_in2, channels)
        self.lin1 = nn.Identity() if b1 else o3.Linear(self.irreps_in1, mid1)
        self.lin2 = nn.Identity() if b2 else o3.Linear(self.irreps_in2, mid2)
        # output irreps of the product: every distinct irrep of irreps_out, which must be Gaunt-reachable
        reach: dict[int, int] = {}
        for k1, ls1 in lay1.classes().items():
            for k2, ls2 in lay2.classes().items():
                reach[k1 ^ k2] = max(reach.get(k1 ^ k2, -1), max(ls1) + max(ls2))
        missing = [str(ir) for _, ir in self.irreps_out if ir.l > reach.get(parity_class(ir.l, ir.p), -1)]
        if missing:
            raise ValueError(
                f"irreps_out contains {sorted(set(missing))}, which a Gaunt product of {self.irreps_in1} and "
                f"{self.irreps_in2} cannot produce (only paths with l1 + l2 + l3 even exist, e.g. no "
                "1o x 1o -> 1e); remove them from irreps_out or add inputs of that parity"
            )
        mid_out = _uniform(self.irreps_out, channels) if mix_output else self.irreps_out
        self.gaunt = GauntTensorProduct(
            mid1, mid2, mid_out, backend=backend, internal_weights=internal_weights
        )
        self.lin_out = o3.Linear(mid_out, self.irreps_out) if mix_output else nn.Identity()
        self.weight_numel = 0 if internal_weights else math.prod(self.gaunt.weight_shape)

    @classmethod
    def from_e3nn(cls, tp: nn.Module, **kwargs) -> GauntDropIn:
        """Build the replacement of an e3nn ``TensorProduct`` (or ``FullyConnectedTensorProduct``) ``tp``.

        Keeps ``tp``'s irreps and its ``internal_weights``/``shared_weights`` settings; ``kwargs`` go to
        the constructor (``channels``, ``mix_inputs``, ``mix_output``, ``backend``). ``mix_inputs`` and
        ``mix_output`` default to False when every instruction of ``tp`` is channel-wise (``"uvu"``,
        ``"uuu"``), True otherwise. The weights are new.
        """
        for attr in ("irreps_in1", "irreps_in2", "irreps_out"):
            if not hasattr(tp, attr):
                raise TypeError(f"tp must be an e3nn tensor product with {attr}, got {type(tp).__name__}")
        modes = {ins.connection_mode for ins in getattr(tp, "instructions", ())}
        channel_wise = bool(modes) and modes <= {"uvu", "uuu"}
        kwargs.setdefault("mix_inputs", not channel_wise)
        kwargs.setdefault("mix_output", not channel_wise)
        kwargs.setdefault("internal_weights", bool(getattr(tp, "internal_weights", True)))
        kwargs.setdefault("shared_weights", bool(getattr(tp, "shared_weights", True)))
        return cls(tp.irreps_in1, tp.irreps_in2, tp.irreps_out, **kwargs)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)``, ``weight (..., weight_numel)``."""
        if self.internal_weights:
            if weight is not None:
                raise ValueError("weight must be None when internal_weights=True")
            w = None
        else:
            if not isinstance(weight, torch.Tensor) or weight.shape[-1:] != (self.weight_numel,):
                raise ValueError(
                    f"weight of shape (..., {self.weight_numel}) is required when internal_weights=False, "
                    f"got {None if weight is None else tuple(weight.shape)}"
                )
            if self.shared_weights and weight.dim() != 1:
                raise ValueError(f"weight must have shape ({self.weight_numel},) when shared_weights=True")
            w = weight.reshape(weight.shape[:-1] + self.gaunt.weight_shape)
        return self.lin_out(self.gaunt(self.lin1(x1), self.lin2(x2), w))

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, channels={self.channels}"


def parameter_counts(module: nn.Module, weight_numel: int | None = None) -> int:
    """Learnable numbers of a tensor-product layer: its parameters plus externally supplied weights.

    Args:
        module: e3nn tensor product or ``GauntDropIn``.
        weight_numel: external weights per row (default: ``module.weight_numel`` when the module takes
            its weights from outside, else 0).
    """
    if weight_numel is None:
        weight_numel = 0 if getattr(module, "internal_weights", True) else int(module.weight_numel)
    return sum(p.numel() for p in module.parameters()) + weight_numel
