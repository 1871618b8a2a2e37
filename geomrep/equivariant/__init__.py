"""geomrep.equivariant (filled by later issues)."""

__all__ = []
