"""`xltools import`: read a 公开表 workbook of any layout, or a published PDF, into a Report.

``import_source(path)`` recognises the set, each table (by title and 表号), unit, year and amount unit,
and places every printed number it can; what it cannot place is listed in ``ImportResult.unplaced``
with where it was printed. ``write_data_folder`` writes the result as a data folder (meta.yaml + one CSV
per table, as the samples); ``xltools.build.writer.build_workbook`` makes our workbook of it.
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from xltools.importer.sources import ImportError_, read_source

__all__ = ["ImportError_", "ImportResult", "Unplaced", "import_source", "write_data_folder", "report_lines"]


def __getattr__(name: str):
    """ImportResult / Recognized / Unplaced, from the recognizer — imported when first asked for: `check` of our own
    workbooks (read_any) never recognises anything, and a one-workbook check should not pay its import."""
    if name in ("ImportResult", "Recognized", "Unplaced"):
        from xltools.importer import recognize as _recognize
        return getattr(_recognize, "Recognized" if name == "ImportResult" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def import_source(path: str | Path, *, set_hint: str | None = None) -> Recognized:
    """Recognise the tables of a workbook or PDF. Raises ImportError_ (Chinese, naming the file) when
    nothing can be recognised."""
    from xltools.importer.recognize import recognize

    src = read_source(path)
    res = recognize(src, set_hint=set_hint)
    if res.report is None or not (res.report.tables or any(k != "_sheets" for k in res.report.blocks)
                                  or res.report.tables_elsewhere):
        raise ImportError_(f"{Path(path).name}：没有找到可识别的公开表（按表名“收入支出决算总表”“部门收支预算总表”等识别）")
    res.source = src
    return res


def _csv_safe(text: str) -> str:
    """A text field of a CSV we write: a leading = + - @ (or tab/CR) is neutralised (OWASP)."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def write_data_folder(res: Recognized, folder: str | Path) -> Path:
    """The recognised report as a data folder: meta.yaml + one CSV per table, values as printed."""
    import csv
    import io

    import yaml

    from xltools.spec import load_set

    rep = res.report
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tset = load_set(rep.set_id)
    meta = {"set": rep.set_id, "variant": rep.variant, "unit": rep.unit or "", "year": rep.year,
            "amount_unit": rep.amount_unit, "source": Path(rep.origin).name, "as_published": True}
    if res.empty_tables:                      # printed with “本表无数据”: one note each, checked as empty
        meta["no_data"] = list(res.empty_tables)
    if rep.not_published:                     # not in the document: one M- finding each, no cascade
        meta["not_published"] = list(rep.not_published)
    files = {"meta.yaml": "# 由 xltools import 导入（数值按原文保留，含原文错误）\n"
             + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}
    for tid, td in rep.tables.items():
        table = tset.tables[tid]
        cols = [c for c in table.columns() if any(c in r.values for r in td.rows.values())]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["key", "name", *cols])
        for rd in td.rows.values():
            vals = []
            for c in cols:
                v = rd.values.get(c)
                vals.append("" if v is None or v.amount is None else f"{v.amount:,.2f}"
                            if v.amount == v.amount.quantize(Decimal('0.01')) else str(v.amount))
            w.writerow([rd.key, _csv_safe(rd.label), *vals])
        files[f"{tid}.csv"] = buf.getvalue()
    for bid, projects in rep.blocks.items():
        if bid.startswith("_"):
            continue
        files[f"{bid}.yaml"] = _blocks_yaml(projects)
    for name, text in files.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    return folder


def report_lines(res: Recognized, name: str) -> list[str]:
    """The import report in Chinese: tables recognised, numbers placed, and everything not placed."""
    from xltools.spec import load_set

    rep = res.report
    tset = load_set(rep.set_id)
    out = [f"{name}：识别为{tset.title}（版式 {rep.variant}），单位“{rep.unit or '未识别'}”，"
           f"年度 {rep.year or '未识别'}，金额单位 {rep.amount_unit}"]
    for tid, where in res.tables.items():
        if tid not in tset.tables:        # a 绩效 block table
            projects = rep.blocks.get(tid) or []
            from xltools.perf import blocks_for
            title = next((b.title for b in blocks_for(rep.set_id)
                          if b.id == tid), tid)
            out.append(f"  {title}：{len(projects)} 个项目，位于 {where}")
            continue
        t = tset.tables[tid]
        td = rep.tables[tid]
        unit = res.table_units.get(tid, "")
        extra = "（无数据）" if tid in res.empty_tables else ""
        out.append(f"  {t.number or tid} {t.title}：{len(td.rows)} 行{extra}，位于 {where}" + (f"，{unit}" if unit else ""))
    missing = [t for t in tset.variant(rep.variant).order if t not in rep.tables]
    if missing:
        out.append("  未找到：" + "、".join(f"{tset.tables[t].number or t} {tset.tables[t].title}" for t in missing))
    out.append(f"  数字：共 {res.numbers} 个，已放入 {res.placed} 个")
    if res.unplaced:
        out.append(f"  未能放入的内容 {len(res.unplaced)} 处：")
        for u in res.unplaced[:200]:
            out.append(f"    {u.where}：“{u.text}” —— {u.why}")
        if len(res.unplaced) > 200:
            out.append(f"    ……另有 {len(res.unplaced) - 200} 处")
    for u in res.notes[:50]:
        out.append(f"  说明：{u.where}：“{u.text}” —— {u.why}")
    return out


_NARR_START = re.compile(
    r"^(?:第[一二三四五六七八九十]+部分.*情况(?:20\d{2})?说明|[^、.．]{0,40}(?:决算|预算)(?:情况)?说明$)")
_PAGE_NO = re.compile(r"^\s*(?:[-—]\s*\d+\s*[-—]|第\s*\d+\s*页(?:[，,]?\s*共\s*\d+\s*页)?|\d{1,3})\s*$")


def _text_lines(src) -> tuple[list[str], int | None, int]:
    """(a PDF's text lines outside its tables — page numbers dropped —, the first and the end line of its
    情况说明 part or (None, 0) when it has none). The table of contents is left out of the search for the part
    heading (it names the parts too), not out of the lines."""
    lines: list[str] = []
    toc: set[int] = set()
    for page in getattr(src, "text_pages", ()):
        head = "".join(page[:3]).replace(" ", "")
        for t in page:
            if not _PAGE_NO.match(t):
                if "目录" in head:
                    toc.add(len(lines))
                lines.append(t.strip())
    compact = [t.replace(" ", "") for t in lines]
    begin = None
    for i, t in enumerate(compact):
        if i in toc:
            continue
        window = "".join(x for k, x in enumerate(compact[i:i + 3], start=i) if k not in toc)
        if _NARR_START.match(t) or (t.startswith("第") and "部分" in t[:6] and _NARR_START.match(window[:60])):
            begin = i
            break
    if begin is None:
        return lines, None, 0
    end = len(lines)
    for k in range(begin + 1, len(lines)):
        c = compact[k]
        if c.startswith("第") and "部分" in c[:6] and "名词解释" in c:
            end = k
            break
    return lines, begin, end


def narrative_text(src) -> str:
    """A PDF's 情况说明: its text lines from the part heading that names it (it may be broken over
    lines: "第三部分…年度部门决算情况" / "2024" / "说明") to the 名词解释 (or the end), the table of
    contents and page numbers dropped; line breaks are kept (the narrative checker rebuilds
    sentences)."""
    if getattr(src, "kind", "") != "pdf":
        return ""
    lines, begin, end = _text_lines(src)
    return "" if begin is None else "\n".join(lines[begin:end])


def document_text(src) -> str:
    """The rest of a PDF's words outside its tables: cover, 目录, 第一部分, the part headings and table titles
    and notes, 名词解释 — everything but the 情况说明 (:func:`narrative_text`) and the tables' cells. Checked for
    placeholders and typos (xltools.narrative.wording.document_findings), never for figures."""
    if getattr(src, "kind", "") != "pdf":
        return ""
    lines, begin, end = _text_lines(src)
    if begin is not None:
        lines = lines[:begin] + lines[end:]
    return "\n".join(lines)


def read_any(path, *, with_formulas: bool = True):
    """A Report from any source `check` and `narrative` accept: our workbook (with its hidden
    ``_xltools`` sheet), any other 公开表 workbook, or a published PDF. Returns (report, narrative
    text or "", import result or None). Raises ImportError_ / ReadError with a Chinese message."""
    from pathlib import Path as _P

    from xltools.read.workbook import META_SHEET, Book, read_workbook

    path = _P(path)
    if path.suffix.lower() in (".xlsx", ".xlsm") and path.is_file():
        book = Book(path)      # the file's bytes, checked by the guard before calamine reads a sheet (read/guard.py)
        if META_SHEET in book.sheet_names:
            rep = read_workbook(path, with_formulas=with_formulas, opened=book)   # opened once
            _values_only(rep)
            return rep, "", None
    res = import_source(path)
    return res.report, narrative_text(res.source), res


def _values_only(rep) -> None:
    """A copy of our workbook made values-only (paste values) has no formula anywhere: its totals are
    not "typed over", so whether a cell holds a formula is treated as unknown (no F-01)."""
    values = [v for td in rep.tables.values() for r in td.rows.values() for v in r.values.values()]
    if values and not any(v.formula for v in values):
        for v in values:
            v.formula = None


def _blocks_yaml(projects) -> str:
    """A 绩效 block table as the data folder's <ID>.yaml (xltools.perf.load_blocks reads it back)."""
    import yaml

    def plain(v):
        if v is None:
            return None
        if isinstance(v, float):
            return format(Decimal(repr(v)).normalize(), "f")
        if isinstance(v, list):
            return [plain(x) for x in v]
        return str(v)

    doc = {"projects": []}
    for p in projects:
        item = {"name": p.name, **{k: v for k, v in p.fields.items()}}
        item["funds"] = {k: plain(v) for k, v in p.funds.items()}
        item["indicators"] = "\n".join("|".join("" if x is None else str(plain(x)) for x in row)
                                       for row in p.indicators)
        doc["projects"].append(item)
    return "# 由 xltools import 导入（按原文保留）\n" + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
