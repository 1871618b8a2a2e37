"""geomrep.manifolds (filled by later issues)."""

__all__ = []
