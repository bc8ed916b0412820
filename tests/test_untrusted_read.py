"""Reading untrusted input (issue 10): the guard's limits and messages, the CLI's exit codes and crash log.

The end-to-end cases (every command on every hostile file, in a child process) are in test_fuzz.py;
these tests pin the behaviour of the pieces in-process.
"""
from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

import fuzzcorpus as fc
from xltools.cli import main
from xltools.read import guard
from xltools.read.datafile import DataError, load_data
from xltools.read.workbook import ReadError, read_workbook

SAMPLE = fc.SAMPLE_XLSX


# ---------------------------------------------------------------- YAML

def test_yaml_alias_bomb_is_refused_fast(tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    p = tmp_path / "notes.yaml"
    p.write_text(bomb, encoding="utf-8")
    assert len(bomb.encode()) < 2000      # the 1.7 KB bomb (9⁹ ≈ 387 million leaves)
    t0 = time.perf_counter()
    with pytest.raises(guard.InputError, match="别名炸弹") as e:
        guard.load_yaml(p)
    assert str(p) in str(e.value)
    assert time.perf_counter() - t0 < 5     # generous: it is milliseconds (see benchmarks)


def test_yaml_shared_aliases_within_limits_still_load(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("base: &b {unit: 元, digits: 2}\nF01: *b\nF02: *b\nF03: {<<: *b, digits: 0}\n", encoding="utf-8")
    assert guard.load_yaml(p) == {"base": {"unit": "元", "digits": 2}, "F01": {"unit": "元", "digits": 2},
                                  "F02": {"unit": "元", "digits": 2}, "F03": {"unit": "元", "digits": 0}}


@pytest.mark.parametrize("text, match", [
    ("x: !!python/object/apply:os.system ['true']\n", "不允许的标签"),
    ("r: &r [*r]\n", "递归"),
    ("d: " + "[" * 200 + "]" * 200 + "\n", "嵌套"),
    ("a: [1, 2\n", "YAML 格式错误"),
])
def test_yaml_refusals(tmp_path, text, match):
    p = tmp_path / "meta.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(guard.InputError, match=match):
        guard.load_yaml(p)


@pytest.mark.parametrize("line, match", [
    ("year: 2022-12-31", "“year”应为四位年份.*日期"),
    ("year: [2022]", "“year”应为四位年份.*列表"),
    ("year: null", "缺少“year”"),
    ("year: 99999", "“year”应为四位年份"),
    ("year: '2022'", None),
])
def test_meta_year_types(tmp_path, line, match):
    d = tmp_path / "data"
    d.mkdir()
    for f in fc.SAMPLE_DIR.iterdir():
        if f.suffix in (".csv", ".yaml"):
            (d / f.name).write_bytes(f.read_bytes())
    meta = (d / "meta.yaml").read_text(encoding="utf-8").replace("year: 2022", line)
    (d / "meta.yaml").write_text(meta, encoding="utf-8")
    if match is None:
        assert load_data(d).year == 2022
    else:
        with pytest.raises(DataError, match=match) as e:
            load_data(d)
        assert "meta.yaml" in str(e.value)


@pytest.mark.parametrize("text, kind", [("- 1\n- 2\n", "列表"), ("null\n", None), ("42\n", "数字")])
def test_meta_must_be_a_mapping(tmp_path, text, kind):
    d = tmp_path / "data"
    d.mkdir()
    (d / "meta.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=kind or "缺少“set”"):
        load_data(d)


# ---------------------------------------------------------------- files and encodings

def test_not_regular_files_are_refused_before_open(tmp_path):
    fifo = tmp_path / "F01.csv"
    os.mkfifo(fifo)
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    for p in (fifo, link):
        t0 = time.perf_counter()
        with pytest.raises(guard.InputError, match="不是普通文件"):
            guard.read_bytes(p)
        assert time.perf_counter() - t0 < 5     # no blocking open of the FIFO
    with pytest.raises(guard.InputError, match="是文件夹"):
        guard.read_bytes(tmp_path)


def test_size_cap(tmp_path):
    p = tmp_path / "big.csv"
    p.write_bytes(b"x" * 1001)
    with pytest.raises(guard.InputError, match="太大"):
        guard.read_bytes(p, limit=1000)
    assert guard.read_bytes(p, limit=1001) == b"x" * 1001


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-be"])
def test_encodings_read(enc):
    text = "key,name,amount\ngpb,一般公共预算财政拨款收入,\"157,647,304.72\"\n"
    data = text.encode(enc)
    if enc == "utf-16-be":
        data = b"\xfe\xff" + data
    assert guard.decode_text(data, "F01.csv") == text


@pytest.mark.parametrize("data, line", [
    ("key,name\nx,一\n".encode("utf-16-le"), 1),               # UTF-16 without a BOM: NUL bytes
    (b"key,name\nx,1\n\x80\x80,2\n", 3),                        # bytes that are neither UTF-8 nor GB18030
    (b"key,name\nx,\x00\n", 2),
])
def test_other_encodings_refused_naming_the_line(data, line):
    with pytest.raises(guard.InputError, match=f"F01.csv 第 {line} 行"):
        guard.decode_text(data, "F01.csv")


def test_gbk_data_folder_generates_the_same_report(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for f in fc.SAMPLE_DIR.iterdir():
        if f.suffix in (".csv", ".yaml"):
            data = f.read_bytes()
            if f.suffix == ".csv":
                data = data.decode("utf-8").encode("gbk")
            (d / f.name).write_bytes(data)
    a, b = load_data(fc.SAMPLE_DIR), load_data(d)
    assert {t: {k: {c: v.amount for c, v in r.values.items()} for k, r in td.rows.items()}
            for t, td in a.tables.items()} == \
           {t: {k: {c: v.amount for c, v in r.values.items()} for k, r in td.rows.items()}
            for t, td in b.tables.items()}


# ---------------------------------------------------------------- workbooks

def test_sample_workbooks_pass_the_precheck():
    for p in sorted((fc.ROOT / "samples").glob("*/*.xlsx")):
        guard.check_workbook(p)


def test_far_cell_refused_before_calamine_naming_sheet_and_cell(tmp_path):
    c = fc.parts()
    c[fc.DATA_SHEET] = fc.add_row(c[fc.DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    p = fc.write_zip(tmp_path / "far.xlsx", c)
    with pytest.raises(ReadError) as e:
        read_workbook(p)
    msg = str(e.value)
    assert msg.startswith("far.xlsx：工作表“收入决算表”") and "XFD1048576" in msg and str(guard.MAX_ROWS) in msg


def test_empty_far_row_and_cell_are_not_refused(tmp_path):
    """LibreOffice writes an empty <row r="1048576"> (and a dimension to it) after a row deletion; a
    styled cell without a value there costs calamine nothing."""
    c = fc.parts()
    c[fc.DATA_SHEET] = fc.add_row(c[fc.DATA_SHEET], b'<row r="1048575" ht="12.8"></row>'
                                                    b'<row r="1048576"><c r="XFD1048576" s="1"/></row>')
    c[fc.DATA_SHEET] = c[fc.DATA_SHEET].replace(b'<dimension ref="A1:J21"/>', b'<dimension ref="A1:XFD1048576"/>')
    p = fc.write_zip(tmp_path / "lo.xlsx", c)
    rep = read_workbook(p)
    assert rep.tables["F02"].get("2210201", "fiscal").amount == read_workbook(SAMPLE).tables["F02"].get(
        "2210201", "fiscal").amount


def test_cells_without_r_are_counted(tmp_path):
    c = fc.parts()
    row = b'<row r="40">' + b"<c><v>1</v></c>" * (guard.MAX_COLS + 1) + b"</row>"
    c[fc.META_SHEET] = fc.add_row(c[fc.META_SHEET], row)
    p = fc.write_zip(tmp_path / "wide.xlsx", c)
    with pytest.raises(ReadError, match="“_xltools”"):
        read_workbook(p)


def test_prefixed_xml_is_scanned(tmp_path):
    c = fc.parts()
    c[fc.META_SHEET] = fc.add_row(c[fc.META_SHEET], b'<x:row r="200000"><x:c s="0" r="B200000"><x:v>1</x:v>'
                                                    b"</x:c></x:row>")
    p = fc.write_zip(tmp_path / "prefixed.xlsx", c)
    with pytest.raises(ReadError, match="B200000"):
        read_workbook(p)


def _rows_to_9999() -> bytes:
    """Rows 9999 down to 100, ten cells each (A–J): about 2.5 MB of sheet XML, every chunk within the quick
    bounds, and the last chunk holding only the lower rows (the highest row is in an earlier chunk)."""
    cells = [(b"%c" % (65 + i)) for i in range(10)]
    return b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>1</v></c>' % (c, r) for c in cells) + b"</row>"
                    for r in range(9999, 99, -1))


@pytest.mark.parametrize("far, refused", [
    (b'<row r="50"><c r="WB50"><v>1</v></c></row>', True),        # column 600 x the earlier chunks' 9,999 rows
    (b'<row r="50"><c r="SF50"><v>1</v></c></row>', False),       # column 500 x 9,999 rows: within MAX_CELLS
    (b'<row r="20000"><c r="C20000"><v>1</v></c></row>', False),  # beyond the quick bounds, inside the limits
    (b'<row r="20000"><c r="ALM20000"><v>1</v></c></row>', True),  # column 1,001
    (b"<row>" + b"<c><v>1</v></c>" * (guard.MAX_COLS + 1) + b"</row>", True),   # no r=: counted one by one
])
def test_sheet_larger_than_a_chunk_is_bounded_exactly(tmp_path, far, refused):
    """A worksheet of several chunks whose first chunks are within the quick bounds (nothing counted) and whose
    far cell comes in the last one: the part is counted again exactly, with the result of counting every cell."""
    c = fc.parts()
    bulk = _rows_to_9999()
    assert len(bulk) > 2 * guard._CHUNK
    c[fc.META_SHEET] = fc.add_row(c[fc.META_SHEET], bulk + far)
    p = fc.write_zip(tmp_path / "big.xlsx", c)
    exact = _exact_outcome(p)
    assert (exact is not None) == refused
    if refused:
        with pytest.raises(guard.InputError, match="超过上限") as e:
            guard.check_workbook(p)
        assert str(e.value) == exact
    else:
        guard.check_workbook(p)


def _exact_outcome(path):
    """The refusal (or None) of the scan that counts every cell (no quick path)."""
    original = guard._scan_sheet
    try:
        guard._scan_sheet = lambda *a, **k: original(*a, **{**k, "quick": False})
        guard._CHECKED.clear()
        guard.check_workbook(path)
        return None
    except guard.InputError as exc:
        return str(exc)
    finally:
        guard._scan_sheet = original
        guard._CHECKED.clear()


def test_quick_bounds_agree_with_counting_on_every_sample():
    for p in sorted((fc.ROOT / "samples").glob("*/*.xlsx")):
        assert _exact_outcome(p) is None
        guard.check_workbook(p)


def test_huge_amount_refused_naming_the_cell(tmp_path):
    c = fc.parts()
    c[fc.DATA_SHEET] = fc.set_cell(c[fc.DATA_SHEET], fc.AMOUNT_CELL, fc.inline(fc.AMOUNT_CELL, "9" * 400))
    p = fc.write_zip(tmp_path / "huge.xlsx", c)
    with pytest.raises(ReadError, match=f"huge.xlsx：收入决算表!{fc.AMOUNT_CELL}：金额有 400 位整数"):
        read_workbook(p)
    # 15 integer digits (百万亿) still read, as typed
    c[fc.DATA_SHEET] = fc.set_cell(c[fc.DATA_SHEET], fc.AMOUNT_CELL, fc.number(fc.AMOUNT_CELL, "123456789012345"))
    p = fc.write_zip(tmp_path / "big.xlsx", c)
    assert str(read_workbook(p).tables["F02"].get("2210201", "fiscal").amount) == "123456789012345.0"


def test_zip_limits(tmp_path):
    stream, size, crc = fc.bomb_stream(b" " * 2**20, 200)
    p = fc.raw_zip(tmp_path / "bomb.xlsx", [("xl/worksheets/sheet1.xml", stream, size, crc, 0)])
    with pytest.raises(guard.InputError, match="解压后 200 MB，超过上限"):
        guard.check_workbook(p)
    enc = fc.raw_zip(tmp_path / "enc.xlsx", [("a.xml", fc._deflate(b"<a/>"), 4, 0, 1)])
    with pytest.raises(guard.InputError, match="已加密"):
        guard.check_workbook(enc)


@pytest.mark.parametrize("year", ["9" * 400, "=1+1", "20220"])
def test_hostile_year_in_xltools_refused(tmp_path, year):
    c = fc.parts()
    c[fc.META_SHEET] = fc.add_row(c[fc.META_SHEET], b'<row r="40">' + fc.inline("A40", "year")
                                  + fc.inline("B40", year) + b"</row>")
    p = fc.write_zip(tmp_path / "year.xlsx", c)
    with pytest.raises(ReadError, match="year.xlsx：隐藏页 _xltools 中的年度"):
        read_workbook(p)


# ---------------------------------------------------------------- CLI: exit codes, crash log, JSON

def test_unexpected_error_writes_a_log_and_one_chinese_line(tmp_path, monkeypatch, capsys):
    import xltools.cli as cli

    def boom(args):
        raise RuntimeError("something broke inside")
    monkeypatch.setattr(cli, "cmd_check", boom)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert main(["check", str(SAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    logs = list(tmp_path.glob("xltools-错误-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "RuntimeError: something broke inside" in logs[0].read_text(encoding="utf-8")
    assert err.startswith("错误：xltools 内部错误")


def test_permission_error_names_the_workbook_not_the_temp_file(tmp_path, monkeypatch, capsys):
    import xltools.rules.report as report
    book = tmp_path / "单位.xlsx"
    book.write_bytes(SAMPLE.read_bytes())

    def denied(path, findings, **kw):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".tmp-xyz.xlsx"))
    monkeypatch.setattr(report, "write_findings", denied)
    assert main(["check", str(book), "--write"]) == 2
    err = capsys.readouterr().err
    assert f"没有权限：{book}" in err and ".tmp-xyz" not in err


@pytest.mark.parametrize("argv", [["check", "--json"], ["check", "--json", "--level", "x", "a.xlsx"],
                                  ["check", "--json", "没有这个文件.xlsx"]])
def test_check_json_prints_json_on_any_error(argv, capsys):
    assert main(argv) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]


def test_exit_codes(tmp_path, capsys):
    clean = tmp_path / "clean.xlsx"
    assert main(["generate", str(fc.ROOT / "tests" / "data" / "clean-unit"), "-o", str(clean)]) == 0
    assert main(["check", str(clean)]) == 0
    assert main(["check", str(SAMPLE)]) == 1          # the published sample has errors
    assert main(["check", str(tmp_path / "nope.xlsx")]) == 2
    assert main(["--version"]) == 0
    assert main(["no-such-command"]) == 2
    capsys.readouterr()


def test_folder_with_a_bad_file_completes_the_others(tmp_path, capsys):
    books = tmp_path / "books"
    books.mkdir()
    for i in range(3):
        (books / f"u{i}.xlsx").write_bytes(SAMPLE.read_bytes())
    c = fc.parts()
    c[fc.DATA_SHEET] = fc.add_row(c[fc.DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    fc.write_zip(books / "bad.xlsx", c)
    assert main(["check", str(books), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    by = {Path(f["file"]).name: f for f in doc["files"]}
    assert "XFD1048576" in by["bad.xlsx"]["error"]
    assert all("error" not in by[f"u{i}.xlsx"] and by[f"u{i}.xlsx"]["findings"] for i in range(3))
    with zipfile.ZipFile(books / "校验汇总.xlsx") as z:
        assert z.testzip() is None


def test_check_file_never_raises(monkeypatch):
    import xltools.cli as cli
    import xltools.rules as rules

    monkeypatch.setattr(rules, "check_report", lambda rep: 1 / 0)
    findings, err = cli.check_file(SAMPLE)
    assert findings == [] and "校验时发生内部错误" in err and "ZeroDivisionError" in err


def test_huge_note_figures_refused_naming_the_item(tmp_path, capsys):
    d = tmp_path / "data"
    d.mkdir()
    for f in fc.SAMPLE_DIR.iterdir():
        if f.suffix in (".csv", ".yaml"):
            (d / f.name).write_bytes(f.read_bytes())
    notes = (d / "notes.yaml").read_text(encoding="utf-8")
    (d / "notes.yaml").write_text(notes.replace("prior.total: 19352.45万元", "prior.total: " + "9" * 41 + "万元"),
                                  encoding="utf-8")
    with pytest.raises(DataError, match=r"notes.yaml（prior.total）：金额有 41 位整数"):
        load_data(d)
    # the same figure typed into a workbook's 说明事项 sheet: refused naming its cell
    import openpyxl

    book = tmp_path / "book.xlsx"
    (d / "notes.yaml").write_text(notes, encoding="utf-8")
    assert main(["generate", str(d), "-o", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    ws = wb["说明事项"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "prior.total")
    ws.cell(row, 3).value = "9" * 41 + "万元"
    wb.save(book)
    with pytest.raises(ReadError, match=rf"book.xlsx：说明事项!C{row}（prior.total）：金额有 41 位整数"):
        read_workbook(book)
    capsys.readouterr()


def test_formula_cells_whatever_the_order_of_a_cells_attributes(tmp_path):
    """`<c s="3" r="D8">` (another writer's attribute order) is the same cell as `<c r="D8" s="3">`: the
    formula scan and so F-01 and the findings do not change (before: 22 errors instead of 8)."""
    import re
    import zipfile

    from xltools.read.workbook import formula_cells, read_workbook
    from xltools.rules import check_report

    src = Path(__file__).resolve().parents[1] / "samples" / "ningxia-sbj-2022-final" / "ningxia-sbj-2022-final.xlsx"
    out = tmp_path / "swapped.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for it in zin.infolist():
            data = zin.read(it.filename)
            if it.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<c r="([A-Z]+[0-9]+)" s="(\d+)"', rb'<c s="\2" r="\1"', data)
            zout.writestr(it, data)
    assert formula_cells(out) == formula_cells(src)
    errors = lambda p: sorted((f.rule, f.cell) for f in check_report(read_workbook(p)) if f.level == "error")  # noqa: E731
    assert errors(out) == errors(src)


def test_merge_cells_found_as_by_the_pattern_everywhere():
    """guard._merge_cells (from the occurrences of “mergeCell”) yields exactly _MERGE_RE.finditer's matches: on
    every part of every sample and on random XML-like text (prefixes, nested “<”, “mergeCell” in attributes)."""
    import random

    def both(data):
        return ([(m.start(), m.end(), m.group(1)) for m in guard._MERGE_RE.finditer(data)],
                [(m.start(), m.end(), m.group(1)) for m in guard._merge_cells(data)])

    found = 0
    for p in sorted((fc.ROOT / "samples").glob("*/*.xlsx")):
        with zipfile.ZipFile(p) as z:
            for info in z.infolist():
                a, b = both(z.read(info))
                assert a == b, (p.name, info.filename)
                found += len(a)
    assert found > 100
    rnd = random.Random(15)
    pieces = [b"<", b">", b"mergeCell", b' ref="A1:B2"', b" ref='C3'", b"x:", b'"', b" ", b"a", b"/", b"mergeCells"]
    for _ in range(5000):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 16)))
        a, b = both(data)
        assert a == b, data


def _part_of(c: dict, title: str) -> str:
    titles = {"xl/workbook.xml": c["xl/workbook.xml"], "xl/_rels/workbook.xml.rels": c["xl/_rels/workbook.xml.rels"]}
    return next(p for p in c if p.startswith("xl/worksheets/") and guard._title_of(titles, p) == title)


@pytest.mark.parametrize("hostile", [b'<!DOCTYPE x [<!ENTITY a "b">]>', b"far"])
def test_sheet_check_never_reads_is_not_inflated_but_a_rewrite_refuses_it(tmp_path, capsys, hostile):
    """`check` reads the tables' sheets, 封面, 说明事项, 科目补充 and _xltools — not 科目目录 or 审核 — and the guard
    inflates only what a parser will read (issue 15: the 审核 sheet is most of a workbook's XML). A DOCTYPE or a
    cell at XFD1048576 in 科目目录 therefore does not stop the check (its findings are the original's); `check
    --write` parses every sheet (openpyxl), so the guard checks every part first and refuses, naming the sheet."""
    from xltools.cli import check_file

    c = fc.parts()
    part = _part_of(c, "科目目录")
    if hostile == b"far":
        c[part] = fc.add_row(c[part], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    else:
        c[part] = c[part].replace(b"?>", b"?>" + hostile, 1)
    p = fc.write_zip(tmp_path / "hostile.xlsx", c)
    guard._CHECKED.clear()
    found, err = check_file(p)
    assert err is None
    want, _ = check_file(SAMPLE)
    assert [(f.rule, f.cell, f.message) for f in found] == [(f.rule, f.cell, f.message) for f in want]
    with pytest.raises(guard.InputError, match="科目目录|DOCTYPE"):
        guard.check_workbook(p)
    guard._CHECKED.clear()
    assert main(["check", str(p), "--write"]) == 2
    out = capsys.readouterr()
    assert ("DOCTYPE" in out.err or "XFD1048576" in out.err) and "hostile.xlsx" in out.err
    assert not (tmp_path / "hostile.bak.xlsx").exists()


def test_the_guard_checks_a_sheet_before_calamine_reads_it(tmp_path):
    """Every sheet the reader reads is checked: a far cell in 说明事项 (read for its notes) is refused."""
    c = fc.parts()
    part = _part_of(c, "说明事项")
    c[part] = fc.add_row(c[part], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    p = fc.write_zip(tmp_path / "notes.xlsx", c)
    with pytest.raises(ReadError, match="“说明事项”.*XFD1048576"):
        read_workbook(p)


def test_formula_scan_equals_the_general_scans(tmp_path):
    """The one-pass formula scan (read/workbook.py `_formula_scan`) gives exactly what the general scans give —
    formula cells, cells without a calculated value, SUMPRODUCT texts — on every sheet of every sample workbook,
    of an openpyxl-saved copy (no calculated values) and of a copy with another attribute order (general path)."""
    import re

    import openpyxl

    from xltools.read import workbook as W

    files = sorted((fc.ROOT / "samples").glob("*/*.xlsx"))
    saved = tmp_path / "openpyxl.xlsx"
    openpyxl.load_workbook(SAMPLE).save(saved)
    swapped = tmp_path / "swapped.xlsx"
    fc.write_zip(swapped, {k: re.sub(rb'<c r="([A-Z]+[0-9]+)" s="(\d+)"', rb'<c s="\2" r="\1"', v)
                           if k.startswith("xl/worksheets/") else v for k, v in fc.parts().items()})
    quick = uncached = 0
    for f in [*files, saved, swapped]:
        with zipfile.ZipFile(f) as z:
            for name in z.namelist():
                if not name.startswith("xl/worksheets/"):
                    continue
                data = z.read(name)
                refs, none, texts = W._formula_scan(data)
                assert refs == W._formula_refs(data), (f.name, name)
                general = W._uncached_refs(data) if W._MAYBE_UNCACHED.search(data) else None
                assert none == (general if general and (general[0] or general[1]) else None), (f.name, name)
                assert [t for t in texts if b"SUMPRODUCT" in t] == W._SUMPRODUCT_F.findall(data), (f.name, name)
                quick += len(W._FCELL_QUICK.findall(data)) == len(W._F_RE.findall(data)) and bool(refs)
                uncached += none is not None
    assert quick > 50 and uncached >= 5


@pytest.mark.parametrize("written", ["&#x6536;&#20837;决算表", "收入决算表"])
def test_a_sheet_name_written_with_character_references_is_still_checked(tmp_path, written):
    """workbook.xml may write a sheet's name with character references (&#x6536; for 收); calamine decodes them.
    The guard must still know that part as the sheet the reader asks for and check it before calamine reads it:
    a far cell there is refused either way."""
    c = fc.parts()
    c["xl/workbook.xml"] = c["xl/workbook.xml"].replace('name="收入决算表"'.encode(), f'name="{written}"'.encode())
    assert f'name="{written}"'.encode() in c["xl/workbook.xml"]
    c[fc.DATA_SHEET] = fc.add_row(c[fc.DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    p = fc.write_zip(tmp_path / "ref.xlsx", c)
    with pytest.raises(ReadError, match="XFD1048576"):
        read_workbook(p)
    assert guard._unescape("&#x6536;&#20837;决算表&amp;") == "收入决算表&"


def test_guard_inflates_each_part_as_zipfile_does(tmp_path):
    """WorkbookGuard._whole (one part inflated at once from the checked bytes) gives exactly zipfile's bytes for
    every XML part of every sample, deflated or stored; a part whose bytes do not match its declared size or CRC
    gives None (it is then streamed by zipfile, which names the damage)."""
    parts = 0
    for p in sorted((fc.ROOT / "samples").glob("*/*.xlsx")):
        stored = tmp_path / f"stored-{p.name}"
        with zipfile.ZipFile(p) as z, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as out:
            for info in z.infolist():
                out.writestr(info.filename, z.read(info))
        for src in (p, stored):
            g = guard.WorkbookGuard(src)
            with zipfile.ZipFile(src) as z:
                for info in g._xml_infos():
                    assert g._whole(info) == z.read(info), (src.name, info.filename)
                    parts += 1
    assert parts > 100
    g = guard.WorkbookGuard(p)
    info = next(i for i in g._xml_infos() if i.filename.startswith("xl/worksheets/"))
    for attr, delta in (("CRC", 1), ("file_size", 1), ("file_size", -1), ("compress_size", -info.compress_size // 2)):
        setattr(info, attr, getattr(info, attr) + delta)
        assert g._whole(info) is None, attr
        setattr(info, attr, getattr(info, attr) - delta)
    assert g._whole(info) is not None


def test_a_merge_over_every_cell_is_refused_where_a_reader_walks_merges(tmp_path):
    """The guard of `check`'s own reader (python-calamine's values, which ignore merged ranges) leaves merged
    ranges unbounded; whatever walks them (openpyxl: --write, narrative, rows add; the importer) still refuses a
    merge over A1:XFD1048576 with exit 2 — and the check's findings are those of the file without the merge."""
    src = fc.ROOT / "samples" / "ningxia-rst-2023-final" / "ningxia-rst-2023-final.xlsx"
    bad = tmp_path / "merged.xlsx"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as out:
        part = _part_of({i.filename: z.read(i) for i in z.infolist()}, "收入决算表")
        for info in z.infolist():
            data = z.read(info)
            if info.filename == part:
                data = data.replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                    b'<mergeCell ref="A1:XFD1048576"/></mergeCells>', 1)
                assert b"XFD1048576" in data
            out.writestr(info, data)
    with pytest.raises(ReadError):
        guard.check_workbook(bad, error=ReadError)
    from xltools.rules import check_report

    rule_cells = lambda p: sorted((f.rule, f.cell) for f in check_report(read_workbook(p)))  # noqa: E731
    assert rule_cells(bad) == rule_cells(src)
    assert main(["check", str(bad), "--write"]) == 2
