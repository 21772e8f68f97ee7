"""Encrypted copies of deposited files that a node keeps for their owners (ADR 0011).

The chain holds only a file's digest; on request a node also keeps the file itself, sealed with
the chain suite's cipher (XChaCha20-Poly1305 on Ed25519 chains, SM4-GCM on SM chains) under a key
that never leaves the node's data directory. The associated data binds each sealed copy to this
chain, its algorithm and its digest, and the opened bytes are hashed again before they are served,
so a copy that was altered, truncated or moved on disk is refused, never served.

A copy is node-local, not ledger state: other nodes do not hold it, and deleting it changes no
block. Who may store and read it is the ``evidence`` contract's ``file_access`` query.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from consortia.client.certificates import file_digest
from consortia.crypto.suite import CryptoSuite
from consortia.errors import BadInput, Fault, NotFound

KEY_FILE = "evidence-files.key"
COPIES_DIR = "evidence-files"
AAD_DOMAIN = b"consortia/evidence-file/v1\x00"
MAX_FILE_ENV = "CONSORTIA_EVIDENCE_MAX_FILE_BYTES"
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


def max_file_bytes() -> int:
    """The largest copy a node keeps: ``CONSORTIA_EVIDENCE_MAX_FILE_BYTES``, else 64 MiB."""
    value = os.environ.get(MAX_FILE_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_FILE_BYTES
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise Fault(f"{MAX_FILE_ENV}: expected a positive number of bytes, got {value!r:.40}", code="BAD_CONFIG")
    return int(value)


def compute_aad(chain_id: str, algorithm: str, digest: str) -> bytes:
    return AAD_DOMAIN + f"{chain_id} {algorithm} {digest}".encode()


def _write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to a fresh owner-only (0600) temporary file next to ``path``; return it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileVault:
    """Sealed copies under ``<data dir>/evidence-files/<algorithm>/<digest>``, one key per node."""

    def __init__(self, data_dir: Path, suite: CryptoSuite, chain_id: str) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / COPIES_DIR
        self.key_path = self.data_dir / KEY_FILE
        self.suite = suite
        self.chain_id = chain_id
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def path(self, algorithm: str, digest: str) -> Path:
        return self.root / algorithm / digest

    def has(self, algorithm: str, digest: str) -> bool:
        return self.path(algorithm, digest).is_file()

    def key(self) -> bytes:
        """The node's sealing key, created (mode 0600) on first use; refused if others may read it."""
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create_key()
            return self._key

    def _load_or_create_key(self) -> bytes:
        if not self.key_path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = _write_private(self.key_path, self.suite.generate_seal_key())
            try:
                os.link(tmp, self.key_path)  # atomic: a concurrent creator's key wins, never a half-written one
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
            _sync_dir(self.data_dir)
        mode = self.key_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise Fault(f"{self.key_path} is readable by others (mode {mode:o}); chmod 600 it", code="KEY_EXPOSED")
        key = self.key_path.read_bytes()
        if len(key) != self.suite.seal_key_bytes:
            raise Fault(f"{self.key_path}: expected a {self.suite.seal_key_bytes}-byte {self.suite.seal_name} key, "
                        f"got {len(key)} bytes", code="BAD_KEY")
        return key

    def put(self, algorithm: str, digest: str, data: bytes) -> bool:
        """Seal and keep ``data``, which must hash to ``digest``; False if a copy was already kept."""
        actual = file_digest(algorithm, data)
        if actual != digest:
            raise BadInput(f"the file's {algorithm} digest is {actual}, expected the deposited {digest}",
                           code="FILE_MISMATCH")
        target = self.path(algorithm, digest)
        if target.is_file():
            return False
        sealed = self.suite.seal(self.key(), data, compute_aad(self.chain_id, algorithm, digest))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _write_private(target, sealed)
        os.replace(tmp, target)
        _sync_dir(target.parent)
        return True

    def get(self, algorithm: str, digest: str) -> bytes:
        """The plaintext of a kept copy; ``FILE_COPY_DAMAGED`` if it does not open or hash back."""
        target = self.path(algorithm, digest)
        try:
            sealed = target.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"this node keeps no copy of {algorithm}:{digest}", code="NO_FILE_COPY") from None
        try:
            data = self.suite.open(self.key(), sealed, compute_aad(self.chain_id, algorithm, digest))
        except BadInput:
            data = None
        if data is None or file_digest(algorithm, data) != digest:
            raise Fault(f"the stored copy of {algorithm}:{digest} is damaged (it does not open with this node's "
                        "key, or does not hash to its digest); it was not served", code="FILE_COPY_DAMAGED")
        return data
