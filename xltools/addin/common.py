"""What the add-in's package and its workbook module (_book) share; a leaf module (nothing heavy)."""
from __future__ import annotations

__all__ = ["TITLE", "AddinError"]

TITLE = "xltools 公开表工具"


class AddinError(Exception):
    """A problem the user can fix; shown as a message box (in Chinese), never as a traceback."""
