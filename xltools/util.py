"""Small shared helpers. File writes live in :mod:`xltools.safeio`; these names stay for callers."""
from __future__ import annotations

from xltools.safeio import atomic_write, backup_path

__all__ = ["atomic_path", "backup_path"]


def atomic_path(path, keep_original: bool = True, **kw):
    """:func:`xltools.safeio.atomic_write` (temporary file in the target's folder, then one rename)."""
    return atomic_write(path, keep_original=keep_original, **kw)
