"""A node's data directory is its own: the directory 0700, its databases (and their SQLite
``-wal``/``-shm`` files) 0600. A secrets file that others can read stops the node with a clear
error instead of being served on; the other databases are tightened where they are looser."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from consortia.identity.wallet import check_private

log = logging.getLogger(__name__)

DATABASES = ("chain.db", "realname.db", "audit.db", "alerts.db")
SECRETS = ("realname.db",)  # clear real-name values and their salts
SIDE_FILES = ("", "-wal", "-shm", "-journal")


def secure_data_dir(data_dir: Path) -> None:
    """Create or tighten ``data_dir`` and its databases; refuse an exposed secrets file."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(data_dir.stat().st_mode) != 0o700:
        log.warning("%s was open to others; its mode is now 700", data_dir)
        os.chmod(data_dir, 0o700)
    for name in DATABASES:
        for path in (data_dir / f"{name}{side}" for side in SIDE_FILES):
            if not path.exists():
                continue
            if name in SECRETS:
                check_private(path)
            elif stat.S_IMODE(path.stat().st_mode) & 0o077:
                log.warning("%s was open to others; its mode is now 600", path)
                os.chmod(path, 0o600)
        database = data_dir / name
        if not database.exists():  # SQLite gives -wal and -shm the mode of the database file
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
