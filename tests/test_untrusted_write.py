"""Untrusted workbooks, the writing side (issue 10): no template chosen by a received file, sandboxed
jinja2, no formula made from user text, safe file writes, and no value lost when xltools rewrites a
workbook (`check --write`, `narrative`).

Every hostile workbook is made from a published sample by editing its XML (zipfile), run through
``xltools.cli.main``, and judged on the exit code, the XML written and the values calamine reads
before and after.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from xltools.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "ningxia-sbj-2022-final"
BOOK = SAMPLE / "ningxia-sbj-2022-final.xlsx"
HYPER = '=HYPERLINK("http://x","点击")'
DDE = "=cmd|' /C calc'!A0"
F03 = "支出决算表"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# ---------------------------------------------------------------- building hostile workbooks

def _parts(path: Path) -> dict[str, str]:
    """Sheet name → its part in the zip (from workbook.xml and its relationships)."""
    from xml.etree import ElementTree as ET

    ns = {"m": MAIN_NS, "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", ns)}
    return {s.get("name"): (lambda t: t.lstrip("/") if t.startswith("/") else "xl/" + t)(target[s.get(rid)])
            for s in wb.findall("m:sheets/m:sheet", ns)}


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _edit(path: Path, edits: dict[str, object]) -> None:
    """Rewrite members of the zip: ``edits`` maps a member name (or ``sheet:<name>``) to a function
    of its text."""
    parts = _parts(path)
    edits = {(parts[k[6:]] if k.startswith("sheet:") else k): f for k, f in edits.items()}
    tmp = path.with_suffix(".edit")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in edits:
                data = edits[item.filename](data.decode("utf-8")).encode("utf-8")
            zout.writestr(item, data)
    tmp.replace(path)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _set_cell(ref: str, body: str):
    """Replace cell ``ref`` (keeping its style) by ``<c r=ref s=.. {body}``; body is attributes+content."""
    def edit(xml: str) -> str:
        pat = re.compile(r'<c r="%s"( s="[0-9]+")?[^>]*?(/>|>.*?</c>)' % ref, re.S)
        m = pat.search(xml)
        assert m, ref
        return xml[:m.start()] + f'<c r="{ref}"{m.group(1) or ""}{body}' + xml[m.end():]
    return edit


def text_cell(ref: str, text: str):
    return _set_cell(ref, f' t="inlineStr"><is><t>{_esc(text)}</t></is></c>')


def number_cell(ref: str, text: str, style: int | None = None):
    def edit(xml: str) -> str:
        xml = _set_cell(ref, f"><v>{text}</v></c>")(xml)
        if style is not None:
            xml = re.sub(r'<c r="%s"( s="[0-9]+")?' % ref, f'<c r="{ref}" s="{style}"', xml, count=1)
        return xml
    return edit


def add_date_style(xml: str) -> str:
    """styles.xml: one more cell format, built-in number format 14 (a date)."""
    m = re.search(r'<cellXfs count="([0-9]+)">', xml)
    n = int(m.group(1))
    xml = xml.replace(m.group(0), f'<cellXfs count="{n + 1}">')
    return xml.replace("</cellXfs>", '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" '
                                     'applyNumberFormat="1"/></cellXfs>'), n


def merge(ref: str):
    def edit(xml: str) -> str:
        m = re.search(r'<mergeCells count="([0-9]+)">', xml)
        xml = xml.replace(m.group(0), f'<mergeCells count="{int(m.group(1)) + 1}">')
        return xml.replace("</mergeCells>", f'<mergeCell ref="{ref}"/></mergeCells>')
    return edit


def chain(*fs):
    def edit(xml):
        for f in fs:
            xml = f(xml)
        return xml
    return edit


def hostile_copy(tmp_path: Path, name: str = "book.xlsx") -> Path:
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    p = d / name
    shutil.copy(BOOK, p)
    return p


def set_meta(path: Path, key: str, value: str) -> None:
    """Set the hidden _xltools row ``key`` to the inline string ``value`` (XML level)."""
    with zipfile.ZipFile(path) as z:
        sst = re.findall(r"<si><t[^>]*>(.*?)</t></si>", z.read("xl/sharedStrings.xml").decode(), re.S)
        xml = z.read(_parts(path)["_xltools"]).decode()
    idx = sst.index(key)
    m = re.search(r'<c r="A([0-9]+)"[^>]*t="s"[^>]*><v>%d</v></c>' % idx, xml)
    assert m, key
    _edit(path, {"sheet:_xltools": text_cell(f"B{m.group(1)}", value)})


def rename_sheet(path: Path, old: str, new: str) -> None:
    """Rename a table sheet (workbook.xml and the _xltools table: row)."""
    key = next(k for k, v in values(path)["_xltools"].items() if v == old and k[1] == 1)
    table_key = values(path)["_xltools"][(key[0], 0)]
    e = _esc(new)
    _edit(path, {"xl/workbook.xml": lambda x: x.replace(f'name="{old}"', f'name="{e}"')
              .replace(f"'{old}'!", f"'{e}'!").replace(f">{old}!", f">'{e}'!")})
    set_meta(path, table_key, new)


# ---------------------------------------------------------------- what the tests compare

def values(path: Path) -> dict[str, dict[tuple[int, int], object]]:
    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for meta in wb.sheets_metadata:
        sh = wb.get_sheet_by_name(meta.name)
        r0, c0 = sh.start if sh.start else (0, 0)
        out[meta.name] = {(r0 + i, c0 + j): v for i, row in enumerate(sh.to_python(skip_empty_area=True))
                          for j, v in enumerate(row) if v not in (None, "")}
    return out


def assert_values_kept(before: dict, path: Path, *, ours=("校验结果", "情况说明", "校验结果（xltools）",
                                                         "情况说明（xltools）")) -> dict:
    """Every cell of every original sheet reads the same after the rewrite (the _xltools sheet: every
    row but the marks xltools adds)."""
    after = values(path)
    for sheet, cells in before.items():
        if sheet in ours and sheet not in after:
            continue
        assert sheet in after, sheet
        if sheet == "_xltools":
            def rows(cs):
                keys = {r: v for (r, c), v in cs.items() if c == 0}
                return {(keys[r], cs.get((r, 1))) for r in keys if not str(keys[r]).startswith(("mark:", "own:"))}
            assert rows(after[sheet]) == rows(cells)
            continue
        if sheet in ours:
            continue
        diff = {k: (v, after[sheet].get(k)) for k, v in cells.items() if not _same(v, after[sheet].get(k))}
        extra = set(after[sheet]) - set(cells)
        assert not diff and not extra, (sheet, list(diff.items())[:5], sorted(extra)[:5])
    return after


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    return a == b or (isinstance(a, float) and a != a and b != b)       # NaN reads as NaN


def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {s: z.read(p).decode("utf-8") for s, p in _parts(path).items()}


def formulas_with(path: Path, needles=("HYPERLINK", "cmd|", "calc")) -> list[tuple[str, str]]:
    """Formula elements whose text holds user text (any namespace prefix)."""
    out = []
    for sheet, xml in sheet_xml(path).items():
        for f in re.findall(r"<(?:\w+:)?f\b[^>]*>(.*?)</(?:\w+:)?f>", xml, re.S):
            if any(n.lower() in f.lower() for n in needles):
                out.append((sheet, f))
    return out


def cell_xml(path: Path, sheet: str, ref: str) -> str:
    m = re.search(r'<c r="%s"[^>]*?(/>|>.*?</c>)' % ref, sheet_xml(path)[sheet], re.S)
    assert m, (sheet, ref)
    return m.group(0)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def string_cells_holding(path: Path, text: str) -> list[tuple[str, str, str]]:
    """(sheet, t attribute, position) of every cell whose value is the string ``text``; asserts none
    of them is a formula cell."""
    from xml.etree import ElementTree as ET

    with zipfile.ZipFile(path) as z:
        sst = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = ET.fromstring(z.read("xl/sharedStrings.xml"))
            sst = ["".join(t.text or "" for t in si.iter() if _local(t.tag) == "t") for si in root]
        found = []
        for sheet, part in _parts(path).items():
            for c in ET.fromstring(z.read(part)).iter():
                if _local(c.tag) != "c":
                    continue
                kids = {_local(k.tag): k for k in c}
                t = c.get("t", "n")
                if t == "s" and "v" in kids:
                    value = sst[int(kids["v"].text)]
                elif t == "inlineStr" and "is" in kids:
                    value = "".join(x.text or "" for x in kids["is"].iter() if _local(x.tag) == "t")
                elif t == "str" and "v" in kids:
                    value = kids["v"].text or ""
                else:
                    continue
                if value == text:
                    assert "f" not in kids, (sheet, c.get("r"), "a formula cell holds user text")
                    found.append((sheet, t, c.get("r")))
    return found


@pytest.fixture
def hostile(tmp_path):
    """The sample with: a formula-like text in an amount cell, a DDE unit name in _xltools, a huge
    amount in a date-formatted cell, a 17-digit amount, values hidden under merged cells (one of
    them text, so a finding points inside a merge)."""
    p = hostile_copy(tmp_path)
    with zipfile.ZipFile(p) as z:
        styles, date_style = add_date_style(z.read("xl/styles.xml").decode())
    _edit(p, {
        "xl/styles.xml": lambda _x: styles,
        f"sheet:{F03}": chain(
            text_cell("E8", HYPER),
            number_cell("F9", "2958466.25", style=date_style),     # past 9999-12-31 as a date
            number_cell("G9", "44927.123456789012", style=date_style),
            number_cell("E9", "0.30000000000000004"),             # 17 significant digits
            number_cell("F11", "12.5"), merge("E11:F11"),          # a number hidden by a merge
            text_cell("H10", "abc"), merge("G10:H10"),             # a finding inside a merge
        ),
    })
    set_meta(p, "unit", DDE)
    return p


# ---------------------------------------------------------------- 1. templates by set id only

def _evil_set(root: Path, marker: Path) -> Path:
    """A set folder whose narrative template would write ``marker`` if it ran unsandboxed."""
    evil = root / "evil"
    (evil / "narrative").mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "final_accounts" / "tables.yaml", evil / "tables.yaml")
    (evil / "narrative" / "01_x.j2").write_text(
        "{{ cycler.__init__.__globals__.os.system('touch %s') }}\n" % marker, encoding="utf-8")
    return evil


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_set_path_in_a_received_workbook_is_refused_and_runs_nothing(tmp_path, capsys, how):
    from xltools.spec import templates_dir

    marker = tmp_path / "pwned"
    evil = _evil_set(tmp_path / "outside", marker)
    book = hostile_copy(tmp_path)
    value = os.path.relpath(evil, templates_dir()) if how == "relative" else str(evil)
    assert value.startswith("..") or value.startswith("/")
    set_meta(book, "set", value)
    original = book.read_bytes()
    for argv in (["narrative", str(book)], ["check", str(book), "--write"], ["check", str(book)]):
        assert main(argv) == 2
        got = capsys.readouterr()
        assert "报表集" in got.out + got.err and "Traceback" not in got.out + got.err
    assert not marker.exists()
    assert book.read_bytes() == original
    assert sorted(p.name for p in book.parent.iterdir()) == [book.name]     # nothing written beside it


def test_set_path_in_meta_yaml_is_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = _evil_set(tmp_path / "outside", marker)
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data, ignore=shutil.ignore_patterns("*.xlsx", "published"))
    meta = (data / "meta.yaml").read_text(encoding="utf-8").replace("set: final_accounts", f"set: {evil}")
    (data / "meta.yaml").write_text(meta, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["generate", str(data), "-o", str(out)]) == 2
    assert "报表集" in capsys.readouterr().err
    assert not marker.exists() and not (out / "data.xlsx").exists()


def test_narrative_variant_that_is_a_path_is_refused(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    original = book.read_bytes()
    assert main(["narrative", str(book), "--variant", "../../budget/narrative"]) == 2
    assert "版式" in capsys.readouterr().err
    assert book.read_bytes() == original


def test_jinja2_is_sandboxed(tmp_path):
    from jinja2.sandbox import SecurityError

    from xltools.narrative.engine import _environment

    marker = tmp_path / "pwned"
    d = tmp_path / "tpl"
    d.mkdir()
    (d / "x.j2").write_text("{{ cycler.__init__.__globals__.os.system('touch %s') }}" % marker, encoding="utf-8")
    (d / "y.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    env = _environment((str(d),))
    for name in ("x.j2", "y.j2"):
        with pytest.raises(SecurityError):
            env.get_template(name).render({"cycler": __import__("jinja2").utils.Cycler(1)})
    assert not marker.exists()


# ---------------------------------------------------------------- 2. no formula from user text

@pytest.mark.filterwarnings("ignore:Cell F9 is marked as a date")     # the test's own openpyxl read
def test_check_write_keeps_user_text_as_strings_and_every_value(hostile, capsys):
    before = values(hostile)
    assert formulas_with(hostile) == []
    assert main(["check", str(hostile), "--write"]) == 1
    capsys.readouterr()
    assert formulas_with(hostile) == []
    after = assert_values_kept(before, hostile)
    # the findings quote the text: strings in 校验结果; the unit stays a string in _xltools
    hyper = string_cells_holding(hostile, HYPER)
    assert (F03, "inlineStr", "E8") in hyper
    assert any(HYPER in str(v) for v in after["校验结果"].values())
    assert [t for s, t, _ in string_cells_holding(hostile, DDE) if s == "_xltools"] == ["inlineStr"]
    # the finding inside the merged G10:H10 marks G10 (its top-left cell); H10 keeps its text
    import openpyxl
    wb = openpyxl.load_workbook(hostile)
    assert wb[F03]["G10"].fill.fgColor.rgb.endswith("FFC7CE") or wb[F03]["G10"].comment is not None
    assert after[F03][(9, 7)] == "abc" and after[F03][(10, 5)] == 12.5
    # exact numbers: the 17-digit amount, the huge and the precise date-formatted amounts
    assert after[F03][(8, 4)] == 0.30000000000000004
    assert '<v>2958466.25</v>' in cell_xml(hostile, F03, "F9")
    assert '<v>44927.123456789012</v>' in cell_xml(hostile, F03, "G9") or \
        float(re.search(r"<v>(.*?)</v>", cell_xml(hostile, F03, "G9")).group(1)) == 44927.123456789012
    # a second run (fills remembered in _xltools are put back, our own sheet replaced): still intact
    assert main(["check", str(hostile), "--write"]) == 1
    assert_values_kept(before, hostile)
    assert formulas_with(hostile) == []
    assert sum(n.startswith("校验结果") for n in values(hostile)) == 1


def test_narrative_keeps_user_text_as_strings_and_every_value(hostile, capsys):
    before = values(hostile)
    assert main(["narrative", str(hostile), "--force"]) == 1   # the book has check errors (issue 14: --force, exit 1)
    capsys.readouterr()
    assert formulas_with(hostile) == []
    after = assert_values_kept(before, hostile)
    assert after[F03][(9, 7)] == "abc" and after[F03][(10, 5)] == 12.5     # under merged cells
    assert after["情况说明"][(0, 0)].startswith("注意：本工作簿有")       # check errors: a red line above
    title = after["情况说明"][(1, 0)]
    assert title.startswith(DDE)
    assert [(s, t) for s, t, _ in string_cells_holding(hostile, title)] == [("情况说明", "inlineStr")]
    docx = hostile.with_name("book-情况说明.docx")
    assert docx.is_file()


ODD_SHEET = "=SUM(9,9)"          # a legal sheet name that reads as a formula


def test_folder_summary_writes_names_and_messages_as_strings(hostile, tmp_path, capsys):
    folder = hostile.parent
    odd = folder / "=HYPERLINK(1).xlsx"
    shutil.copy(hostile, odd)
    rename_sheet(odd, F03, ODD_SHEET)
    assert main(["check", str(folder)]) == 1
    capsys.readouterr()
    summary = folder / "校验汇总.xlsx"
    xml = sheet_xml(summary)
    assert not any(re.search(r"<(?:\w+:)?f\b", x) for x in xml.values())     # the summary has no formulas
    assert string_cells_holding(summary, str(odd))
    cells = [v for v in values(summary)["全部问题"].values()]
    assert any(HYPER in str(v) for v in cells)
    assert f"{ODD_SHEET}!E8" in cells                          # a cell address on the odd sheet, as text


def test_check_write_on_a_sheet_named_like_a_formula(hostile, capsys):
    rename_sheet(hostile, F03, ODD_SHEET)
    before = values(hostile)
    assert main(["check", str(hostile), "--write"]) == 1
    capsys.readouterr()
    assert formulas_with(hostile, ("SUM(9,9)", "HYPERLINK", "cmd|")) == []
    assert ("校验结果", "inlineStr") in {(s, t) for s, t, _ in string_cells_holding(hostile, f"{ODD_SHEET}!E8")}
    assert_values_kept(before, hostile)


def test_bulk_generate_and_merge_write_a_dde_unit_name_as_text(tmp_path, capsys):
    units = tmp_path / "单位清单.csv"
    units.write_text(f"单位名称,单位编码,年度\n\"{DDE}\",001,2024\n@SUM(1+1),002,2024\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["generate", "--units", str(units), "-o", str(out), "--jobs", "1"]) == 0
    books = sorted(out.glob("*.xlsx"))
    assert len(books) == 2
    for b in books:
        assert formulas_with(b, ("cmd|", "calc", "SUM(1+1)")) == []
    assert any(string_cells_holding(b, DDE) for b in books)
    merged = tmp_path / "汇总.xlsx"
    assert main(["merge", *map(str, books), "-o", str(merged), "--unit", "+1+1", "--jobs", "1"]) in (0, 1)
    capsys.readouterr()
    assert formulas_with(merged, ("cmd|", "calc", "SUM(1+1)", "+1+1")) == []
    assert string_cells_holding(merged, DDE) and string_cells_holding(merged, "@SUM(1+1)")
    # the first check --write of a unit's workbook rewrites _xltools: the name stays text
    book = next(b for b in books if string_cells_holding(b, DDE))
    assert main(["check", str(book), "--write"]) in (0, 1)
    assert main(["narrative", str(book), "--no-docx"]) == 0
    capsys.readouterr()
    assert formulas_with(book, ("cmd|", "calc")) == []
    assert {"_xltools", "情况说明"} <= {s for s, _, _ in string_cells_holding(book, DDE)} | \
        {s for s, _, _ in string_cells_holding(book, f"{DDE}2024年度部门决算情况说明")}


def test_csv_fields_are_neutralized():
    from xltools.safeio import csv_safe

    assert [csv_safe(x) for x in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x", "正常", "", None)] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\t=x", "'\r=x", "正常", "", ""]


# ---------------------------------------------------------------- 3. safe writes

def test_symlinked_backup_is_refused_everywhere(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    os.symlink(victim, book.with_name("book.bak.xlsx"))
    original = book.read_bytes()
    assert main(["check", str(book), "--write"]) == 2
    assert "符号链接" in capsys.readouterr().err
    assert main(["narrative", str(book), "--no-docx"]) == 2
    assert "符号链接" in capsys.readouterr().err
    assert book.read_bytes() == original and victim.read_text(encoding="utf-8") == "keep me"
    # generate -o / new -o onto an existing workbook whose .bak is a symlink
    out = tmp_path / "gen.xlsx"
    shutil.copy(BOOK, out)
    os.symlink(victim, tmp_path / "gen.bak.xlsx")
    assert main(["generate", str(SAMPLE), "-o", str(out)]) == 2
    assert main(["new", "--variant", "ningxia", "-o", str(out)]) == 2
    assert "符号链接" in capsys.readouterr().err
    assert out.read_bytes() == BOOK.read_bytes() and victim.read_text(encoding="utf-8") == "keep me"
    # a second check of a folder: the summary's .bak is a symlink
    folder = book.parent
    book.with_name("book.bak.xlsx").unlink()
    assert main(["check", str(folder)]) == 1
    os.symlink(victim, folder / "校验汇总.bak.xlsx")
    assert main(["check", str(folder)]) == 2
    assert "符号链接" in capsys.readouterr().err
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_symlinked_or_special_targets_are_refused(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    link = tmp_path / "link.xlsx"
    os.symlink(book, link)
    original = book.read_bytes()
    assert main(["check", str(link), "--write"]) == 2
    assert main(["narrative", str(link), "--no-docx"]) == 2
    assert book.read_bytes() == original
    fifo = tmp_path / "fifo.xlsx"
    os.mkfifo(fifo)
    assert main(["generate", str(SAMPLE), "-o", str(fifo)]) == 2
    assert main(["new", "--variant", "ningxia", "-o", str(fifo)]) == 2
    assert main(["merge", str(BOOK), "-o", str(fifo), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("管道") == 3 and "Traceback" not in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert main(["new", "--variant", "ningxia", "-o", "/dev/null"]) == 2
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    docx_fifo = tmp_path / "n.docx"
    os.mkfifo(docx_fifo)
    assert main(["narrative", str(book), "-o", str(docx_fifo), "--force"]) == 2
    assert stat.S_ISFIFO(os.lstat(docx_fifo).st_mode)


def test_first_original_is_kept_and_permissions_follow(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    original = book.read_bytes()
    os.chmod(book, 0o640)
    assert main(["check", str(book), "--write"]) == 1
    assert main(["narrative", str(book), "--no-docx", "--force"]) == 1   # the book has check errors (issue 14: --force, exit 1)
    assert main(["check", str(book), "--write"]) == 1
    bak = book.with_name("book.bak.xlsx")
    assert bak.read_bytes() == original                      # the first original, not a later rewrite
    assert stat.S_IMODE(os.stat(book).st_mode) == 0o640
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []
    old = os.umask(0o002)
    try:
        out = tmp_path / "new.xlsx"
        assert main(["new", "--variant", "ningxia", "-o", str(out)]) == 0
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o664   # the umask, not 0600
    finally:
        os.umask(old)
    capsys.readouterr()


def test_read_only_workbook_is_not_rewritten(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    os.chmod(book, 0o444)
    original = book.read_bytes()
    assert main(["check", str(book), "--write"]) == 2
    assert "只读" in capsys.readouterr().err
    assert main(["narrative", str(book), "--no-docx"]) == 2
    assert "只读" in capsys.readouterr().err
    assert book.read_bytes() == original and not book.with_name("book.bak.xlsx").exists()


@pytest.mark.parametrize("command", [["check", "--write"], ["narrative", "--no-docx"]])
def test_a_save_made_meanwhile_is_not_overwritten(tmp_path, capsys, monkeypatch, command):
    import xltools.rewrite as rw

    book = hostile_copy(tmp_path)
    saved = BOOK.read_bytes() + b"\0"            # what the user saved in Excel while we worked
    real = rw.compare_values

    def meanwhile(*a, **kw):
        book.write_bytes(saved)
        return real(*a, **kw)
    monkeypatch.setattr(rw, "compare_values", meanwhile)
    assert main([command[0], str(book), *command[1:]]) == 2
    assert "被修改" in capsys.readouterr().err
    assert book.read_bytes() == saved


def test_users_own_result_and_narrative_sheets_are_never_replaced(tmp_path, capsys):
    import openpyxl

    book = hostile_copy(tmp_path)
    # a user's own sheets named 校验结果 and 情况说明 (added at XML level: openpyxl keeps everything else)
    wb = openpyxl.load_workbook(book)
    for name in ("校验结果", "情况说明"):
        ws = wb.create_sheet(name)
        ws["A1"], ws["B2"] = "我自己的表", 12345.678
    tmp = tmp_path / "own.xlsx"
    wb.save(tmp)
    from xltools.rewrite import raw_formula_values, restore_raw
    restore_raw(tmp, raw_formula_values(book))     # as xltools does: openpyxl dropped the cached values
    shutil.copy(tmp, book)
    before = values(book)
    for _ in range(2):
        assert main(["check", str(book), "--write"]) == 1
        assert main(["narrative", str(book), "--no-docx", "--force"]) == 1   # the book has check errors (issue 14: --force, exit 1)
    capsys.readouterr()
    after = values(book)
    for name in ("校验结果", "情况说明"):
        assert after[name] == before[name]
        assert f"{name}（xltools）" in after
    assert sorted(n for n in after if "（xltools）" in n) == ["情况说明（xltools）", "校验结果（xltools）"]
    assert after["校验结果（xltools）"][(0, 0)] == "级别"
    assert_values_kept(before, book, ours=("校验结果（xltools）", "情况说明（xltools）"))


# ---------------------------------------------------------------- 4. no lost numbers

def _reorder_attrs(xml: str) -> str:
    return re.sub(r'<c r="([A-Z]+[0-9]+)"((?: [a-z]+="[^"]*")*)', lambda m: f"<c{m.group(2)} r=\"{m.group(1)}\"", xml)


def _prefix(xml: str) -> str:
    xml = xml.replace(f'xmlns="{MAIN_NS}"', f'xmlns:x="{MAIN_NS}"')
    return re.sub(r"<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])", r"<\1x:\2", xml)


def _no_r(xml: str) -> str:
    """Drop r= from rows and cells where the position follows from the previous one (valid XML)."""
    def row(m):
        cells, col = [], 0
        for c in re.finditer(r'<c r="([A-Z]+)([0-9]+)"', m.group(0)):
            n = _col_number(c.group(1))
            cells.append((c.group(0), n == col + 1))
            col = n
        text = m.group(0)
        for tag, drop in cells:
            if drop:
                text = text.replace(tag, "<c", 1)
        return text
    xml = re.sub(r"<row [^>]*>.*?</row>", row, xml, flags=re.S)
    rows = re.findall(r'<row r="([0-9]+)"', xml)
    prev = 0
    for r in rows:
        if int(r) == prev + 1:
            xml = xml.replace(f'<row r="{r}"', "<row", 1)
        prev = int(r)
    return xml


@pytest.mark.parametrize("shape", [_reorder_attrs, _prefix, _no_r, lambda x: _prefix(_no_r(_reorder_attrs(x)))],
                         ids=["attribute-order", "x-prefix", "no-r", "all-three"])
def test_cached_values_survive_unusual_sheet_xml(tmp_path, capsys, shape):
    book = hostile_copy(tmp_path)
    before_plain = values(book)
    _edit(book, {f"sheet:{s}": shape for s in ("收入支出决算总表", F03)})
    before = values(book)
    assert before[F03] == before_plain[F03]          # the edit is valid: calamine reads the same
    formula_cells = re.findall(r"<(?:x:)?f>", sheet_xml(book)[F03])
    assert formula_cells
    assert main(["check", str(book), "--write"]) == 1
    assert main(["narrative", str(book), "--no-docx", "--force"]) == 1   # the book has check errors (issue 14: --force, exit 1)
    capsys.readouterr()
    assert_values_kept(before, book)


def test_nan_text_and_huge_number_cells_are_kept_or_refused(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    _edit(book, {f"sheet:{F03}": chain(number_cell("F12", "NaN"), number_cell("G12", "1" + "0" * 400))})
    original = book.read_bytes()
    try:
        before = values(book)
    except Exception:                # the reader cannot read it: the command must say so, not crash
        before = None
    code = main(["check", str(book), "--write"])
    err = capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err
    if code == 2:
        assert book.read_bytes() == original
    else:
        assert_values_kept(before, book)


def test_hostile_mark_rows_in_xltools_do_not_crash(tmp_path, capsys):
    book = hostile_copy(tmp_path)
    _edit(book, {"sheet:_xltools": lambda x: x.replace(
        "</sheetData>",
        '<row r="90"><c r="A90" t="inlineStr"><is><t>mark:支出决算表!ZZZZ0</t></is></c>'
        '<c r="B90" t="inlineStr"><is><t>not-a-colour</t></is></c></row>'
        '<row r="91"><c r="A91" t="inlineStr"><is><t>mark:不存在!A1</t></is></c></row>'
        '<row r="92"><c r="A92" t="inlineStr"><is><t>mark:支出决算表!C8</t></is></c>'
        '<c r="B92" t="inlineStr"><is><t>=1+1</t></is></c></row></sheetData>')})
    before = values(book)
    assert main(["check", str(book), "--write"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert formulas_with(book, ("1+1",)) == []
    assert_values_kept({k: v for k, v in before.items() if k != "_xltools"}, book)


def test_os_errors_name_the_target_in_chinese(tmp_path, capsys, monkeypatch):
    long = tmp_path / ("长" * 120 + ".xlsx")                 # 362 bytes: longer than NAME_MAX
    assert main(["new", "--variant", "ningxia", "-o", str(long)]) == 2
    err = capsys.readouterr().err
    assert "文件名太长" in err and ".tmp" not in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == []          # no temporary file left behind

    import xltools.safeio as safeio

    book = hostile_copy(tmp_path)
    original = book.read_bytes()

    def denied(src, dst):
        raise PermissionError(13, "Permission denied", str(src))
    monkeypatch.setattr(safeio.os, "replace", denied)
    assert main(["check", str(book), "--write"]) == 2
    err = capsys.readouterr().err
    assert "没有写入权限" in err and str(book) in err and ".tmp" not in err
    assert book.read_bytes() == original
    assert not [p.name for p in book.parent.iterdir() if p.name.endswith(".tmp")]    # no temporary file left


def test_control_characters_quoted_in_messages_do_not_crash(tmp_path, capsys):
    """A cell and a unit name holding control characters (Excel's _x0001_ escape): the cell keeps its
    value; the messages and the narrative quoting them show the characters as pictures (U+2400…)."""
    book = hostile_copy(tmp_path)
    _edit(book, {f"sheet:{F03}": text_cell("E8", "a_x0001_b")})
    set_meta(book, "unit", "单位_x0007_名")
    before = values(book)
    assert main(["check", str(book), "--write"]) == 1
    assert main(["narrative", str(book), "--force"]) == 1   # the book has check errors (issue 14: --force, exit 1)
    assert "Traceback" not in capsys.readouterr().err
    after = assert_values_kept(before, book)
    assert after[F03][(7, 4)] == "a\x01b"
    assert any("a\u2401b" in str(v) for v in after["校验结果"].values())
    assert after["情况说明"][(0, 0)].startswith("注意：本工作簿有")        # the check errors, in red above
    assert after["情况说明"][(1, 0)].startswith("单位\u2407名")
