"""The add-in's Python side, run against real xlwings Books made from JSON payloads.

Excel is not available here. xlwings' remote engine (``xw.Book(json=payload)``, the engine behind
xlwings Server / Lite) builds a real ``xw.Book`` from the payload an Office.js client sends — the
values of every sheet, anchored at A1 — and records every change the code makes as an action
(``book.json()["actions"]``) instead of applying it. The tests build such payloads from the sample
workbook (values read with python-calamine, as the client would send them), set the book as the
mock caller, call the ribbon's entry points, and assert the recorded actions.

What the remote engine cannot do, and how the tests deal with it:
  * read formulas (``Range.formula`` raises): without them the add-in skips F-01 and says so; one
    test patches ``Range.formula`` to answer what Excel's COM ``Range.Formula`` answers (formula
    text or the constant, as a tuple of rows; here from openpyxl) to check F-01 end to end;
  * read fills (``Range.color`` raises): the add-in remembers the builder's fill instead;
  * open files, so new_template() leaves the new workbook on disk and says where.
Notes, hyperlinks, fills, sheets and values are recorded as actions and asserted.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

xw = pytest.importorskip("xlwings")

from xltools.build.layout import a1
from xltools.read.workbook import META_SHEET, ReadError, _grid, meta_from, read_grids, read_workbook
from xltools.rules.report import result_order

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "samples" / "ningxia-sbj-2022-final"
SAMPLE = SAMPLE_DIR / "ningxia-sbj-2022-final.xlsx"
MARK_FILL = {"error": "#FFC7CE", "warning": "#FFEB9C", "info": "#DDEBF7"}
LIGHT_FILL = {"error": "#FCE8EA", "warning": "#FFF6D6", "info": "#F0F6FC"}
ORDER = {"error": 0, "warning": 1, "info": 2}
# what the add-in may do to a sheet a user types into: colour a cell, add or delete its note
ALLOWED_ON_TABLES = {"setRangeColor", "addNote", "deleteNote"}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def _xlwings_remote(monkeypatch, tmp_path):
    # xlwings registers its remote engine at import when it finds a license key; the key is set
    # here, for these tests only, so register the engine now if xlwings was imported without it
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    added = None
    if "remote" not in xw.engines.engines_by_name:
        from xlwings.pro import _xlremote

        added = xw.main.Engine(impl=_xlremote.engine)
        xw.engines.add(added)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))         # ~/.xltools/addin.log, ~/Documents
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    yield
    if hasattr(xw.Book, "_mock_caller"):
        del xw.Book._mock_caller
    if added is not None:
        xw.engines.engines.remove(added)
        del xw.engines.engines_by_name["remote"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The sample workbook (generated from its data folder when the .xlsx is not there)."""
    if SAMPLE.is_file():
        return SAMPLE
    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data

    out = tmp_path_factory.mktemp("sample") / SAMPLE.name
    build_workbook(load_data(SAMPLE_DIR), out)
    return out


def _rect(rows: list[list]) -> list[list]:
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows] if width else [[]]


def payload_from(path: Path, *, formulas: bool = False, drop: tuple[str, ...] = (),
                 extra: dict[str, list[list]] | None = None, notes: dict[str, list[str]] | None = None,
                 name: str | None = None) -> dict:
    """What an Office.js client sends for the workbook at ``path``: every sheet's values from A1."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    fgrids = _formula_grids(path) if formulas else {}
    sheets = []
    for sheet in wb.sheet_names:
        if sheet in drop:
            continue
        sheets.append(_sheet(sheet, _grid(wb, sheet), fgrids.get(sheet), (notes or {}).get(sheet)))
    for sheet, rows in (extra or {}).items():
        sheets.append(_sheet(sheet, rows, None, None))
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": name or path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets}


def _sheet(name, rows, fgrid, notes):
    hidden = name in (META_SHEET, "科目目录")
    s = {"name": name, "values": _rect(rows), "pictures": [], "shapes": [], "charts": [], "tables": [],
         "notes": [{"address": a} for a in notes or []], "visibility": "Hidden" if hidden else "Visible"}
    if fgrid is not None:
        s["_formulas"] = fgrid
    return s


def _formula_grids(path: Path) -> dict[str, list[list[str]]]:
    """Sheet → what Excel's Range.Formula gives for each cell: '=…' or the constant as text."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = [["" if c.value is None else str(c.value) for c in row] for row in ws.iter_rows()]
    return out


@pytest.fixture
def com_formulas(monkeypatch):
    """Let the remote engine answer Range.formula as Excel's COM does (from the payload's _formulas)."""
    from xlwings.pro import _xlremote

    def formula(self):
        grid = self.sheet.api.get("_formulas")
        if grid is None:
            raise NotImplementedError("no formulas in this payload")
        (r1, c1), (r2, c2) = self.arg1, self.arg2 or self.arg1
        rows = tuple(tuple(grid[r][c] if r < len(grid) and c < len(grid[r]) else ""
                           for c in range(c1 - 1, c2)) for r in range(r1 - 1, r2))
        return rows[0][0] if (r1, c1) == (r2, c2) else rows

    monkeypatch.setattr(_xlremote.Range, "formula", property(formula, _xlremote.Range.formula.fset))


def mock_book(payload: dict):
    import copy

    book = xw.Book(json=copy.deepcopy(payload))     # the engine edits its payload in place
    book.set_mock_caller()
    return book


def replay(book_names: list[str], actions: list[dict]) -> list[tuple[dict, str | None]]:
    """Each action with the name of the sheet it applies to (positions shift as sheets come and go)."""
    names = list(book_names)
    out = []
    for act in actions:
        pos = act["sheet_position"]
        if act["func"] == "addSheet":
            ix, name = act["args"]
            names.insert(ix, name)
            out.append((act, name))
            continue
        out.append((act, names[pos] if pos is not None else None))
        if act["func"] == "sheetDelete":
            names.pop(pos)
        elif act["func"] == "setSheetName":
            names[pos] = act["args"][0]
    return out


def cell_of(act: dict) -> str:
    return a1(act["start_row"], act["start_column"])


def cli_findings(path: Path, with_formulas: bool = True) -> list:
    from xltools.rules import check_report

    return check_report(read_workbook(path, with_formulas=with_formulas))


def key(f) -> tuple:
    return (f.rule, f.level, f.cell, f.message)


def expected_marks(findings) -> dict[str, str]:
    """The cells of the findings, by the worst level: a culprit (what a headline names; the cell of a
    failure nobody explains) in the level's colour, the other cells of a defect lighter."""
    worst: dict[str, str] = {}
    strong: set[str] = set()
    for f in findings:
        main = set(f.culprits) if f.culprits else (set() if f.cause else {f.cell})
        for c in (*main, *(f.cells or (f.cell,))):
            if "!" in c:
                lv = worst.get(c)
                if lv is None or ORDER[f.level] < ORDER[lv]:
                    worst[c] = f.level
                if c in main:
                    strong.add(c)
    return {c: (MARK_FILL if c in strong else LIGHT_FILL)[lv] for c, lv in worst.items()}


def table_sheets(path: Path) -> set[str]:
    from xltools.spec import load_set

    rep = read_workbook(path)
    tset = load_set(rep.set_id)
    return {td.sheet for td in rep.tables.values()} | {tset.tables[t].sheet_name() for t in rep.tables}


# ---------------------------------------------------------------- import cost

def test_import_is_light():
    """A click starts a new Python: importing the entry points must not import xlwings or the engine."""
    heavy = ["xlwings", "xltools.rules", "xltools.read.workbook", "xltools.spec", "xltools.narrative",
             "openpyxl", "python_calamine", "jinja2", "docx", "xltools.addin._book", "xltools.addin.xlam",
             "xltools.addin.install"]
    probe = f"import sys, xltools.addin as a; a.check; print([m for m in {heavy!r} if m in sys.modules])"
    res = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


# ---------------------------------------------------------------- the shared reader

def test_read_grids_is_what_read_workbook_uses(sample):
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(sample))
    names = wb.sheet_names
    # xlwings gives None for an empty cell where calamine gives "": the reader treats both alike
    grids = {s: [[None if v == "" else v for v in row] for row in _grid(wb, s)] for s in names}
    meta = meta_from(names, grids[META_SHEET])
    rep = read_grids(grids.__getitem__, names, meta, None, name=sample.name)
    ref = read_workbook(sample, with_formulas=False)
    assert (rep.set_id, rep.variant, rep.unit, rep.year) == (ref.set_id, ref.variant, ref.unit, ref.year)
    for tid, td in ref.tables.items():
        got = rep.tables[tid]
        assert list(got.rows) == list(td.rows)
        for k, row in td.rows.items():
            assert {c: (v.amount, v.source) for c, v in got.rows[k].values.items()} == \
                   {c: (v.amount, v.source) for c, v in row.values.items()}


def test_meta_from_recognises_by_sheet_titles_or_refuses(sample):
    from python_calamine import CalamineWorkbook

    names = [n for n in CalamineWorkbook.from_path(str(sample)).sheet_names if n != META_SHEET]
    meta = meta_from(names, None, "x.xlsx")
    assert meta["guessed"] == "1" and meta["set"] == "final_accounts"
    with pytest.raises(ReadError, match="不是 xltools 的公开表工作簿"):
        meta_from(["Sheet1", "数据"], None, "x.xlsx")
    # numbers typed into _xltools (a year as a number) read as their text
    assert meta_from([], [["year", 2022.0], ["unit", None]])["year"] == "2022"


def test_sheet_grid_keeps_the_used_range_offset():
    from xltools.addin._book import sheet_grid

    payload = {"client": "Office.js", "version": xw.__version__,
               "book": {"name": "b.xlsx", "active_sheet_index": 0, "selection": "A1"}, "names": [],
               "sheets": [{"name": "S", "values": [["", "", ""], ["", "", "x"], ["", "", 1.5]],
                           "used_range_address": "C2:C3", "pictures": [], "shapes": [], "charts": [],
                           "tables": [], "notes": [], "visibility": "Visible"}]}
    book = xw.Book(json=payload)
    grid = sheet_grid(book.sheets["S"])
    assert grid[1][2] == "x" and grid[2][2] == 1.5 and len(grid) == 3 and grid[0] == []


# ---------------------------------------------------------------- 校验

def test_check_gives_the_cli_findings_and_marks_their_cells(sample, com_formulas):
    import xltools.addin as addin

    payload = payload_from(sample, formulas=True)
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    findings = addin.check()
    cli = cli_findings(sample)
    assert cli, "the sample has known problems"
    assert sorted(map(key, findings)) == sorted(map(key, cli))
    assert any(f.rule == "F-01" for f in findings)          # formulas read (as COM gives them)

    acts = replay(names, book.json()["actions"])
    assert (acts[0][0]["func"], acts[0][0]["args"]) == ("addSheet", [0, "校验结果"])
    # the 校验结果 sheet: header + one row per finding, in the CLI's order
    blocks = [a for a, s in acts if s == "校验结果" and a["func"] == "setValues"]
    assert len(blocks) == 1 and cell_of(blocks[0]) == "A1"
    rows = blocks[0]["values"]
    assert rows[0] == ["级别", "规则", "表", "单元格", "说明", "应为", "实际", "差额"]
    # headlines by level, table and rule, each followed by its consequences (which name it)
    ordered = result_order(cli)
    heads = sorted((f for f in cli if not f.cause), key=lambda f: (ORDER[f.level], f.table, f.rule))
    assert [f for f in ordered if not f.cause] == heads
    for i, f in enumerate(ordered):
        if f.cause:
            assert any(f"{h.rule}@{h.cell}" == f.cause for h in ordered[:i] if not h.cause)
    assert [(r[1], r[3]) for r in rows[1:1 + len(cli)]] == [(f.rule, f.cell) for f in ordered]
    assert [r[4] for r in rows[1:1 + len(cli)]] == [f.message if not f.cause else f"└ {f.message}（由 {f.cause} 引起）"
                                                    for f in ordered]
    assert all(r[1] in (None, "") for r in rows[1 + len(cli):])       # nothing but remarks after them
    # a hyperlink per finding, in column D of its row, to its cell
    links = {(a["start_row"], a["start_column"]): a["args"] for a, s in acts if a["func"] == "addHyperlink"}
    assert all(s == "校验结果" for a, s in acts if a["func"] == "addHyperlink")
    for i, f in enumerate(ordered, start=1):
        sheet, ref = f.cell.rsplit("!", 1)
        assert links[(i, 3)][:2] == [f"#'{sheet}'!{ref}", f.cell]
    assert len(links) == len(ordered)
    # the flagged cells: exactly the cells of the findings, coloured by the worst level, with a note
    on_tables = [(a, s) for a, s in acts if s not in ("校验结果", META_SHEET)]
    colours = {f"{s}!{cell_of(a)}": a["args"][0] for a, s in on_tables if a["func"] == "setRangeColor"}
    assert colours == expected_marks(cli)
    noted = {f"{s}!{cell_of(a)}" for a, s in on_tables if a["func"] == "addNote"}
    assert noted == set(colours)
    note = next(a for a, s in on_tables if a["func"] == "addNote")
    assert note["args"][1].startswith("【xltools 校验】\n[")
    # never a value, a formula or a cleared cell on a sheet a user types into
    assert {a["func"] for a, _ in on_tables} <= ALLOWED_ON_TABLES
    assert all(a["row_count"] == a["column_count"] == 1 for a, _ in on_tables)
    # the original fills are remembered in _xltools (the engine cannot read fills: the builder's)
    meta = [a for a, s in acts if s == META_SHEET and a["func"] == "setValues"]
    assert len(meta) == 1 and cell_of(meta[0]) == "A1"
    marks = {r[0][5:]: r[1] for r in meta[0]["values"] if str(r[0]).startswith("mark:")}
    assert set(marks) == set(colours)
    assert set(marks.values()) <= {"FFF2CC", "EDEDED", ""}
    assert marks["支出决算表!D7"] == "EDEDED"                  # a total: grey formula cell
    kept = [r for r in meta[0]["values"] if not str(r[0]).startswith("mark:")]
    assert [r[:2] for r in kept] == [r[:2] for r in payload["sheets"][names.index(META_SHEET)]["values"]
                                     if r and r[0]]


def test_check_without_formulas_skips_f01_and_says_so(sample):
    import xltools.addin as addin

    payload = payload_from(sample)
    book = mock_book(payload)
    findings = addin.check()
    assert sorted(map(key, findings)) == sorted(map(key, cli_findings(sample, with_formulas=False)))
    full = cli_findings(sample)
    assert sorted(map(key, full)) == sorted(map(key, findings + [f for f in full if f.rule == "F-01"]))
    rows = next(a for a in book.json()["actions"] if a["func"] == "setValues")["values"]
    assert any("F-01" in str(r[4]) and "未能读取公式" in str(r[4]) for r in rows)


def test_second_run_restores_what_the_first_marked(sample, com_formulas, tmp_path):
    import xltools.addin as addin

    first = mock_book(payload_from(sample, formulas=True))
    addin.check()
    meta_rows = next(a["values"] for a, s in replay([s.name for s in first.sheets][1:], first.json()["actions"])
                     if s == META_SHEET and a["func"] == "setValues")
    marks = {r[0][5:]: r for r in meta_rows if str(r[0]).startswith("mark:")}
    noted = {}
    for cell, r in marks.items():
        if r[2] == "note":
            sheet, ref = cell.rsplit("!", 1)
            noted.setdefault(sheet, []).append(ref)
    # the workbook as Excel would send it next time: marks remembered, notes present, 校验结果 there
    payload = payload_from(sample, formulas=True, notes=noted, extra={"校验结果": [["级别"]]})
    meta_ix = [s["name"] for s in payload["sheets"]].index(META_SHEET)
    payload["sheets"][meta_ix]["values"] = _rect(meta_rows)
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    findings = addin.check()
    acts = replay(names, book.json()["actions"])
    n = len(marks)
    restore = acts[:2 * n]
    # first every mark undone: its remembered fill back and our note deleted
    got = {}
    for a, s in restore:
        got.setdefault(f"{s}!{cell_of(a)}", []).append((a["func"], a["args"]))
    assert set(got) == set(marks)
    for cell, r in marks.items():
        colour, note = got[cell]
        assert colour == ("setRangeColor", [f"#{r[1]}" if r[1] else None])
        assert note[0] == "deleteNote" and note[1][0].replace("$", "") == cell.rsplit("!")[1]
    # then the old 校验结果 replaced, and the same cells marked again with the same remembered fills
    assert [(a["func"], s) for a, s in acts[2 * n:2 * n + 2]] == [("sheetDelete", "校验结果"), ("addSheet", "校验结果")]
    meta2 = [a["values"] for a, s in acts if s == META_SHEET and a["func"] == "setValues"][-1]
    assert meta2 == meta_rows
    assert sorted(map(key, findings)) == sorted(map(key, cli_findings(sample)))


def test_check_restores_the_marks_of_check_write(sample, com_formulas, tmp_path):
    """A file marked by `xltools check --write` (openpyxl) and then checked in Excel: the CLI's
    remembered fills (ARGB) are put back before the add-in marks again."""
    import shutil

    import xltools.addin as addin
    from xltools.rules.report import write_findings

    path = tmp_path / "marked.xlsx"
    shutil.copy(sample, path)
    write_findings(path, cli_findings(path), keep_original=False)
    payload = payload_from(path, formulas=True)
    names = [s["name"] for s in payload["sheets"]]
    meta = payload["sheets"][names.index(META_SHEET)]["values"]
    cli_marks = {r[0][5:]: r[1] for r in meta if str(r[0]).startswith("mark:")}
    assert cli_marks
    book = mock_book(payload)
    findings = addin.check()
    acts = replay(names, book.json()["actions"])
    restored = {f"{s}!{cell_of(a)}": a["args"][0] for a, s in acts[:len(cli_marks)]}
    assert all(a["func"] == "setRangeColor" for a, _ in acts[:len(cli_marks)])
    assert restored == {c: (f"#{v[-6:]}" if v else None) for c, v in cli_marks.items()}
    assert sorted(map(key, findings)) == sorted(map(key, cli_findings(sample)))


def test_not_an_xltools_workbook_gives_a_chinese_message():
    import xltools.addin as addin

    payload = {"client": "Office.js", "version": xw.__version__,
               "book": {"name": "工资表.xlsx", "active_sheet_index": 0, "selection": "A1"}, "names": [],
               "sheets": [{"name": "Sheet1", "values": [["姓名", "工资"], ["张三", 5000]], "pictures": [],
                           "shapes": [], "charts": [], "tables": [], "notes": [], "visibility": "Visible"}]}
    book = mock_book(payload)
    for entry in (addin.check, addin.narrative, addin.export_word):
        assert entry() is None
    acts = book.json()["actions"]
    assert [a["func"] for a in acts] == ["alert"] * 3
    text, title, _, mode, _ = acts[0]["args"]
    assert "工资表.xlsx：不是 xltools 的公开表工作簿" in text and "新建模板" in text
    assert title == "xltools 公开表工具" and mode == "critical"
    assert "Traceback" not in text


def test_unexpected_error_is_logged_not_dumped(sample, monkeypatch, tmp_path):
    import xltools.addin as addin
    import xltools.rules

    def boom(report):
        raise RuntimeError("规则引擎故障")

    monkeypatch.setattr(xltools.rules, "check_report", boom)
    book = mock_book(payload_from(sample))
    assert addin.check() is None
    acts = book.json()["actions"]
    assert [a["func"] for a in acts] == ["alert"]
    text = acts[0]["args"][0]
    assert "xltools 运行出错：RuntimeError: 规则引擎故障" in text and "Traceback" not in text
    log = tmp_path / "home" / ".xltools" / "addin.log"
    assert "Traceback" in log.read_text(encoding="utf-8") and str(log) in text


def test_guessed_workbook_gets_a_hidden_meta_sheet_for_its_marks(sample):
    import xltools.addin as addin

    payload = payload_from(sample, drop=(META_SHEET,))
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    findings = addin.check()
    assert findings
    acts = replay(names, book.json()["actions"])
    added = [a["args"][1] for a, _ in acts if a["func"] == "addSheet"]
    assert sorted(added) == sorted(["校验结果", META_SHEET])
    assert ("setSheetVisibility", ["Hidden"]) in [(a["func"], a["args"]) for a, s in acts if s == META_SHEET]
    rows = next(a["values"] for a, s in acts if s == META_SHEET and a["func"] == "setValues")
    meta = {r[0]: r[1] for r in rows}
    assert meta["guessed"] == "1" and meta["variant"] == read_workbook(sample).variant
    assert any(str(k).startswith("mark:") for k in meta)


# ---------------------------------------------------------------- 情况说明 / Word

def _narrative_ready() -> bool:
    """The narrative package (written alongside) renders the sample."""
    try:
        from xltools.narrative import render

        render(read_workbook(SAMPLE))
        return True
    except (ImportError, AttributeError):
        return False


def _narrative_payload(sample, sheet_rows=None, digest=None):
    extra = {"情况说明": sheet_rows} if sheet_rows is not None else None
    payload = payload_from(sample, extra=extra)
    if digest is not None:
        meta = next(s for s in payload["sheets"] if s["name"] == META_SHEET)
        meta["values"] = _rect(meta["values"] + [["sheet:情况说明", digest]])
    return payload


def test_narrative_title_from_a_hostile_unit_name_is_text_not_a_formula(sample):
    """A unit named like a DDE formula: the add-in writes the title with Excel's text prefix (')."""
    import xltools.addin as addin

    if not _narrative_ready():
        pytest.skip("xltools.narrative 尚未能生成情况说明")
    dde = "=cmd|' /C calc'!A0"
    payload = _narrative_payload(sample)
    meta = next(s for s in payload["sheets"] if s["name"] == META_SHEET)
    meta["values"] = [[dde if r[0] == "unit" and i == 1 else v for i, v in enumerate(r)] for r in meta["values"]]
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    assert addin.narrative() == "情况说明"
    acts = replay(names, book.json()["actions"])
    block = next(a for a, s in acts if s == "情况说明" and a["func"] == "setValues")
    title = block["values"][0][0]
    assert title.startswith("'" + dde)
    assert not any(str(r[0]).startswith(("=", "+", "-", "@")) for r in block["values"])


def test_narrative_writes_the_rendered_paragraphs(sample):
    import xltools.addin as addin

    if not _narrative_ready():
        pytest.skip("xltools.narrative 尚未能生成情况说明")
    from xltools.narrative import render

    payload = _narrative_payload(sample)
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    assert addin.narrative() == "情况说明"
    nar = render(read_workbook(sample))
    acts = replay(names, book.json()["actions"])
    assert acts[0][0]["func"] == "addSheet" and acts[0][0]["args"][1] == "情况说明"
    block = next(a for a, s in acts if s == "情况说明" and a["func"] == "setValues")
    expected = [nar.title] + ["\u3000\u3000" + p.text for p in nar.paragraphs]
    assert [r[0] for r in block["values"]] == expected
    # values only on the new sheet and on _xltools (a digest of what was written)
    assert {s for a, s in acts if a["func"] == "setValues"} == {"情况说明", META_SHEET}
    meta = next(a["values"] for a, s in acts if s == META_SHEET and a["func"] == "setValues")
    digest = next(r[1] for r in meta if r[0] == "sheet:情况说明")
    alerts = [a["args"][0] for a, _ in acts if a["func"] == "alert"]
    if nar.missing:
        assert len(alerts) == 1 and f"还有 {len(nar.missing)} 项说明事项未填写" in alerts[0]

    # the next click replaces the sheet it wrote, as long as nobody edited it
    again = _narrative_payload(sample, [[t] for t in expected], digest)
    names = [s["name"] for s in again["sheets"]]
    book = mock_book(again)
    assert addin.narrative() == "情况说明"
    acts = replay(names, book.json()["actions"])
    assert [(a["func"], s) for a, s in acts[:2]] == [("sheetDelete", "情况说明"), ("addSheet", "情况说明")]
    assert not [a for a, _ in acts if a["func"] == "setSheetName"]


@pytest.mark.parametrize("case", ["edited", "hand_written"])
def test_narrative_never_loses_text_a_user_wrote(sample, case):
    import xltools.addin as addin

    if not _narrative_ready():
        pytest.skip("xltools.narrative 尚未能生成情况说明")
    from xltools.addin._book import _text_digest

    generated = [["标题"], ["\u3000\u3000一、收入支出决算总体情况说明"]]
    if case == "edited":       # generated by the add-in, then a reason typed in
        payload = _narrative_payload(sample, generated + [["主要原因是人员增加。"]],
                                     _text_digest(r[0] for r in generated))
    else:                      # a sheet of that name the add-in never wrote
        payload = _narrative_payload(sample, [["我自己写的说明"]])
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    assert addin.narrative() == "情况说明"
    acts = replay(names, book.json()["actions"])
    renamed = [(a["args"], s) for a, s in acts if a["func"] == "setSheetName"]
    assert renamed == [(["情况说明（原）"], "情况说明")]
    # nothing but the rename happened to the old sheet: no value, no delete
    assert [a["func"] for a, s in acts if s == "情况说明（原）"] == []
    assert [a["func"] for a, s in acts if s == "情况说明"][:2] == ["setSheetName", "addSheet"]
    assert not [a for a, _ in acts if a["func"] == "sheetDelete"]
    alerts = [a["args"][0] for a, _ in acts if a["func"] == "alert"]
    assert any("已改名为“情况说明（原）”保留" in t for t in alerts)


def test_export_word_writes_beside_the_chosen_folder(sample, tmp_path):
    import xltools.addin as addin

    if not _narrative_ready():
        pytest.skip("xltools.narrative 尚未能生成情况说明")
    out = tmp_path / "out"
    out.mkdir()
    payload = payload_from(sample, extra={"设置": [["设置", "值"], ["输出文件夹", str(out)]]})
    book = mock_book(payload)
    path = addin.export_word()
    acts = book.json()["actions"]
    if path is None:          # the Word writer (written alongside) is not there yet
        assert "不能导出 Word" in acts[-1]["args"][0]
        pytest.skip("xltools.narrative 尚未能导出 Word")
    assert path == out / "ningxia-sbj-2022-final-情况说明.docx" and path.is_file()
    assert [a["func"] for a in acts] == ["alert"] and str(path) in acts[0]["args"][0]
    import docx

    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "情况说明" in text


# ---------------------------------------------------------------- 新建模板 / 关于

def _blank_payload(extra_sheets: dict[str, list[list]] | None = None, name: str = "工作簿1") -> dict:
    sheets = [{"name": "Sheet1", "values": [[]], "pictures": [], "shapes": [], "charts": [], "tables": [],
               "notes": [], "visibility": "Visible"}]
    for n, rows in (extra_sheets or {}).items():
        sheets.append(_sheet(n, rows, None, None))
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": name, "active_sheet_index": 0, "selection": "A1"}, "names": [], "sheets": sheets}


def test_new_template_defaults_to_ningxia_in_documents(tmp_path):
    import xltools.addin as addin

    docs = tmp_path / "home" / "Documents"
    docs.mkdir()
    book = mock_book(_blank_payload())
    path = addin.new_template()
    assert path is not None and path.parent == docs and path.suffix == ".xlsx"
    rep = read_workbook(path)
    assert (rep.set_id, rep.variant) == ("final_accounts", "ningxia")
    acts = book.json()["actions"]
    assert [a["func"] for a in acts] == ["alert"] and str(path) in acts[0]["args"][0]
    # a second click never overwrites the first template
    assert addin.new_template() != path


def test_new_template_follows_the_settings_sheet(tmp_path):
    import xltools.addin as addin
    from xltools.spec import load_set

    variants = [v for v in load_set("final_accounts").variants if v != "ningxia"]
    if not variants:
        pytest.skip("只有一个版式")
    out = tmp_path / "模板"
    out.mkdir()
    rows = [["设置", "值"], ["报表集", "final_accounts"], ["版式", variants[0]], ["单位名称", "某某局"],
            ["年度", 2024.0], ["输出文件夹", str(out)]]
    mock_book(_blank_payload({"设置": rows}))
    path = addin.new_template()
    assert path.parent == out and path.name.startswith("某某局2024年度") and variants[0] in path.name
    rep = read_workbook(path)
    assert (rep.variant, rep.unit, rep.year) == (variants[0], "某某局", 2024)


def test_new_template_bad_choice_is_explained():
    import xltools.addin as addin

    book = mock_book(_blank_payload({"设置": [["版式", "火星"]]}))
    assert addin.new_template() is None
    (act,) = book.json()["actions"]
    assert act["func"] == "alert" and "“设置”页的选择无效" in act["args"][0]


def test_about_writes_the_settings_sheet_and_keeps_choices():
    import xltools
    import xltools.addin as addin

    book = mock_book(_blank_payload({"设置": [["设置", "值"], ["版式", "ningxia"], ["单位名称", "某某局"]]}))
    rows = dict(addin.about())
    assert rows["xltools 版本"] == xltools.__version__ and rows["Python 解释器"] == sys.executable
    assert rows["xlwings 引擎"] == "remote"
    acts = replay(["Sheet1", "设置"], book.json()["actions"])
    block = next(a for a, s in acts if s == "设置" and a["func"] == "setValues")
    vals = {r[0]: r[1] for r in block["values"] if r[0]}
    assert vals["单位名称"] == "某某局" and vals["报表集"] == "final_accounts"
    assert vals["xltools 版本"] == xltools.__version__
    assert not [a for a, s in acts if s == "Sheet1"]


def test_protection_is_lifted_and_put_back_on_windows(monkeypatch):
    """The COM calls _Unprotected makes, on stand-ins for Excel's Worksheet objects (Excel itself
    can only confirm that a password-less sheet then accepts notes)."""
    from types import SimpleNamespace

    from xltools.addin import _book

    calls = []

    class Api:
        def __init__(self, name, protected, password=False):
            self.name, self.ProtectContents, self.password = name, protected, password
            self.ProtectDrawingObjects, self.ProtectScenarios = True, True
            self.Protection = SimpleNamespace(**{a: a in ("AllowFormattingCells", "AllowInsertingRows")
                                                 for a in _book._Unprotected._ALLOW})

        def Unprotect(self):
            if self.password:
                raise RuntimeError("password")
            calls.append((self.name, "Unprotect"))

        def Protect(self, **kw):
            calls.append((self.name, "Protect", kw))

    sheets = [SimpleNamespace(api=Api("a", True)), SimpleNamespace(api=Api("b", False)),
              SimpleNamespace(api=Api("c", True, password=True))]
    monkeypatch.setattr(_book.sys, "platform", "win32")
    with _book._Unprotected(sheets):
        calls.append("work")
    assert calls[:2] == [("a", "Unprotect"), "work"]
    (name, what, kw), = calls[2:]
    assert (name, what) == ("a", "Protect")
    assert kw["Contents"] and kw["DrawingObjects"] and kw["AllowFormattingCells"] and kw["AllowInsertingRows"]
    assert not kw["AllowDeletingRows"]
    calls.clear()
    monkeypatch.setattr(_book.sys, "platform", "linux")
    with _book._Unprotected(sheets):
        pass
    assert calls == []


def test_about_leaves_a_users_own_sheet_named_settings_alone():
    import xltools.addin as addin

    book = mock_book(_blank_payload({"设置": [["打印份数", 3.0]]}))
    addin.about()
    acts = replay(["Sheet1", "设置"], book.json()["actions"])
    assert not [a for a, s in acts if s == "设置"]
    assert ("addSheet", "xltools设置") in [(a["func"], s) for a, s in acts]


def test_a_client_without_notes_still_gets_fills_links_and_the_result_sheet(sample):
    """Clients other than Office.js (Google Sheets, Office Scripts) cannot add notes: the cells are
    still filled and linked, and the remembered marks say that no note was added."""
    import xltools.addin as addin

    payload = payload_from(sample)
    payload["client"] = "Google Apps Script"
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    findings = addin.check()
    acts = replay(names, book.json()["actions"])
    funcs = [a["func"] for a, _ in acts]
    assert "addNote" not in funcs and "alert" not in funcs
    assert funcs.count("addHyperlink") == len(findings)
    colours = {f"{s}!{cell_of(a)}" for a, s in acts if a["func"] == "setRangeColor" and s not in ("校验结果",)}
    assert colours == set(expected_marks(findings))
    meta = next(a["values"] for a, s in acts if s == META_SHEET and a["func"] == "setValues")
    assert all(r[2] in ("", None) for r in meta if str(r[0]).startswith("mark:"))


def test_a_clean_workbook_gets_no_marks_and_old_marks_are_undone(tmp_path, com_formulas):
    """No findings: 校验结果 says so, nothing is marked, and the marks of an earlier run are undone."""
    import xltools.addin as addin
    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data

    path = tmp_path / "clean.xlsx"
    build_workbook(load_data(ROOT / "tests" / "data" / "clean-unit"), path)
    assert cli_findings(path) == []
    payload = payload_from(path, formulas=True, notes={"收入支出决算总表": ["$D$8"]})
    meta = next(s for s in payload["sheets"] if s["name"] == META_SHEET)
    meta["values"] = _rect(meta["values"] + [["mark:收入支出决算总表!D8", "FFF2CC", "note"]])
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    assert addin.check() == []
    acts = replay(names, book.json()["actions"])
    assert [(a["func"], s, cell_of(a)) for a, s in acts[:2]] == [
        ("setRangeColor", "收入支出决算总表", "D8"), ("deleteNote", "收入支出决算总表", "D8")]
    assert acts[0][0]["args"] == ["#FFF2CC"]
    rows = next(a["values"] for a, s in acts if s == "校验结果" and a["func"] == "setValues")
    assert rows[1][4] == "未发现问题。" and len(rows) == 2
    on_tables = [a["func"] for a, s in acts[2:] if s not in ("校验结果", META_SHEET)]
    assert on_tables == []
    meta_out = next(a["values"] for a, s in acts if s == META_SHEET and a["func"] == "setValues")
    assert not [r for r in meta_out if str(r[0]).startswith("mark:")]
    # the old, longer block of _xltools is cleared below the rows written now
    clears = [a for a, s in acts if s == META_SHEET and a["func"] == "rangeClearContents"]
    assert len(clears) == 1 and clears[0]["start_row"] == len(meta_out)


def test_export_word_writes_beside_a_file_open_in_word(sample, tmp_path, monkeypatch):
    import xltools.addin as addin
    import xltools.narrative

    if not _narrative_ready():
        pytest.skip("xltools.narrative 尚未能生成情况说明")
    written = []

    def write_docx(path, nar, report, full=False):
        if not written:
            written.append(None)
            raise PermissionError(13, "Permission denied", str(path))
        written.append(path)
        path.write_bytes(b"docx")
        return path

    monkeypatch.setattr(xltools.narrative, "write_docx", write_docx)
    out = tmp_path / "out"
    out.mkdir()
    (out / "ningxia-sbj-2022-final-情况说明.docx").write_bytes(b"open in Word")
    mock_book(payload_from(sample, extra={"设置": [["输出文件夹", str(out)]]}))
    path = addin.export_word()
    assert path == out / "ningxia-sbj-2022-final-情况说明（2）.docx" == written[-1]
    assert (out / "ningxia-sbj-2022-final-情况说明.docx").read_bytes() == b"open in Word"


def test_check_button_on_a_values_only_workbook_of_another_layout(sample, tmp_path):
    """The 校验 button on a unit's own workbook (values only, tables moved, sheets renamed): the same
    recognition as `xltools import`, findings marked at the cells where the values stand."""
    import xltools.addin as addin
    from tests.test_import import values_only_relaid
    from xltools.rules import check_report

    src = values_only_relaid(sample, tmp_path / "单位自制.xlsx")
    payload = payload_from(src)
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    findings = addin.check()
    expected = check_report(read_workbook(sample))
    errors = sorted(f.rule for f in findings if f.level == "error")
    assert errors == sorted(f.rule for f in expected if f.level == "error" and f.rule != "F-01")
    assert all(f.cell.startswith("Sheet") for f in findings if f.level == "error" and "!" in f.cell)
    acts = replay(names, book.json()["actions"])
    assert "校验结果" in [a["args"][1] for a, _ in acts if a["func"] == "addSheet"]


def test_narrative_button_on_a_values_only_workbook_of_another_layout(sample, tmp_path):
    """生成情况说明 on a unit's own workbook: the tables recognised, the same paragraphs as for ours."""
    import xltools.addin as addin
    from tests.test_import import values_only_relaid
    from xltools.narrative import render

    src = values_only_relaid(sample, tmp_path / "单位自制.xlsx")
    payload = payload_from(src)
    names = [s["name"] for s in payload["sheets"]]
    book = mock_book(payload)
    assert addin.narrative() == "情况说明"
    acts = replay(names, book.json()["actions"])
    block = next(a for a, s in acts if s == "情况说明" and a["func"] == "setValues")
    ours = read_workbook(sample)
    ours.notes = {}          # the re-laid-out copy has no 说明事项 sheet
    nar = render(ours)
    assert [r[0] for r in block["values"]][1:] == ["\u3000\u3000" + p.text for p in nar.paragraphs]


# ---------------------------------------------------------------- 插入科目行

F05_SHEET = "一般公共预算财政拨款支出决算表"


@pytest.fixture
def generated_book(tmp_path) -> Path:
    from xltools.cli import main

    path = tmp_path / "公开表.xlsx"
    assert main(["generate", str(ROOT / "tests" / "data" / "clean-unit"), "-o", str(path)]) == 0
    return path


def _on_sheet(path: Path, sheet: str) -> dict:
    """The payload of the saved workbook at ``path`` with ``sheet`` active; the book's full name is the
    path (what Excel's Workbook.FullName gives)."""
    payload = payload_from(path, name=str(path))
    payload["book"]["active_sheet_index"] = [s["name"] for s in payload["sheets"]].index(sheet)
    return payload


def test_insert_rows_is_rows_add_on_the_saved_file(generated_book):
    """插入科目行 runs `xltools rows add` on the caller book's file: the 科目 rows with their names and
    formulas, the 审核 sheet compiled again with rows for them, the first original kept."""
    import xltools.addin as addin
    from conftest import audit_rows
    from xltools.rules import check_report

    before = len(audit_rows(generated_book))
    book = mock_book(_on_sheet(generated_book, F05_SHEET))
    res = addin.insert_rows("2080102，2010601")
    assert res is not None and sorted(c for c, _ in res.added) == ["2010601", "2080102"]
    rep = read_workbook(generated_book)
    f05 = rep.tables["F05"]
    assert {"2080102", "2010601"} <= set(f05.rows) and f05.rows["2080102"].label == "一般行政管理事务"
    assert [f for f in check_report(rep) if f.level == "error"] == []
    rows = audit_rows(generated_book)
    assert len(rows) > before and res.audit_rows == len(rows)
    row = int(f05.rows["2080102"].source.rsplit("A", 1)[1])
    assert {"R-F05-01"} <= {r["rule"] for r in rows if r["cell"] == f"{F05_SHEET}!C{row}"}
    assert generated_book.with_name("公开表.bak.xlsx").is_file()
    # the remote engine cannot reopen the book: nothing is written into it, the message says what to do
    (act,) = book.json()["actions"]
    assert act["func"] == "alert" and f"已在“{F05_SHEET}”插入 2 行" in act["args"][0]
    assert "审核" in act["args"][0] and "重新打开" in act["args"][0]


@pytest.mark.parametrize("case", ["fixed table", "bad code", "no code", "not saved", "listed already"])
def test_insert_rows_refusals_are_chinese_messages_and_leave_the_file(generated_book, case):
    import xltools.addin as addin

    sheet, codes, name, says = {
        "fixed table": ("收入支出决算总表", "2080102", None, "不是可插入科目行的明细表"),
        "bad code": (F05_SHEET, "20801021", None, "位数不对"),
        "no code": (F05_SHEET, " , ", None, "请输入要插入的科目编码"),
        "not saved": (F05_SHEET, "2080102", "工作簿1", "请先把工作簿保存为 .xlsx 文件"),
        "listed already": (F05_SHEET, "2080101", None, "已有科目 2080101"),
    }[case]
    stat = generated_book.stat()
    payload = _on_sheet(generated_book, sheet)
    if name:
        payload["book"]["name"] = name
    book = mock_book(payload)
    assert addin.insert_rows(codes) is None
    (act,) = book.json()["actions"]
    assert act["func"] == "alert" and says in act["args"][0] and "Traceback" not in act["args"][0]
    assert generated_book.stat().st_mtime_ns == stat.st_mtime_ns
    assert not generated_book.with_name("公开表.bak.xlsx").exists()


def test_insert_rows_in_excel_saves_closes_edits_and_reopens(generated_book, monkeypatch):
    """In Excel the book is saved, closed (Excel locks its file), edited on disk, and opened again on the
    sheet with the first new row selected; the message goes to the reopened book."""
    import xltools.addin as addin
    import xltools.addin._book as bookmod

    calls = []
    monkeypatch.setattr(bookmod, "engine_name", lambda book: "excel")
    book = mock_book(_on_sheet(generated_book, F05_SHEET))
    real_close = type(book).close
    monkeypatch.setattr(type(book), "close", lambda self: (calls.append("close"), real_close(self))[1])
    reopened = {}

    real_open = xw.main.Books.open

    def open_(self, path=None, *a, json=None, **k):
        if json is not None:                  # xw.Book(json=…) makes its book through Books.open
            return real_open(self, json=json)
        calls.append(("open", path))
        reopened["book"] = xw.Book(json=payload_from(Path(path), name=str(path)))
        return reopened["book"]

    monkeypatch.setattr(xw.main.Books, "open", open_)
    monkeypatch.setattr(type(book), "save", lambda self, *a, **k: calls.append("save"))
    res = addin.insert_rows("2080102")
    assert res is not None and calls == ["save", "close", ("open", str(generated_book))], reopened
    acts = reopened["book"].json()["actions"]
    assert [a["func"] for a in acts][-1] == "alert" and "插入 1 行" in acts[-1]["args"][0]
    assert "重新打开" not in acts[-1]["args"][0]
    row = min(r for _, r in res.added)
    assert any(a["func"] == "activateSheet" for a in acts) and \
        any(a["func"] == "rangeSelect" and cell_of(a) == f"A{row}" for a in acts), acts
