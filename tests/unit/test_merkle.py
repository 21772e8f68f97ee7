"""Merkle roots and inclusion proofs over 0..40 leaves, checked against an independent model."""

from __future__ import annotations

import hashlib

import pytest

from consortia.crypto.merkle import (
    LEAF,
    NODE,
    MerkleProof,
    compute_leaf,
    compute_proof,
    compute_root,
    is_valid_proof,
)
from consortia.types import codec


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaves_of(n: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(n)]


def model_root(leaves: list[bytes]) -> bytes:
    """Recursive model: pair left to right, an odd last node is promoted unchanged."""
    if not leaves:
        return H(b"")
    level = [H(LEAF + leaf) for leaf in leaves]
    while len(level) > 1:
        nxt = [H(NODE + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    return level[0]


SIZES = range(0, 41)


def test_known_small_roots() -> None:
    a, b, c = b"a", b"b", b"c"
    la, lb, lc = H(b"\x00a"), H(b"\x00b"), H(b"\x00c")
    assert compute_root(H, []) == H(b"")
    assert compute_root(H, [a]) == la
    assert compute_root(H, [a, b]) == H(b"\x01" + la + lb)
    assert compute_root(H, [a, b, c]) == H(b"\x01" + H(b"\x01" + la + lb) + lc)


@pytest.mark.parametrize("n", SIZES)
def test_root_matches_model(n: int) -> None:
    assert compute_root(H, leaves_of(n)) == model_root(leaves_of(n))


def test_roots_are_distinct_across_sizes_and_orders() -> None:
    roots = {compute_root(H, leaves_of(n)) for n in SIZES}
    assert len(roots) == len(SIZES)
    # swapping two leaves, or duplicating the odd one, changes the root
    assert compute_root(H, [b"x", b"y"]) != compute_root(H, [b"y", b"x"])
    assert compute_root(H, [b"x", b"y", b"z"]) != compute_root(H, [b"x", b"y", b"z", b"z"])


def test_leaf_cannot_pass_as_interior_node() -> None:
    a, b = b"a", b"b"
    forged_leaf = compute_leaf(H, a) + compute_leaf(H, b)  # the bytes of the interior node's children
    assert compute_root(H, [forged_leaf]) != compute_root(H, [a, b])


@pytest.mark.parametrize("n", range(1, 41))
def test_every_proof_verifies_and_only_for_its_leaf(n: int) -> None:
    leaves = leaves_of(n)
    root = compute_root(H, leaves)
    for i in range(n):
        proof = compute_proof(H, leaves, i)
        assert (proof.index, proof.size) == (i, n)
        assert len(proof.path) <= max(1, (n - 1).bit_length())
        assert is_valid_proof(H, leaves[i], proof, root, n)
        for j in range(n):
            if j != i:
                assert not is_valid_proof(H, leaves[j], proof, root, n)


@pytest.mark.parametrize("n", range(1, 41))
def test_tampered_proofs_fail(n: int) -> None:
    leaves = leaves_of(n)
    root = compute_root(H, leaves)
    for i in range(n):
        proof = compute_proof(H, leaves, i)
        # leaf
        assert not is_valid_proof(H, leaves[i] + b"!", proof, root, n)
        # root
        assert not is_valid_proof(H, leaves[i], proof, H(root), n)
        # each sibling hash, and each left/right flag
        for k, (left, sibling) in enumerate(proof.path):
            changed = bytes([sibling[0] ^ 1]) + sibling[1:]
            for step in ((left, changed), (not left, sibling)):
                path = proof.path[:k] + (step,) + proof.path[k + 1:]
                assert not is_valid_proof(H, leaves[i], MerkleProof(i, n, path), root, n)
        # dropping or adding a step
        if proof.path:
            assert not is_valid_proof(H, leaves[i], MerkleProof(i, n, proof.path[:-1]), root, n)
        assert not is_valid_proof(H, leaves[i], MerkleProof(i, n, proof.path + ((False, root),)), root, n)
        # any other index within the same tree size
        for j in range(n):
            if j != i:
                assert not is_valid_proof(H, leaves[i], MerkleProof(j, n, proof.path), root, n)
        # out-of-range index or size
        for index, size in ((n, n), (-1, n), (i, 0), (i, i)):
            assert not is_valid_proof(H, leaves[i], MerkleProof(index, size, proof.path), root, n)


def test_size_tamper_that_changes_the_path_shape_fails() -> None:
    leaves = leaves_of(4)
    root = compute_root(H, leaves)
    proof = compute_proof(H, leaves, 3)  # two steps in a tree of 4
    for size in (5, 8, 2, 1):
        assert not is_valid_proof(H, leaves[3], MerkleProof(3 if size > 3 else 0, size, proof.path), root, 4)


def test_proof_binds_index_and_size() -> None:
    # With odd-node promotion a path for leaf 2 of 3 is also a valid path for leaf 4 of 5,
    # so the verifier must be told the real leaf count (a header's tx_count).
    leaves = leaves_of(3)
    root = compute_root(H, leaves)
    last = compute_proof(H, leaves, 2)
    first = compute_proof(H, leaves, 0)
    assert not is_valid_proof(H, leaves[2], MerkleProof(4, 5, last.path), root, 3)
    assert not is_valid_proof(H, leaves[0], MerkleProof(0, 4, first.path), root, 3)


def test_compute_proof_rejects_out_of_range_index() -> None:
    for n, i in ((0, 0), (3, 3), (3, -1)):
        with pytest.raises(IndexError):
            compute_proof(H, leaves_of(n), i)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 33])
def test_proof_dict_round_trip(n: int) -> None:
    leaves = leaves_of(n)
    root = compute_root(H, leaves)
    for i in range(n):
        proof = compute_proof(H, leaves, i)
        data = proof.to_dict()
        # the dict is plain canonical data: it survives the codec
        again = MerkleProof.from_dict(codec.decode(codec.encode(data)))
        assert again == proof
        assert is_valid_proof(H, leaves[i], again, root, n)
        assert all(len(step["hash"]) == 64 and step["hash"] == step["hash"].lower() for step in data["path"])


@pytest.mark.parametrize(
    "data",
    [{"index": 0, "size": 1, "path": "nope"}, {"index": "0", "size": 1, "path": []}, {"index": 0, "size": None, "path": []},
     {"index": 0, "size": 2, "path": [{"left": True, "hash": "zz"}]}],
)
def test_proof_from_dict_rejects_malformed(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MerkleProof.from_dict(data)
