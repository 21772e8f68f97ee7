"""Binary Merkle trees over leaf hashes, with inclusion proofs.

Leaves and interior nodes are hashed with distinct one-byte prefixes (0x00, 0x01)
so that a leaf can never be passed off as an interior node. An odd node at the
end of a level is promoted unchanged (never duplicated), so two different leaf
lists cannot share a root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Hasher = Callable[[bytes], bytes]

LEAF = b"\x00"
NODE = b"\x01"


def compute_leaf(hasher: Hasher, data: bytes) -> bytes:
    return hasher(LEAF + data)


def compute_node(hasher: Hasher, left: bytes, right: bytes) -> bytes:
    return hasher(NODE + left + right)


def compute_root(hasher: Hasher, leaves: Sequence[bytes]) -> bytes:
    """Root over ``leaves`` (raw leaf data); the root of no leaves is H(b"")."""
    if not leaves:
        return hasher(b"")
    level = [compute_leaf(hasher, leaf) for leaf in leaves]
    while len(level) > 1:
        level = _next_level(hasher, level)
    return level[0]


def _next_level(hasher: Hasher, level: list[bytes]) -> list[bytes]:
    paired = [compute_node(hasher, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        paired.append(level[-1])
    return paired


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """Path from one leaf to the root: sibling hashes and whether each sits on the left."""

    index: int
    size: int
    path: tuple[tuple[bool, bytes], ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "size": self.size,
            "path": [{"left": left, "hash": h.hex()} for left, h in self.path],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> MerkleProof:
        raw_path = data["path"]
        if not isinstance(raw_path, list):
            raise ValueError("path must be a list")
        path = tuple((bool(step["left"]), bytes.fromhex(step["hash"])) for step in raw_path)
        index, size = data["index"], data["size"]
        if not isinstance(index, int) or not isinstance(size, int):
            raise ValueError("index and size must be integers")
        return cls(index=index, size=size, path=path)


def compute_proof(hasher: Hasher, leaves: Sequence[bytes], index: int) -> MerkleProof:
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside 0..{len(leaves) - 1}")
    level = [compute_leaf(hasher, leaf) for leaf in leaves]
    path: list[tuple[bool, bytes]] = []
    i = index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):
            path.append((sibling < i, level[sibling]))
        level = _next_level(hasher, level)
        i //= 2
    return MerkleProof(index=index, size=len(leaves), path=tuple(path))


def is_valid_proof(hasher: Hasher, leaf: bytes, proof: MerkleProof, root: bytes, size: int) -> bool:
    """True when ``leaf`` sits at ``proof.index`` of the tree of ``size`` leaves with ``root``.

    ``size`` must come from a trusted source (a header's ``tx_count``): with odd nodes
    promoted, one path can fit trees of different sizes, so the proof's own claim is not enough.
    """
    if proof.size != size or not 0 <= proof.index < proof.size:
        return False
    node = compute_leaf(hasher, leaf)
    i, width, steps = proof.index, proof.size, iter(proof.path)
    while width > 1:
        sibling = i ^ 1
        if sibling < width:
            step = next(steps, None)
            if step is None or step[0] != (sibling < i):
                return False
            node = compute_node(hasher, step[1], node) if step[0] else compute_node(hasher, node, step[1])
        i //= 2
        width = (width + 1) // 2
    return next(steps, None) is None and node == root
