"""Structural corpus of hostile inputs for the fuzz suite and benchmarks/bench_untrusted.py.

Every case is built from a real sample (samples/ningxia-sbj-2022-final: its workbook and its data
folder) by editing the zip parts or files the way an attacker — or a damaged disk — would. A case is
``Case(name, argv, expect)``: the command line to give ``xltools.cli.main`` (paths inside the case's
folder; the output folder is ``out/``) and the exit codes it may end with.

Nothing here imports xltools: the generator is plain zipfile/zlib work.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "samples" / "ningxia-sbj-2022-final"
SAMPLE_XLSX = SAMPLE_DIR / "ningxia-sbj-2022-final.xlsx"
DATA_SHEET = "xl/worksheets/sheet2.xml"       # 收入决算表 (F02): its row 7 holds typed amounts
META_SHEET = "xl/worksheets/sheet12.xml"      # _xltools
SST = "xl/sharedStrings.xml"


@dataclass
class Case:
    name: str
    argv: list[str]
    expect: frozenset = frozenset({2})          # allowed exit codes
    needs: str = ""                             # "fifo" / "symlink": skipped where the OS lacks it
    extra: dict = field(default_factory=dict)
    root: str = ""                              # the case's folder (its files, out/ and tmp/)


# ---------------------------------------------------------------- zip helpers

def parts(src: Path = SAMPLE_XLSX) -> dict[str, bytes]:
    with zipfile.ZipFile(src) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def write_zip(dst: Path, content: dict[str, bytes], level: int = 6) -> Path:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in content.items():
            z.writestr(name, data)
    return dst


def edited(dst: Path, edits: dict, src: Path = SAMPLE_XLSX) -> Path:
    """A copy of ``src`` with parts replaced: ``edits[name]`` is bytes or a function bytes → bytes."""
    content = parts(src)
    for name, e in edits.items():
        content[name] = e(content[name]) if callable(e) else e
    return write_zip(dst, content)


def raw_zip(dst: Path, entries: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip written by hand: (name, deflate stream, uncompressed size, crc, flags) — for sizes and flags
    no zip library would write (bombs, lying headers, the encryption bit)."""
    out = bytearray()
    central = bytearray()
    for name, comp, size, crc, flags in entries:
        nb = name.encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, 0, 0, crc, len(comp), size, len(nb), 0)
        out += nb + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 8, 0, 0, crc, len(comp), size,
                               len(nb), 0, 0, 0, 0, 0, off)
        central += nb
    cd_off = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_off, 0)
    dst.write_bytes(bytes(out))
    return dst


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def bomb_stream(unit: bytes, repeat: int) -> tuple[bytes, int, int]:
    """A raw deflate stream inflating to ``unit * repeat`` without compressing all of it: one full-flush
    block is repeated (the compressor state is reset after a full flush, so the block is the same)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    crc = 0
    for _ in range(repeat):
        crc = zlib.crc32(unit, crc)
    return block * repeat + tail, len(unit) * repeat, crc


def sheet_with_rows(rows: bytes, dim: str = "A1:B2") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<dimension ref="' + dim.encode() + b'"/><sheetData>' + rows + b"</sheetData></worksheet>")


def add_row(xml: bytes, row: bytes) -> bytes:
    return xml.replace(b"</sheetData>", row + b"</sheetData>", 1)


def set_cell(xml: bytes, ref: str, new: bytes) -> bytes:
    """Replace cell ``ref`` (self-closing or with content) by ``new``."""
    start = xml.index(f'<c r="{ref}"'.encode())
    gt = xml.index(b">", start)
    end = gt + 1 if xml[gt - 1:gt] == b"/" else xml.index(b"</c>", start) + 4
    return xml[:start] + new + xml[end:]


def inline(ref: str, text: str, style: str = "") -> bytes:
    from xml.sax.saxutils import escape
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'.encode()


def number(ref: str, v: str, style: str = "") -> bytes:
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s}><v>{v}</v></c>'.encode()


# cells of F02 (收入决算表) a unit types into: row 8 is the 项 2210201 住房公积金 (A8 its code, D8 its
# 财政拨款 amount, a constant); row 7 is the 合计 (formulas)
AMOUNT_CELL = "D8"
CODE_CELL = "A8"


# ---------------------------------------------------------------- the corpus

def build(root: Path, *, heavy: bool = True) -> list[Case]:
    """Write every case's files under ``root`` (one folder per case) and return the cases.
    ``heavy`` adds the multi-gigabyte bombs and the 10⁶-row sheets (a few seconds to build)."""
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    base = parts()

    def folder(name: str) -> Path:
        d = root / name
        if d.exists():
            shutil.rmtree(d)
        (d / "out").mkdir(parents=True)
        return d

    def wb_case(name: str, content: dict | None = None, path_bytes: bytes | None = None,
                expect=frozenset({2}), json: bool = False) -> Path:
        d = folder(name)
        p = d / "book.xlsx"
        if path_bytes is not None:
            p.write_bytes(path_bytes)
        else:
            write_zip(p, content)
        cases.append(Case(name, ["check", str(p)] + (["--json"] if json else []), frozenset(expect)))
        return p

    good = SAMPLE_XLSX.read_bytes()
    # the unchanged sample: findings as published (errors found → 1)
    wb_case("sample", path_bytes=good, expect={1})
    wb_case("sample-json", path_bytes=good, expect={1}, json=True)

    # truncated and byte-flipped files
    for frac in (0.0, 0.1, 0.5, 0.9, 0.999):
        wb_case(f"truncated-{int(frac * 1000):03d}", path_bytes=good[:int(len(good) * frac)])
    rnd = random.Random(10)
    for i in range(8):
        data = bytearray(good)
        for _ in range(1 + i * 3):
            pos = rnd.randrange(len(data))
            data[pos] ^= 1 << rnd.randrange(8)
        wb_case(f"flipped-{i}", path_bytes=bytes(data), expect={0, 1, 2})
    wb_case("not-a-zip", path_bytes=b"PK\x03\x04" + b"\x00" * 100)
    wb_case("empty-file", path_bytes=b"")
    wb_case("text-named-xlsx", path_bytes="收入,支出\n1,2\n".encode("utf-8"))

    # corrupt deflate inside one sheet (the central directory is fine)
    p = wb_case("corrupt-deflate", base)
    _corrupt_member(p, DATA_SHEET)
    p = wb_case("bad-crc", base)
    _corrupt_member(p, DATA_SHEET, crc_only=True)

    # XML entities: XXE (external), billion laughs (internal), a DOCTYPE alone
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    for part, label in ((DATA_SHEET, "sheet"), (SST, "sst"), ("xl/workbook.xml", "workbook")):
        c = dict(base)
        c[part] = xxe + c[part].split(b"?>", 1)[1]
        if part == SST:
            c[part] = c[part].replace(b"<t>", b"<t>&e;", 1)
        wb_case(f"xxe-{label}", c)
    lol = b'<!ENTITY a0 "lollollollollollollollollollol">' + b"".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10))
    c = dict(base)
    c[SST] = b'<?xml version="1.0"?><!DOCTYPE sst [' + lol + b"]>" + c[SST].split(b"?>", 1)[1].replace(
        b"<t>", b"<t>&a9;", 1)
    wb_case("entity-bomb", c)
    c = dict(base)
    c[DATA_SHEET] = c[DATA_SHEET].replace(b"<sheetData>", b"<sheetData><row r=\"90\"><c r=\"A90\" t=\"inlineStr\">"
                                          b"<is><t>&amp;&#x41;&#65;&unknown;</t></is></c></row>", 1)
    wb_case("undefined-entity", c, expect={2})

    # a bad shared-string index, a sheet part missing, no _xltools and no known sheets
    c = dict(base)
    c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, f'<c r="{AMOUNT_CELL}" t="s"><v>999999</v></c>'.encode())
    wb_case("bad-sst-index", c, expect={1, 2})
    c = dict(base)
    del c[DATA_SHEET]
    wb_case("missing-sheet-part", c, expect={1, 2})
    c = dict(base)
    del c["xl/workbook.xml"]
    wb_case("missing-workbook-xml", c)

    # encrypted flag on every member
    d = folder("encrypted")
    p = d / "book.xlsx"
    raw_zip(p, [(n, _deflate(b), len(b), zlib.crc32(b), 1) for n, b in base.items()])
    cases.append(Case("encrypted", ["check", str(p)]))

    # far cells and big dimensions
    c = dict(base)
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    wb_case("far-cell-XFD1048576", c)
    c = dict(base)
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="30"><c r="XFD30"><v>1</v></c></row>')
    wb_case("far-column-XFD", c)
    c = dict(base)
    c[DATA_SHEET] = c[DATA_SHEET].replace(b'<dimension ref="A1:J21"/>', b'<dimension ref="A1:XFD1048576"/>')
    wb_case("dimension-XFD1048576", c, expect={0, 1})
    c = dict(base)
    c[META_SHEET] = add_row(c[META_SHEET], b'<row r="200000"><c r="A200000"><v>1</v></c></row>')
    wb_case("far-row-in-meta", c)
    c = dict(base)    # unusual but valid XML: prefixes, attribute order, no r=
    c[DATA_SHEET] = c[DATA_SHEET].replace(b'<c r="', b'<c s="0" r="')
    wb_case("attr-order", c, expect={0, 1})
    c = dict(base)
    rows = b"".join(b"<row>" + b"<c><v>1</v></c>" * 20 + b"</row>" for _ in range(200))
    c[META_SHEET] = add_row(c[META_SHEET], rows)
    wb_case("rows-without-r", c, expect={0, 1, 2})

    # PDFs (checked through the importer): damaged, or not a PDF at all
    for name, data in (("pdf-garbage", b"%PDF-1.4\n" + bytes(range(256)) * 8),
                       ("pdf-truncated", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj <<"),
                       ("pdf-empty", b"")):
        d = folder(name)
        (d / "doc.pdf").write_bytes(data)
        cases.append(Case(name, ["check", str(d / "doc.pdf")]))
    d = folder("pdf-fifo")
    cases.append(Case("pdf-fifo", ["check", str(d / "doc.pdf")], needs="fifo", extra={"fifo": str(d / "doc.pdf")}))

    # not our workbook (no _xltools sheet): `check` imports it by its titles — the same bounds apply
    def foreign(c):
        c["xl/workbook.xml"] = re.sub(rb'<sheet name="_xltools"[^>]*/>', b"", c["xl/workbook.xml"])
        return c
    wb_case("foreign-workbook", foreign(dict(base)), expect={0, 1, 2})
    c = foreign(dict(base))
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    wb_case("foreign-far-cell", c)
    c = foreign(dict(base))
    c[DATA_SHEET] = c[DATA_SHEET].replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                          b'<mergeCell ref="A1:XFD1048576"/></mergeCells>', 1)
    wb_case("foreign-merged-everything", c)

    # values: merged cells, dates, formula text, huge numbers, control characters
    c = dict(base)
    c[DATA_SHEET] = c[DATA_SHEET].replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                          b'<mergeCell ref="C7:E8"/></mergeCells>', 1)
    wb_case("merged-over-amounts", c, expect={0, 1})
    c = dict(base)
    c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, number(AMOUNT_CELL, "2958466", "0"))
    c["xl/styles.xml"] = _date_style(c["xl/styles.xml"])
    c[DATA_SHEET] = c[DATA_SHEET].replace(f'<c r="{AMOUNT_CELL}" s="0"'.encode(),
                                          f'<c r="{AMOUNT_CELL}" s="{_date_xf_index(c["xl/styles.xml"])}"'.encode())
    wb_case("date-format-amount", c, expect={0, 1})
    for i, text in enumerate(['=HYPERLINK("http://example.invalid","点击查看")', "=cmd|' /C calc'!A0",
                              "+1+1", "@SUM(1)", "-2+3"]):
        c = dict(base)
        c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, inline(AMOUNT_CELL, text))
        wb_case(f"formula-text-{i}", c, expect={1})
    for name, v in (("digits-400", "9" * 400), ("digits-41", "1" + "0" * 40), ("e308", "1E308"),
                    ("inf-text", "inf"), ("nan-text", "NaN"), ("neg-zero", "-0")):
        c = dict(base)
        c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, number(AMOUNT_CELL, v))
        wb_case(f"amount-{name}", c, expect={1, 2})
        c = dict(base)
        c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, inline(AMOUNT_CELL, v))
        wb_case(f"amount-text-{name}", c, expect={1, 2})
    c = dict(base)
    c[DATA_SHEET] = set_cell(c[DATA_SHEET], AMOUNT_CELL, inline(AMOUNT_CELL, "_x0001_\x09\u202e1,000_x0007_"))
    wb_case("control-chars", c, expect={1})

    # hostile _xltools rows
    for i, row in enumerate([
        ("mark:收入决算表!XFD1048576", "FF0000"), ("mark:收入决算表!ZZZZ99999999", ""),
        ("mark:../../etc!A1", "x" * 5000), ("mark:", None), ("set", "../../../../tmp"),
        ("set", "/etc"), ("variant", "{{ 7*7 }}"), ("year", "9" * 400), ("table:F01", "_xltools"),
        ("amount_unit", "=1+1"),
    ]):
        c = dict(base)
        cells = inline(f"A{30 + i}", row[0]) + (inline(f"B{30 + i}", row[1]) if row[1] is not None else b"")
        c[META_SHEET] = add_row(c[META_SHEET], f'<row r="{30 + i}">'.encode() + cells + b"</row>")
        if row[0] in ("set", "variant", "year", "table:F01", "amount_unit"):
            # replace the existing key: the reader takes the last row of a key
            pass
        wb_case(f"meta-row-{i}", c, expect={0, 1, 2})

    # not regular files
    d = folder("fifo-xlsx")
    cases.append(Case("fifo-xlsx", ["check", str(d / "book.xlsx")], needs="fifo",
                      extra={"fifo": str(d / "book.xlsx")}))
    d = folder("devzero-xlsx")
    cases.append(Case("devzero-xlsx", ["check", str(d / "book.xlsx")], needs="symlink",
                      extra={"symlink": (str(d / "book.xlsx"), "/dev/zero")}))
    d = folder("directory-xlsx")
    (d / "book.xlsx").mkdir()
    cases.append(Case("directory-xlsx", ["check", str(d / "book.xlsx"), "--json"], frozenset({0, 2})))

    # a folder: good files, one far-cell file, one FIFO → the others and the summary complete
    d = folder("folder-mixed")
    books = d / "books"
    books.mkdir()
    for i in range(14):     # 16 files: `check --jobs 2` takes the process-pool path
        (books / f"good{i:02d}.xlsx").write_bytes(good)
    c = dict(base)
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    write_zip(books / "bad-far.xlsx", c)
    (books / "bad-trunc.xlsx").write_bytes(good[:1000])
    cases.append(Case("folder-mixed", ["check", str(books), "--summary", str(d / "out" / "汇总.xlsx")],
                      frozenset({2}), extra={"summary": str(d / "out" / "汇总.xlsx"), "good": 14}))
    cases.append(Case("folder-mixed-jobs", ["check", str(books), "--jobs", "2", "--json",
                                            "--summary", str(d / "out" / "汇总2.xlsx")], frozenset({2}),
                      extra={"json_files": 16, "good": 14}))
    cases.append(Case("merge-mixed", ["merge", *(str(books / f"good{i:02d}.xlsx") for i in range(3)),
                                      str(books / "bad-far.xlsx"), "-o", str(d / "out" / "合并.xlsx")],
                      frozenset({1, 2})))

    # data folders: encodings, YAML, FIFOs, /dev/zero
    cases += _data_cases(root, folder)

    # usage errors with --json
    d = folder("usage-json")
    cases.append(Case("usage-json", ["check", "--json", "--level", "nonsense", str(d)], frozenset({2}),
                      extra={"json": True}))
    cases.append(Case("usage-json-nopath", ["check", "--json"], frozenset({2}), extra={"json": True}))
    cases.append(Case("check-missing", ["check", str(d / "nope.xlsx"), "--json"], frozenset({2}),
                      extra={"json": True}))

    if heavy:
        cases += _heavy_cases(root, folder, base)
    for c in cases:   # the case folder: the first folder under root that the command line names
        for a in c.argv:
            if a.startswith(str(root) + os.sep):
                c.root = str(root / Path(a).relative_to(root).parts[0])
                break
    return cases


def _corrupt_member(path: Path, member: str, crc_only: bool = False) -> None:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + name_len + extra_len
    if crc_only:
        data[off + 14] ^= 0xFF                      # the local header's CRC …
        pos = data.find(b"PK\x01\x02")
        while pos >= 0:                             # … and the central directory's (zipfile checks that one)
            n, = struct.unpack("<H", data[pos + 28:pos + 30])
            if data[pos + 46:pos + 46 + n].decode() == member:
                data[pos + 16] ^= 0xFF
                break
            pos = data.find(b"PK\x01\x02", pos + 4)
    else:
        for i in range(start + 20, start + min(info.compress_size, 400), 7):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _date_style(styles: bytes) -> bytes:
    """Add a cell format with numFmtId 14 (a date) at the end of cellXfs."""
    head, rest = styles.split(b"<cellXfs", 1)
    count_end = rest.index(b">")
    body_end = rest.index(b"</cellXfs>")
    body = rest[count_end + 1:body_end] + b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
    n = body.count(b"<xf ")
    return head + b'<cellXfs count="%d">' % n + body + rest[body_end:]


def _date_xf_index(styles: bytes) -> int:
    rest = styles.split(b"<cellXfs", 1)[1]
    return rest[:rest.index(b"</cellXfs>")].count(b"<xf ") - 1


def _data_cases(root: Path, folder) -> list[Case]:
    cases = []
    src = SAMPLE_DIR

    def data_folder(name: str) -> Path:
        d = folder(name)
        data = d / "data"
        data.mkdir()
        for f in src.iterdir():
            if f.suffix in (".csv", ".yaml"):
                shutil.copy(f, data / f.name)
        return data

    def gen(name: str, data: Path, expect, **extra) -> None:
        cases.append(Case(name, ["generate", str(data), "-o", str(data.parent / "out")], frozenset(expect),
                          needs=extra.pop("needs", ""), extra=extra))

    gen("data-sample", data_folder("data-sample"), {0})
    f01 = (src / "F01.csv").read_text(encoding="utf-8")
    for enc, expect in (("utf-8-sig", {0}), ("gbk", {0}), ("gb18030", {0}), ("utf-16", {0}),
                        ("utf-16-le", {2}), ("latin-1", {0, 2})):
        data = data_folder(f"data-enc-{enc}")
        text = f01 if enc != "latin-1" else f01 + "total,Caf\u00e9 \u00e9t\u00e9,,,\n"
        (data / "F01.csv").write_bytes(text.encode(enc, errors="replace"))
        gen(f"data-enc-{enc}", data, expect)
    data = data_folder("data-nul")
    (data / "F01.csv").write_bytes(f01.encode() + b"total,\x00x,1\n")
    gen("data-nul", data, {2})
    data = data_folder("data-bad-bytes")
    (data / "F01.csv").write_bytes(f01.encode() + b"\n\x80\xff\xfe,1\n")
    gen("data-bad-bytes", data, {2})
    data = data_folder("data-digits-400")
    lines = f01.splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[2] = "9" * 400
    (data / "F01.csv").write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    gen("data-digits-400", data, {2})
    del head

    meta = (src / "meta.yaml").read_text(encoding="utf-8")
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    for name, text in (
        ("yaml-alias-bomb-meta", meta + bomb),
        ("yaml-python-tag", meta + "x: !!python/object/apply:os.system ['echo pwned > pwned.txt']\n"),
        ("yaml-year-date", meta.replace("year: 2022", "year: 2022-12-31")),
        ("yaml-year-list", meta.replace("year: 2022", "year: [2022]")),
        ("yaml-year-null", meta.replace("year: 2022", "year: null")),
        ("yaml-year-huge", meta.replace("year: 2022", "year: " + "9" * 400)),
        ("yaml-meta-list", "- 1\n- 2\n"),
        ("yaml-meta-null", "null\n"),
        ("yaml-unit-dict", meta.replace("unit:", "unit: {a: 1}\nold_unit:")),
        ("yaml-set-path", meta.replace("set: final_accounts", "set: ../../../../etc")),
        ("yaml-recursive", meta + "r: &r [*r]\n"),
        ("yaml-deep", meta + "d: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("yaml-syntax", meta + "  : : :\n\t- [\n"),
    ):
        data = data_folder(name)
        (data / "meta.yaml").write_text(text, encoding="utf-8")
        gen(name, data, {2})
    for name, text, expect in (
        ("notes-alias-bomb", bomb, {2}),
        ("notes-list", "- a\n- b\n", {0, 2}),
        ("notes-scalar", "42\n", {0, 2}),
        ("notes-nested", "prior:\n  total: {a: [1, 2]}\nreason: [1, 2]\n", {0, 2}),
        ("notes-python-tag", "x: !!python/name:os.system\n", {2}),
        ("notes-huge-amount", "prior.total: " + "9" * 400 + "万元\nprior.fiscal_total: 1e400\n", {2}),
    ):
        data = data_folder(name)
        (data / "notes.yaml").write_text(text, encoding="utf-8")
        gen(name, data, expect)

    data = data_folder("data-fifo-csv")
    (data / "F01.csv").unlink()
    gen("data-fifo-csv", data, {2}, needs="fifo", fifo=str(data / "F01.csv"))
    data = data_folder("data-devzero-csv")
    (data / "F01.csv").unlink()
    gen("data-devzero-csv", data, {2}, needs="symlink", symlink=(str(data / "F01.csv"), "/dev/zero"))
    data = data_folder("data-devzero-meta")
    (data / "meta.yaml").unlink()
    gen("data-devzero-meta", data, {2}, needs="symlink", symlink=(str(data / "meta.yaml"), "/dev/zero"))
    data = data_folder("data-fifo-notes")
    (data / "notes.yaml").unlink()
    gen("data-fifo-notes", data, {2}, needs="fifo", fifo=str(data / "notes.yaml"))

    # unit lists
    d = folder("units-devzero")
    cases.append(Case("units-devzero", ["generate", "--units", str(d / "units.csv"), "-o", str(d / "out")],
                      needs="symlink", extra={"symlink": (str(d / "units.csv"), "/dev/zero")}))
    d = folder("units-far-cell")
    c = parts()
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    write_zip(d / "units.xlsx", c)
    cases.append(Case("units-far-cell", ["generate", "--units", str(d / "units.xlsx"), "-o", str(d / "out")]))
    d = folder("units-utf16-nobom")
    (d / "units.csv").write_bytes("单位名称,单位编码\n甲,001\n".encode("utf-16-le"))
    cases.append(Case("units-utf16-nobom", ["generate", "--units", str(d / "units.csv"), "-o", str(d / "out")]))

    # narrative texts
    d = folder("narr-devzero")
    cases.append(Case("narr-devzero", ["check-narrative", str(d / "t.txt"), "--against", str(SAMPLE_XLSX)],
                      needs="symlink", extra={"symlink": (str(d / "t.txt"), "/dev/zero")}))
    d = folder("narr-utf16")
    (d / "t.txt").write_bytes("一、收入支出决算总体情况\n2022年度收入总计100万元。\n".encode("utf-16"))
    cases.append(Case("narr-utf16", ["check-narrative", str(d / "t.txt"), "--against", str(SAMPLE_XLSX)],
                      frozenset({0, 1})))
    d = folder("narr-far-cell")
    c = parts()
    c[DATA_SHEET] = add_row(c[DATA_SHEET], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    write_zip(d / "book.xlsx", c)
    cases.append(Case("narr-far-cell", ["check-narrative", str(d / "book.xlsx")]))
    return cases


def _heavy_cases(root: Path, folder, base: dict) -> list[Case]:
    cases = []
    # zip bombs: one sheet inflating to 3 GB from ~3 MB (a header telling the truth) …
    d = folder("zip-bomb-3GB")
    unit = b"<row><c><v>0</v></c></row>" * 40960      # ~1 MB of rows
    stream, size, crc = bomb_stream(unit, 3000)
    entries = [(n, _deflate(b), len(b), zlib.crc32(b), 0) for n, b in base.items() if n != DATA_SHEET]
    entries.append((DATA_SHEET, stream, size, crc, 0))
    raw_zip(d / "book.xlsx", entries)
    cases.append(Case("zip-bomb-3GB", ["check", str(d / "book.xlsx")], extra={"bomb": True}))
    # … a header under the limits but a ratio of ~1000:1 …
    d = folder("zip-bomb-ratio")
    stream, size, crc = bomb_stream(b" " * 2**20, 100)
    entries = [(n, _deflate(b), len(b), zlib.crc32(b), 0) for n, b in base.items()]
    entries.append(("xl/media/padding.xml", stream, size, crc, 0))
    raw_zip(d / "book.xlsx", entries)
    cases.append(Case("zip-bomb-ratio", ["check", str(d / "book.xlsx")], extra={"bomb": True}))
    # … and a header that lies (says 20 KB, inflates to 1 GB)
    d = folder("zip-bomb-lying")
    stream, size, crc = bomb_stream(unit, 1000)
    entries = [(n, _deflate(b), len(b), zlib.crc32(b), 0) for n, b in base.items() if n != DATA_SHEET]
    entries.append((DATA_SHEET, stream, 20000, crc, 0))
    raw_zip(d / "book.xlsx", entries)
    cases.append(Case("zip-bomb-lying", ["check", str(d / "book.xlsx")], extra={"bomb": True}))
    # a PDF whose one Flate stream inflates to 1.5 GB (pdfminer inflates a stream whole)
    d = folder("pdf-flate-bomb")
    unit = b"0 0 m 1 1 l S\n" * 74898            # ~1 MB of drawing operators
    c = zlib.compressobj(9, zlib.DEFLATED, 15)
    head = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)   # zlib header + the first block
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)  # the same block again (state reset)
    adler = zlib.adler32(unit)
    for _ in range(1499):
        adler = zlib.adler32(unit, adler)
    stream = head + block * 1499 + c.flush()[:-4] + struct.pack(">I", adler)
    pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
           b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n"
           + f"4 0 obj << /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream +
           b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    (d / "doc.pdf").write_bytes(pdf)
    cases.append(Case("pdf-flate-bomb", ["check", str(d / "doc.pdf")], extra={"bomb": True}))
    # a sheet of 10⁶ rows (with r= and without)
    d = folder("rows-1e6")
    c = dict(base)
    c[META_SHEET] = sheet_with_rows(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i)
                                             for i in range(1, 1_000_001)), "A1:A1000000")
    write_zip(d / "book.xlsx", c, level=1)
    cases.append(Case("rows-1e6", ["check", str(d / "book.xlsx")], extra={"bomb": True}))
    d = folder("rows-1e6-no-r")
    c = dict(base)
    c[DATA_SHEET] = sheet_with_rows(b"<row><c><v>1</v></c></row>" * 1_000_000, "A1")
    write_zip(d / "book.xlsx", c, level=1)
    cases.append(Case("rows-1e6-no-r", ["check", str(d / "book.xlsx")], extra={"bomb": True}))
    return cases


def materialize(case: Case) -> bool:
    """Create the FIFOs and symlinks a case needs; False when the OS cannot."""
    try:
        if "fifo" in case.extra:
            p = Path(case.extra["fifo"])
            if p.exists() or p.is_symlink():
                p.unlink()
            os.mkfifo(p)
        if "symlink" in case.extra:
            link, target = case.extra["symlink"]
            p = Path(link)
            if p.exists() or p.is_symlink():
                p.unlink()
            os.symlink(target, p)
    except (OSError, AttributeError, NotImplementedError):
        return False
    return True
