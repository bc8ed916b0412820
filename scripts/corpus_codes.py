"""Every 科目 code printed with its name in the PDFs of ../shared/corpus, as a snapshot for the catalog test.

    python scripts/corpus_codes.py [corpus folder] [output .json]    # default: tests/data/corpus_codes.json

The text of each page is taken with pdfplumber (``page.extract_text()``). A row is a code followed by its name
on one printed line: ``2010601 行政运行``, ``201 06 01 行政运行`` (上海 prints 类/款/项 in three columns),
``301 01 基本工资`` (款 of 经济分类 split the same way; a 款 printed ``301 2`` is 30102). Only codes of the
支出功能分类 类 201–234 and of the 部门预算支出经济分类 类 301–313 / 399 count; a number followed by a unit word
(``200 万元``, ``338 名``) is not a code.

The snapshot (``tests/data/corpus_codes.json``) lists per PDF its size and its rows (code, printed name, page);
tests/test_catalog.py checks every code against the catalog, and re-extracts a few PDFs to prove the snapshot
is what this script produces. Extracting all 28 PDFs takes about 35 s, hence the snapshot.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_OUT = ROOT / "tests" / "data" / "corpus_codes.json"

# "201 06 01 " / "301 2 " at the start of a line: one code split over columns
_SPLIT = re.compile(r"^\s*([23]\d{2}) (\d{1,2})(?: (\d{1,2}))?(?=\s)")
# a code (after a line start, a space, or an amount's two decimals glued to it) and the name after it
_NAME_CHARS = r"\u4e00-\u9fff（）()、“”"
_ROW = re.compile(r"(?:^|(?<=\s)|(?<=\.\d\d))([23]\d{2}(?:\d{2}){0,2})\s*"
                  r"([" + _NAME_CHARS + r"]+(?:\s?[" + _NAME_CHARS + r"]+)*)")
# a line that starts with a code and has at most a name fragment before its first amount (or nothing after it)
_CODE_FIRST = re.compile(r"^\s*([23]\d{2}(?:\d{2}){0,2})(?:\s+([" + _NAME_CHARS + r"]{1,6}))?(?:\s+[-\d,.]+)+\s*$")
# a line that is only a name
_NAME_LINE = re.compile(r"^\s*[" + _NAME_CHARS + r"]{2,}\s*$")
# what follows a number that is not a code: a unit or a count
_NOT_A_NAME = ("万", "元", "名", "多", "人", "个", "次", "年", "月", "日", "项", "辆", "台", "套", "家", "户", "份")


def _join_split(line: str) -> str:
    return _SPLIT.sub(lambda m: m.group(1) + "".join(g.zfill(2) for g in m.groups()[1:] if g) + " ", line)


def _is_code(code: str) -> bool:
    cls = int(code[:3])
    return 201 <= cls <= 234 or 301 <= cls <= 313 or cls == 399


def rows_of_text(text: str) -> list[tuple[str, str]]:
    """(code, printed name) of every code+name printed on a line of ``text``."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        joined = _join_split(line)
        m = _CODE_FIRST.match(joined)
        # the line above names this code when nothing follows the code but amounts, or when the code is printed
        # split (上海 决算); a joined code with a name after it (江苏 “30109 职业年金缴费”) has its own name, and a
        # name-only line above it is the tail of the row before (“30108 1,064.46” / “缴费”)
        if m and i and _NAME_LINE.match(lines[i - 1]) and (not m.group(2) or joined != line):
            # 普陀 决算 layout: the name is printed on the line above its code (“行政运行” / “201 06 01 1,511.90”),
            # a long name continues after the code (“机关事业单位基本养老保险” / “208 05 05 缴费支出 160.75”)
            code, rest = m.group(1), re.sub(r"\s+", "", m.group(2) or "")
            if _is_code(code):
                out.append((code, re.sub(r"\s+", "", lines[i - 1]) + rest))
            continue
        for m in _ROW.finditer(joined):
            code, name = m.group(1), re.sub(r"\s+", "", m.group(2))
            if not _is_code(code) or len(name) < 2 or name.startswith(_NOT_A_NAME):
                continue
            out.append((code, name))
    return out


def extract(pdf: Path) -> list[tuple[str, str, int]]:
    """(code, printed name, page number) of one PDF, in page order, each (code, name, page) once."""
    import pdfplumber

    seen, out = set(), []
    with pdfplumber.open(pdf) as doc:
        for n, page in enumerate(doc.pages, start=1):
            for code, name in rows_of_text(page.extract_text() or ""):
                if (code, name, n) not in seen:
                    seen.add((code, name, n))
                    out.append((code, name, n))
    return out


def snapshot(corpus: Path) -> dict:
    docs = {}
    for pdf in sorted(corpus.rglob("*.pdf")):
        rel = pdf.relative_to(corpus).as_posix()
        docs[rel] = {"size": pdf.stat().st_size, "rows": [list(r) for r in extract(pdf)]}
    return {"corpus": "../shared/corpus", "documents": docs}


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else DEFAULT_CORPUS
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    snap = snapshot(corpus)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(snap, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    n = sum(len(d["rows"]) for d in snap["documents"].values())
    codes = {r[0] for d in snap["documents"].values() for r in d["rows"]}
    print(f"{len(snap['documents'])} PDFs, {n} rows, {len(codes)} distinct codes -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
