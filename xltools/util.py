"""Small shared helpers: atomic writes that keep the original."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "backup_path"]


def backup_path(path: Path) -> Path:
    """Where the original of ``path`` is kept when we rewrite it: 文件.bak.xlsx beside it."""
    return path.with_name(f"{path.stem}.bak{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path, keep_original: bool = True):
    """Yield a temporary path in the same folder; on success it replaces ``path`` in one step.

    If ``path`` already exists and ``keep_original`` is set, the original is copied to
    ``backup_path(path)`` first. On any error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if keep_original and path.exists():
            shutil.copy2(path, backup_path(path))
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
