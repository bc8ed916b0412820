"""File names that are safe on Windows (and everywhere else) for one workbook per unit.

A unit's name comes from a list a user typed: it may hold path separators, characters Windows refuses,
control characters, a reserved device name (CON, NUL, COM1 …) or be very long. None of that may let a
file escape the output folder or fail to open on a colleague's Windows machine.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

__all__ = ["safe_component", "unit_filename", "unique_filenames", "inside"]

_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "0123456789¹²³"), *(f"LPT{i}" for i in "0123456789¹²³")}
MAX_CHARS = 80          # characters of the stem (Windows allows 255 UTF-16 units per component)
MAX_BYTES = 200         # UTF-8 bytes of the stem (Linux file systems allow 255 bytes per component)


def safe_component(text: object) -> str:
    """One path component made of ``text``: no separators, no reserved characters, no trailing dot/space."""
    s = unicodedata.normalize("NFC", str(text if text is not None else ""))
    s = _BAD.sub("_", s)
    # other invisible format characters (bidi overrides, zero-width) make names that look alike
    s = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in s)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"_{2,}", "_", s)
    return s.strip(" ._")


def _cut(stem: str) -> str:
    stem = stem[:MAX_CHARS]
    while len(stem.encode("utf-8")) > MAX_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .")


def _not_reserved(stem: str) -> str:
    base = stem.split(".", 1)[0].rstrip(" ").upper()
    if base in _RESERVED or not stem:
        return "_" + stem
    return stem


def unit_filename(code: object, name: object, suffix: str = ".xlsx") -> str:
    """``单位编码_单位名称.xlsx``, made safe. The code comes first so names stay unique and sort by code."""
    c, n = safe_component(code), safe_component(name)
    stem = f"{c}_{n}" if c and n else (c or n or "单位")
    return _not_reserved(_cut(stem)) + suffix


def unique_filenames(names: list[str]) -> list[str]:
    """Make names unique the way Windows compares them (case-insensitively): 名称.xlsx, 名称_2.xlsx …"""
    seen: set[str] = set()
    out = []
    for n in names:
        p = Path(n)
        cand, i = n, 1
        while cand.casefold() in seen:
            i += 1
            cand = f"{p.stem}_{i}{p.suffix}"
        seen.add(cand.casefold())
        out.append(cand)
    return out


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing anything that would not be a direct child of ``folder``."""
    folder = Path(folder).resolve()
    target = (folder / name).resolve()
    if target.parent != folder or name in ("", ".", ".."):
        raise ValueError(f"不安全的文件名：{name!r}")
    return target
