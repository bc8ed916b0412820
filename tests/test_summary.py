"""The folder summary workbook (校验汇总.xlsx): every finding of every file, however many."""
from __future__ import annotations

from pathlib import Path

from python_calamine import CalamineWorkbook

from conftest import SAMPLES
from xltools.cli import check_file
from xltools.rules import report as summary_mod


def test_findings_past_one_sheets_rows_go_on_to_a_next_sheet(tmp_path, monkeypatch):
    """A province's findings may pass the 1,048,576 rows of one sheet; XlsxWriter would drop the rest silently.
    With the limit lowered to 40 rows, the findings of the sample workbooks spread over several 全部问题 sheets,
    each with its header, and together hold every finding in order."""
    monkeypatch.setattr(summary_mod, "SHEET_ROWS", 40)
    files = sorted(p for d in SAMPLES.iterdir() if d.is_dir() for p in d.glob("*.xlsx"))
    results = [(p, *check_file(p)) for p in files]
    want = [(str(p), f.rule, f.cell) for p, fs, _ in results for f in fs]
    assert len(want) > 80, len(want)
    out = summary_mod.write_summary(tmp_path / "校验汇总.xlsx", results)
    wb = CalamineWorkbook.from_path(str(out))
    sheets = [n for n in wb.sheet_names if n.startswith("全部问题")]
    assert sheets[0] == "全部问题" and sheets[1] == "全部问题（2）" and len(sheets) == -(-len(want) // 39)
    got = []
    for name in sheets:
        rows = wb.get_sheet_by_name(name).to_python()
        assert rows[0][:3] == ["文件", "级别", "规则"] and len(rows) <= 40
        got += [(r[0], r[2], r[4]) for r in rows[1:]]
    assert got == want
    totals = wb.get_sheet_by_name("汇总").to_python()
    assert [r[0] for r in totals[1:]] == [str(p) for p in files]
