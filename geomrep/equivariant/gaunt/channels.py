"""How the Gaunt modules pair the channels of arbitrary e3nn irreps (per-irrep channel groups).

A Gaunt product multiplies *spherical functions*: channel ``c`` of a feature is read as
``f_c = Σ_{l,m} x_{c,lm} Y_lm`` (one function per parity class, see ``parity_class``). For irreps
with one multiplicity ``C`` and each irrep once (``8x0e+8x1o+8x2e``) channel ``c`` simply has every
degree. For any other e3nn ``Irreps`` the channels are laid out as follows:

- **repeated and unsorted irreps** are merged per irrep ``(l, p)`` in order of appearance:
  ``"4x1o+2x0e+4x1o"`` has 8 channels of ``1o`` (the first block is channels 0–3, the second 4–7) and
  2 of ``0e``; the order of the blocks in the tensor does not matter otherwise;
- **different multiplicities per degree** are per-irrep channel groups: channel ``c`` of irrep
  ``(l, p)`` exists for ``c < mul(l, p)``; a missing channel is an exact zero. For
  ``64x0e+32x1o+16x2e``: channels 0–15 carry ``0e+1o+2e``, channels 16–31 ``0e+1o`` and channels
  32–63 ``0e`` only — the nested channel groups of MACE/NequIP-style hidden features. Zero padding
  whole irreps is equivariant, so the products stay exactly O(3)-equivariant;
- **``0e+0o`` mixes**: each parity class is its own function (``p = (-1)^l``: class 0, the
  opposite: class 1), so ``0e`` and ``0o`` never share a coefficient.

This module only builds index tables (int64, once, at construction); the products never loop over
irreps at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from e3nn import o3

__all__ = ["parity_class", "ChannelLayout", "channel_layout"]


def parity_class(l: int, p: int) -> int:  # noqa: E741
    """0 for irreps with the parity of spherical harmonics (``p = (-1)^l``), 1 for the opposite parity."""
    return 0 if p == (-1) ** l else 1


@dataclass(frozen=True)
class ChannelLayout:
    """Channel layout of one irreps (see the module docstring).

    Attributes:
        irreps: the irreps as given (not sorted or simplified).
        offsets: ``offsets[(l, k)]`` lists, per channel ``c`` of degree ``l`` in parity class ``k``, the
            position in the feature vector of that channel's ``m = -l`` coefficient.
        channels: the largest multiplicity (number of channels after padding).
        uniform: True when every irrep appears once with the same multiplicity.
    """

    irreps: o3.Irreps
    offsets: dict
    channels: int
    uniform: bool

    def mul(self, l: int, k: int) -> int:  # noqa: E741
        """Number of channels of degree ``l`` in parity class ``k`` (0 if absent)."""
        return len(self.offsets.get((l, k), ()))

    def classes(self, min_channels: int = 1) -> dict[int, list[int]]:
        """Sorted degrees per parity class present in at least ``min_channels`` channels."""
        out: dict[int, list[int]] = {}
        for (l, k), offs in self.offsets.items():  # noqa: E741
            if len(offs) >= min_channels:
                out.setdefault(k, []).append(l)
        return {k: sorted(ls) for k, ls in sorted(out.items())}

    def channel_lmax(self, k: int, c: int) -> int:
        """Highest degree of parity class ``k`` that channel ``c`` carries (-1 if none); a layout with a
        single channel (broadcast over the other input's channels) answers for channel 0."""
        c = 0 if self.channels == 1 else c
        return max((l for (l, kk), offs in self.offsets.items() if kk == k and len(offs) > c), default=-1)

    def gather_index(self, k: int, lmax: int, channels: int) -> torch.Tensor:
        """Flat index ``(channels·(lmax+1)²,)`` into ``[x, 0]`` (``x`` in e3nn layout, a zero appended).

        Entry ``c·(lmax+1)² + l² + l + m`` points at coefficient ``(c, l, m)`` of class ``k``, or at the
        appended zero where that channel or degree does not exist.
        """
        pad = self.irreps.dim
        idx = torch.full((channels, (lmax + 1) ** 2), pad, dtype=torch.int64)
        for (l, kk), offs in self.offsets.items():  # noqa: E741
            if kk != k or l > lmax:
                continue
            for c, start in enumerate(offs[:channels]):
                idx[c, l * l : (l + 1) ** 2] = start + torch.arange(2 * l + 1)
        return idx.reshape(-1)

    def scatter_index(self, position) -> torch.Tensor:
        """Index ``out_index`` with ``y_e3nn = y_padded[..., out_index]``.

        ``position(c, k, l, m)`` gives the flat position of coefficient ``(c, l, m)`` of class ``k`` in
        the padded (channel-major) output of the product; entries follow the e3nn layout of
        :attr:`irreps`, repeated irreps taking consecutive channels.
        """
        used: dict = {}
        out = []
        for mul, ir in self.irreps:
            k = parity_class(ir.l, ir.p)
            first = used.get((ir.l, k), 0)
            used[(ir.l, k)] = first + mul
            for c in range(first, first + mul):
                out.extend(position(c, k, ir.l, m) for m in range(-ir.l, ir.l + 1))
        return torch.tensor(out, dtype=torch.int64)


def channel_layout(irreps, name: str) -> ChannelLayout:
    """Validate ``irreps`` (any e3nn ``Irreps``) and build its ``ChannelLayout``.

    Raises:
        ValueError: if ``irreps`` is not e3nn irreps or has no non-zero multiplicity.
    """
    try:
        irreps = o3.Irreps(irreps)
    except Exception as exc:  # e3nn raises various types for bad strings
        raise ValueError(f"{name} must be e3nn Irreps (e.g. '8x0e+8x1o'), got {irreps!r}") from exc
    if len(irreps) == 0 or irreps.dim == 0:
        raise ValueError(f"{name} must contain at least one irrep with non-zero multiplicity, got {irreps}")
    offsets: dict = {}
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        d = 2 * ir.l + 1
        offsets.setdefault((ir.l, parity_class(ir.l, ir.p)), []).extend(sl.start + c * d for c in range(mul))
    offsets = {key: offs for key, offs in offsets.items() if offs}
    muls = [mul for mul, _ in irreps]
    uniform = len(set(muls)) == 1 and len({ir for _, ir in irreps}) == len(irreps)
    return ChannelLayout(irreps, offsets, max(len(o) for o in offsets.values()), uniform)
