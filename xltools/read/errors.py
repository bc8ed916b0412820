"""Errors of the data-folder readers (a leaf module: xltools.perf reads its block files with it too)."""
from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data file is malformed; the message names the file and line."""
