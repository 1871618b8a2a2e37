"""geomrep.graphs (filled by later issues)."""

__all__ = []
