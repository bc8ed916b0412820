"""The narrative's data: paragraphs with their style and section (no jinja2, docx or openpyxl here)."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SHEET", "Paragraph", "Narrative"]

SHEET = "情况说明"


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: str = "body"        # title | heading1 | heading2 | body
    section: str = ""          # "一", "五（二）" … (empty before the first heading)


@dataclass
class Narrative:
    title: str
    paragraphs: list[Paragraph] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)   # (说明事项 key, label) still to fill in
    variant: str = ""
    unit: str = "万元"
    markers: dict[str, str] = field(default_factory=dict)   # key → its marker where the text first shows it

    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    def sections(self) -> dict[str, list[Paragraph]]:
        out: dict[str, list[Paragraph]] = {}
        for p in self.paragraphs:
            out.setdefault(p.section, []).append(p)
        return out
