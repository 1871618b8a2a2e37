"""geomrep.linalg (filled by later issues)."""

__all__ = []
