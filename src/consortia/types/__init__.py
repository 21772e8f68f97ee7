"""Domain primitives and the canonical codec."""
