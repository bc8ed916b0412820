"""The Excel add-in build: VBA project ([MS-OVBA]), compound file ([MS-CFB]), .xlam
package, ribbon, install/uninstall.

Excel is not available here. The oracles are independent readers: oletools
(``decompress_stream``, ``VBA_Project`` in strict mode, ``VBA_Parser``), olefile,
the examples printed in [MS-OVBA] section 3, and LibreOffice, which imports VBA
projects from .xlsm files and can run their macros.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

import pytest

olefile = pytest.importorskip("olefile")
olevba = pytest.importorskip("oletools.olevba")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.addin import cfb, vba
from xltools.addin.install import (
    ADDIN_FILENAME,
    default_config_path,
    find_xlstart,
    install,
    read_config,
    uninstall,
)
from xltools.addin.xlam import (
    PROJECT_NAME,
    VBA_PROJECT_NAME,
    build_xlam,
    build_xlsm,
    default_macros_dir,
)

REPO = Path(__file__).resolve().parents[1]
MACROS = REPO / "macros"
CUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
CALLBACKS = {
    "XltCheck": "check",
    "XltNarrative": "narrative",
    "XltExportWord": "export_word",
    "XltInsertRows": "insert_rows",
    "XltNewTemplate": "new_template",
    "XltAbout": "about",
}


# ----------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("addin")
    return {
        "xlam": build_xlam(d / "xltools.xlam"),
        "xlsm": build_xlsm(d / "xltools.xlsm"),
    }


@pytest.fixture(scope="module")
def vba_bin(built) -> bytes:
    with zipfile.ZipFile(built["xlam"]) as zf:
        return zf.read("xl/vbaProject.bin")


@pytest.fixture(scope="module")
def ole(vba_bin):
    return olefile.OleFileIO(vba_bin)


def _xlwings_dir() -> Path:
    import xlwings

    return Path(xlwings.__file__).resolve().parent


def _crlf(text: str) -> str:
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return text.replace("\n", "\r\n")


# ----------------------------------------------------------------------------------
# (a) compression, [MS-OVBA] 2.4.1
# ----------------------------------------------------------------------------------


def _spec_compress(data: bytes) -> bytes:
    """Literal transcription of the pseudocode in [MS-OVBA] 2.4.1.3.6-2.4.1.3.19.

    Slow (exhaustive backward match search) and independent of the implementation
    under test, which indexes candidates by their first three bytes.
    """
    out = bytearray([0x01])
    dec_cur = 0
    end_all = len(data)
    while dec_cur < end_all:
        chunk_start_c = len(out)
        chunk_start_d = dec_cur
        comp_end = chunk_start_c + 4098
        out += b"\0\0"
        comp_cur = chunk_start_c + 2
        dec_end = min(chunk_start_d + 4096, end_all)
        while dec_cur < dec_end and comp_cur < comp_end:
            flag_index = comp_cur
            flags = 0
            out.append(0)
            comp_cur += 1
            for index in range(8):
                if dec_cur < dec_end and comp_cur < comp_end:
                    # Matching
                    candidate = dec_cur - 1
                    best_len = 0
                    best_cand = 0
                    while candidate >= chunk_start_d:
                        c, d, length = candidate, dec_cur, 0
                        while d < dec_end and data[d] == data[c]:
                            length += 1
                            c += 1
                            d += 1
                        if length > best_len:
                            best_len, best_cand = length, candidate
                        candidate -= 1
                    diff = dec_cur - chunk_start_d
                    bit_count = 4
                    while (1 << bit_count) < diff:
                        bit_count += 1
                    if best_len >= 3:
                        max_len = (0xFFFF >> bit_count) + 3
                        length = min(best_len, max_len)
                        offset = dec_cur - best_cand
                    else:
                        length = offset = 0
                    if offset:
                        if comp_cur + 1 < comp_end:
                            token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                            out += struct.pack("<H", token)
                            flags |= 1 << index
                            comp_cur += 2
                            dec_cur += length
                        else:
                            comp_cur = comp_end
                    else:
                        if comp_cur < comp_end:
                            out.append(data[dec_cur])
                            comp_cur += 1
                            dec_cur += 1
                        else:
                            comp_cur = comp_end
            out[flag_index] = flags
        if dec_cur < dec_end:
            del out[chunk_start_c + 2 :]
            out += data[chunk_start_d:dec_end] + b"\0" * (4096 - (dec_end - chunk_start_d))
            flag = 0
            dec_cur = dec_end
        else:
            flag = 1
        size = len(out) - chunk_start_c
        header = ((size - 3) & 0x0FFF) | 0x3000 | (flag << 15)
        struct.pack_into("<H", out, chunk_start_c, header)
    return bytes(out)


def test_compression_reproduces_spec_examples():
    # [MS-OVBA] 3.2.2 Normal Compression Example, byte for byte.
    normal = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    expected = bytes.fromhex(
        "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C"
        " 00 20 6D 6E 6F 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C"
    )
    assert vba.compress(normal) == expected
    assert olevba.decompress_stream(expected) == normal
    # [MS-OVBA] 3.2.1 No Compression Example.
    plain = b"abcdefghijklmnopqrstuv."
    assert vba.compress(plain) == bytes.fromhex(
        "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"
    )


def _roundtrip_ok(data: bytes, container: bytes) -> None:
    """oletools' decompressor gives back ``data``. The one spec-mandated exception: a
    final chunk that is stored raw is zero-padded to 4096 bytes (2.4.1.3.10)."""
    out = olevba.decompress_stream(bytearray(container))
    if out != data:
        assert out[: len(data)] == data
        assert not out[len(data) :].strip(b"\0")
        assert len(out) % 4096 == 0
        last_header = struct.unpack_from("<H", container, len(container) - 4098)[0]
        assert last_header >> 15 == 0, "padding only comes from a raw chunk"


_texty = st.lists(
    st.sampled_from([b"a", b"b", b" ", b"\r\n", b"End Sub", b"Dim x As ", b"\xd5\xfd", b"\0"]),
    max_size=1500,
).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=9000), _texty))
def test_compression_roundtrips_through_oletools(data):
    container = vba.compress(data)
    if data:
        _roundtrip_ok(data, container)
    assert vba.decompress(container)[: len(data)] == data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=700), _texty.map(lambda b: b[:1200])))
def test_compression_equals_literal_spec_transcription(data):
    assert vba.compress(data) == _spec_compress(data)


def test_compression_equals_spec_across_a_chunk_boundary():
    line = b'    If GetConfig("INTERPRETER_WIN") = "" Then MsgBox "x" & i\r\n'
    data = b"".join(line.replace(b"x", str(i).encode()) for i in range(75))
    assert len(data) > 4096
    assert vba.compress(data) == _spec_compress(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=6000))
def test_own_decompressor_agrees_with_oletools(data):
    container = vba.compress(data)
    assert vba.decompress(container) == olevba.decompress_stream(bytearray(container))


def test_real_modules_roundtrip(ole):
    sources = {
        "xltools": (MACROS / "xltools.bas").read_text(encoding="utf-8"),
        "xlwings": (_xlwings_dir() / "xlwings_custom_addin.bas").read_text(encoding="utf-8"),
    }
    for name, text in sources.items():
        raw = _crlf(text).encode("cp936")
        assert olevba.decompress_stream(bytearray(vba.compress(raw))) == raw
    for entry in ole.listdir():
        if entry[0] == "VBA" and entry[1] not in ("dir", "_VBA_PROJECT"):
            data = olevba.decompress_stream(bytearray(ole.openstream(entry).read()))
            assert data.startswith(b'Attribute VB_Name = "' + entry[1].encode() + b'"')


# ----------------------------------------------------------------------------------
# compound file, [MS-CFB]
# ----------------------------------------------------------------------------------


def test_compound_file_read_back_by_olefile():
    streams = {f"S/{i:02d}": bytes([i]) * (i * 211) for i in range(1, 40)}
    streams["Big"] = bytes(range(256)) * 100  # > 4096: regular sectors
    streams["S/Nested/x"] = b"abc"
    streams["Empty"] = b""
    data = cfb.write_compound_file(streams)
    assert len(data) % 512 == 0
    f = olefile.OleFileIO(data)
    for path, content in streams.items():
        assert f.openstream(path).read() == content, path
    assert f.get_type("S") == olefile.STGTY_STORAGE
    assert f.get_type("S/Nested") == olefile.STGTY_STORAGE


@pytest.mark.parametrize("n", range(1, 34))
def test_sibling_trees_are_red_black_search_trees(n):
    streams = {f"N{'x' * (i % 5)}{i}": b"." for i in range(n)}
    root = cfb._build_tree(streams)
    order = cfb._assign(root)
    keys: list = []

    def walk(sid: int) -> int:
        if sid == cfb.NOSTREAM:
            return 1
        node = order[sid]
        left = walk(node.left)
        keys.append(cfb.entry_name_key(node.name))
        right = walk(node.right)
        assert left == right, "black height differs"
        if node.color == cfb._RED:
            for c in (node.left, node.right):
                assert c == cfb.NOSTREAM or order[c].color == cfb._BLACK
        return left + (node.color == cfb._BLACK)

    assert order[root.child].color == cfb._BLACK
    walk(root.child)
    assert keys == sorted(keys) and len(keys) == n


# ----------------------------------------------------------------------------------
# PROJECT stream protection fields, [MS-OVBA] 2.4.3
# ----------------------------------------------------------------------------------


def test_project_data_encryption():
    # [MS-OVBA] 3.1.6 PROJECT Stream Example: CMG of an unprotected project.
    key, data = vba.decrypt_project_data("0705D8E3D8EDDBF1DBF1DBF1DBF1")
    assert key == sum(b"{917DED54-440B-4FD1-A5C1-74ACF261E600}") & 0xFF
    assert data == bytes(4)
    pid = "{" + str(uuid.uuid4()).upper() + "}"
    for seed in range(256):
        for payload in (b"\0\0\0\0", b"\0", b"\xff"):
            k, d = vba.decrypt_project_data(vba.encrypt_project_data(pid, payload, seed))
            assert (k, d) == (sum(pid.encode()) & 0xFF, payload)


def test_project_stream(ole):
    text = ole.openstream("PROJECT").read().decode("cp936")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    fields = dict(line.split("=", 1) for line in text.split("\r\n")[:12] if "=" in line)
    pid = fields["ID"].strip('"')
    assert re.fullmatch(r"\{[0-9A-F-]{36}\}", pid)
    key = sum(pid.encode()) & 0xFF
    assert vba.decrypt_project_data(fields["CMG"].strip('"')) == (key, bytes(4))
    assert vba.decrypt_project_data(fields["DPB"].strip('"')) == (key, b"\0")
    assert vba.decrypt_project_data(fields["GC"].strip('"')) == (key, b"\xff")
    assert "Document=ThisWorkbook/&H00000000\r\n" in text
    assert "Document=Sheet1/&H00000000\r\n" in text
    assert "Module=xltools\r\nModule=xlwings\r\nClass=Dictionary\r\n" in text
    assert f'Name="{VBA_PROJECT_NAME}"' in text


# ----------------------------------------------------------------------------------
# (b) the VBA project as olevba reads it
# ----------------------------------------------------------------------------------


def test_vba_project_parses_strictly(ole):
    assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x01\x00"
    # relaxed=False: any record that differs from [MS-OVBA] raises.
    project = olevba.VBA_Project(ole, "", "PROJECT", "VBA/dir", relaxed=False)
    project.parse_project_stream()
    assert project.codepage == 936
    assert project.syskind == 1
    assert project.lcid == 0x409
    modules = {m.name: m for m in (list(project.parse_modules()) and project.modules)}
    assert list(modules) == ["ThisWorkbook", "Sheet1", "xltools", "xlwings", "Dictionary"]
    for m in modules.values():
        assert m.textoffset == 0  # source only, no p-code
        assert m.streamname == m.name
    assert project.module_ext == {
        "thisworkbook": "cls",
        "sheet1": "cls",
        "xltools": "bas",
        "xlwings": "bas",
        "dictionary": "cls",
    }
    wm = ole.openstream("PROJECTwm").read()
    assert wm.endswith(b"\0\0") and b"xltools\0x\0l\0t\0o\0o\0l\0s\0\0\0" in wm


def _olevba_modules(path: Path) -> dict[str, str]:
    parser = olevba.VBA_Parser(str(path))
    try:
        return {
            Path(filename).stem: code
            for (_f, _stream, filename, code) in parser.extract_macros()
        }
    finally:
        parser.close()


def test_olevba_extracts_each_module_as_written(built, ole):
    """Compared exactly (str, after olevba decodes with the project code page):

    - xltools: macros/xltools.bas with CRLF line ends — all of it, its
      ``Attribute VB_Name`` line included (olevba only strips Attribute lines
      when printing, not in extract_macros);
    - xlwings: the installed xlwings_custom_addin.bas with PROJECT_NAME set to
      "xltools", CRLF;
    - Dictionary: every line of the installed Dictionary.cls after its
      VERSION/BEGIN…END header, except the Attribute block, which is the .cls's
      attributes plus those Excel stores for a class (VB_Base, …).
    Also byte for byte: each module stream decompresses to the cp936 bytes.
    """
    for path in (built["xlam"], built["xlsm"]):
        code = _olevba_modules(path)
        assert set(code) == {"ThisWorkbook", "Sheet1", "xltools", "xlwings", "Dictionary"}

        ours = _crlf((MACROS / "xltools.bas").read_text(encoding="utf-8"))
        assert code["xltools"] == ours
        assert "公开表" in code["xltools"]

        xlw = (_xlwings_dir() / "xlwings_custom_addin.bas").read_text(encoding="utf-8")
        xlw = xlw.replace('PROJECT_NAME As String = "myaddin"', f'PROJECT_NAME As String = "{PROJECT_NAME}"')
        assert code["xlwings"] == _crlf(xlw)

        cls_lines = _crlf((_xlwings_dir() / "addin" / "Dictionary.cls").read_text(encoding="utf-8")).split("\r\n")
        cls_lines = cls_lines[cls_lines.index("END") + 1 :]
        n_attr = next(i for i, l in enumerate(cls_lines) if not l.startswith("Attribute "))
        got = code["Dictionary"].split("\r\n")
        got_n = next(i for i, l in enumerate(got) if not l.startswith("Attribute "))
        got_attr = got[:got_n]
        assert got[got_n:] == cls_lines[n_attr:]
        assert set(cls_lines[:n_attr]) <= set(got_attr)
        assert 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"' in got_attr

        assert code["ThisWorkbook"].startswith(
            'Attribute VB_Name = "ThisWorkbook"\r\nAttribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"'
        )
        assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"' in code["Sheet1"]

    raw = olevba.decompress_stream(bytearray(ole.openstream("VBA/xltools").read()))
    assert raw == ours.encode("cp936")


# ----------------------------------------------------------------------------------
# (c) ribbon and callbacks; package structure
# ----------------------------------------------------------------------------------


def _ribbon_root() -> ET.Element:
    return ET.parse(MACROS / "ribbon.xml").getroot()


def test_ribbon_xml():
    root = _ribbon_root()
    assert root.tag == f"{{{CUI_NS}}}customUI"
    tabs = root.findall(f".//{{{CUI_NS}}}tab")
    assert [t.get("label") for t in tabs] == ["公开表"]
    buttons = root.findall(f".//{{{CUI_NS}}}button")
    assert [b.get("label") for b in buttons] == ["校验", "生成情况说明", "导出Word", "插入科目行", "新建模板", "关于/设置"]
    assert [b.get("onAction") for b in buttons] == list(CALLBACKS)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    for b in buttons:
        assert b.get("size") == "large"
        assert re.fullmatch(r"[A-Za-z]+", b.get("imageMso") or "")


def test_every_onaction_is_a_ribbon_sub_in_the_vba(built):
    code = _olevba_modules(built["xlam"])
    all_code = "\n".join(code.values())
    for b in _ribbon_root().findall(f".//{{{CUI_NS}}}button"):
        name = b.get("onAction")
        pattern = rf"^(Public )?Sub {name}\(control As IRibbonControl\)\r$"
        assert len(re.findall(pattern, all_code, re.M)) == 1, name


def _sub_body(code: str, name: str) -> str:
    m = re.search(rf"^(?:Public |Private )?Sub {name}\(.*?^End Sub", code, re.M | re.S)
    assert m, name
    return m.group(0)


def test_callbacks_run_the_python_entry_points():
    code = (MACROS / "xltools.bas").read_text(encoding="utf-8")
    assert code.startswith('Attribute VB_Name = "xltools"\n')
    for sub, func in CALLBACKS.items():
        body = _sub_body(code, sub)
        if func == "insert_rows":
            # the codes typed into an input box, reduced to digits and single spaces before they go
            # into the Python command ("?" when anything else was typed: refused)
            assert '"import xltools.addin as a; a.insert_rows(\'" & codes & "\')"' in body
            assert body.index("codes = CodeList(codes)") < body.index("RunXltools")
            assert 'If codes = "?" Then' in body
            listing = _sub_body(code.replace("Private Function CodeList", "Private Sub CodeList").replace(
                "CodeList = Trim(out)\nEnd Function", "CodeList = Trim(out)\nEnd Sub"), "CodeList")
            assert 'ch Like "[0-9]"' in listing and 'CodeList = "?"' in listing
        else:
            assert f'"import xltools.addin as a; a.{func}()"' in body
        assert re.search(r'"正在[^"]+…"', body), "status bar text"
    runner = _sub_body(code, "RunXltools")
    # Status bar set before RunPython, restored after it and in the error handler.
    assert runner.index('Application.StatusBar = "xltools：" & busyText') < runner.index("RunPython(")
    assert runner.count("Application.StatusBar = False") == 2
    assert "On Error GoTo Failed" in runner
    hint = _sub_body(code.replace("Private Function InstallHint", "Private Sub InstallHint").replace(
        "End Function", "End Sub", 1), "InstallHint")
    assert "xltools addin install" in hint
    # The fix is shown when no interpreter is configured / found, and after errors.
    assert runner.count("InstallHint()") == 3
    problem = code[code.index("Private Function InterpreterProblem") :]
    assert 'GetConfig("INTERPRETER_WIN"' in problem and 'GetConfig("INTERPRETER_MAC"' in problem
    assert "FileExists(interpreter)" in problem


def _resolve_target(source_part: str, target: str) -> str:
    base = PurePosixPath(source_part).parent
    if source_part.endswith(".rels"):
        base = PurePosixPath(source_part).parent.parent
    parts: list[str] = []
    for p in (base / target).parts:
        if p == "..":
            parts.pop()
        elif p not in (".", "/"):
            parts.append(p)
    return "/".join(parts)


@pytest.mark.parametrize("kind", ["xlam", "xlsm"])
def test_package_parts_and_relationships(built, kind):
    ct_ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    rel_ns = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    with zipfile.ZipFile(built[kind]) as zf:
        names = zf.namelist()
        assert names[0] == "[Content_Types].xml"
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        ct = ET.fromstring(zf.read("[Content_Types].xml"))
        defaults = {e.get("Extension"): e.get("ContentType") for e in ct.findall(f"{ct_ns}Default")}
        overrides = {e.get("PartName"): e.get("ContentType") for e in ct.findall(f"{ct_ns}Override")}
        for name in names:
            if name == "[Content_Types].xml":
                continue
            assert "/" + name in overrides or name.rsplit(".", 1)[-1] in defaults, name
            if name.endswith(".xml") or name.endswith(".rels"):
                ET.fromstring(zf.read(name))  # well-formed
        for part in overrides:
            assert part[1:] in names, part
        main = overrides["/xl/workbook.xml"]
        assert main == (
            "application/vnd.ms-excel.addin.macroEnabled.main+xml"
            if kind == "xlam"
            else "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        )
        assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"

        rel_types: dict[str, set[str]] = {}
        for name in names:
            if not name.endswith(".rels"):
                continue
            source = name.replace("_rels/", "").removesuffix(".rels")
            for rel in ET.fromstring(zf.read(name)).findall(f"{rel_ns}Relationship"):
                target = _resolve_target(name, rel.get("Target"))
                assert target in names, (name, rel.get("Target"))
                rel_types.setdefault(source, set()).add(rel.get("Type"))
        assert "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" in rel_types[""]
        assert "http://schemas.microsoft.com/office/2006/relationships/vbaProject" in rel_types["xl/workbook.xml"]
        assert zf.read("customUI/customUI14.xml") == (MACROS / "ribbon.xml").read_bytes()
        main_ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        wb = ET.fromstring(zf.read("xl/workbook.xml"))
        assert wb.find(f"{main_ns}workbookPr").get("codeName") == "ThisWorkbook"
        sheet = ET.fromstring(zf.read("xl/worksheets/sheet1.xml"))
        assert sheet.find(f"{main_ns}sheetPr").get("codeName") == "Sheet1"


def test_build_is_reproducible_and_atomic(tmp_path, built):
    a = build_xlam(tmp_path / "a.xlam")
    b = build_xlam(tmp_path / "b.xlam")
    assert a.read_bytes() == b.read_bytes() == built["xlam"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlam", "b.xlam"]
    # A failing build leaves an existing file untouched and no temp file behind.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ribbon.xml").write_text("<customUI/>", encoding="utf-8")
    (bad / "broken.bas").write_text("no VB_Name line\n", encoding="utf-8")
    with pytest.raises(ValueError):
        build_xlam(a, bad)
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlam", "b.xlam", "bad"]


def test_default_macros_dir_is_the_repo_folder():
    assert default_macros_dir() == MACROS


def test_cli_build_and_lazy_imports(tmp_path):
    import argparse

    from xltools.addin.cli import register

    parser = argparse.ArgumentParser(prog="xltools")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "x.xlam"
    args = parser.parse_args(["addin", "build", "-o", str(out)])
    assert args.func(args) == 0 and zipfile.is_zipfile(out)
    # Neither registering the subcommand nor importing the add-in's runtime package
    # (what RunPython does on every click) may import the build/install modules.
    build_modules = ["xltools.addin." + m for m in ("cfb", "vba", "xlam", "install")]
    for stmt in (
        "import argparse; from xltools.addin.cli import register; "
        "register(argparse.ArgumentParser().add_subparsers())",
        "import xltools.addin",
    ):
        probe = f"import sys; {stmt}; print([m for m in {build_modules!r} if m in sys.modules])"
        res = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
        assert res.stdout.strip().splitlines()[-1] == "[]", stmt


# ----------------------------------------------------------------------------------
# (d) LibreOffice imports the VBA project and runs a macro
# ----------------------------------------------------------------------------------

_UNO_SCRIPT = r'''
import json, subprocess, sys, time, uno
from com.sun.star.beans import PropertyValue

def pv(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

profile, pipe, jobs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
proc = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore", "--nologo",
                         "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
                         "--accept=pipe,name=%s;urp;" % pipe],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
result = {}
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 90
    while True:
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.3)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    for path, script in jobs:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                           (pv("Hidden", True), pv("MacroExecutionMode", 4)))
        libs = doc.BasicLibraries
        info = {"libraries": list(libs.getElementNames()), "modules": {}}
        for name in libs.getElementNames():
            libs.loadLibrary(name)
            lib = libs.getByName(name)
            info["modules"][name] = {m: lib.getByName(m) for m in lib.getElementNames()}
        if script:
            info["returned"] = doc.getScriptProvider().getScript(script).invoke((), (), ())[0]
            info["B2"] = doc.Sheets.getByIndex(0).getCellRangeByName("B2").String
        result[path] = info
        doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        proc.wait(timeout=30)
    except Exception:
        proc.kill()
print(json.dumps(result))
'''


def _uno_python() -> str | None:
    from xltools.lo_recalc import find_uno_python

    return find_uno_python()


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory, built):
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice (soffice) is not installed")
    py = _uno_python()
    if py is None:
        pytest.skip("no Python with the LibreOffice UNO bridge (python3-uno)")
    d = tmp_path_factory.mktemp("lo")
    # LibreOffice 7.4 Basic fails to compile xlwings' module and its Dictionary class
    # (#If/#Const and Attribute lines are fine - measured - so some other construct
    # of theirs) and then runs nothing from that library; the macro test therefore
    # uses a workbook built by the same code without the xlwings modules.
    mdir = d / "macros"
    mdir.mkdir()
    shutil.copy(MACROS / "ribbon.xml", mdir)
    shutil.copy(MACROS / "xltools.bas", mdir)
    (mdir / "XltTest.bas").write_text(
        textwrap.dedent(
            """\
            Attribute VB_Name = "XltTest"
            Option Explicit
            Public Function WriteCell() As String
                Dim s As String
                s = "通过-" & CStr(6 * 7)
                ThisComponent.Sheets.getByIndex(0).getCellRangeByName("B2").String = s
                WriteCell = s & "|" & CodeList(" 2130101，2130102;; 201 ") & "|" & CodeList("2130101');import os") & _
                            "|" & CodeList("  ")
            End Function
            """
        )
        # the 插入科目行 callback's code filter, as written in xltools.bas (that module, with its ribbon
        # types and RunPython, does not compile in LibreOffice Basic; this function alone does)
        + re.search(r"^Private Function CodeList\(.*?^End Function\n", (MACROS / "xltools.bas").read_text(
            encoding="utf-8"), re.M | re.S).group(0),
        encoding="utf-8",
    )
    runnable = build_xlsm(d / "runnable.xlsm", mdir, include_xlwings=False)
    script = f"vnd.sun.star.script:{VBA_PROJECT_NAME}.XltTest.WriteCell?language=Basic&location=document"
    jobs = [[str(built["xlsm"]), None], [str(runnable), script]]
    (d / "probe.py").write_text(_UNO_SCRIPT, encoding="utf-8")
    res = subprocess.run(
        [py, str(d / "probe.py"), str(d / "profile"), f"xlt{os.getpid()}", json.dumps(jobs)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads(res.stdout.strip().splitlines()[-1])
    return data[str(built["xlsm"])], data[str(runnable)]


@pytest.mark.libreoffice
def test_libreoffice_imports_the_vba_project(libreoffice):
    full, _ = libreoffice
    assert VBA_PROJECT_NAME in full["libraries"]
    mods = full["modules"][VBA_PROJECT_NAME]
    assert set(mods) == {"ThisWorkbook", "Sheet1", "xltools", "xlwings", "Dictionary"}
    assert mods["ThisWorkbook"].startswith("Rem Attribute VBA_ModuleType=VBADocumentModule")
    assert mods["Sheet1"].startswith("Rem Attribute VBA_ModuleType=VBADocumentModule")
    assert mods["Dictionary"].startswith("Rem Attribute VBA_ModuleType=VBAClassModule")
    assert mods["xltools"].startswith("Rem Attribute VBA_ModuleType=VBAModule")
    # Chinese text came through the cp936 code page intact.
    assert '"正在校验…"' in mods["xltools"]
    for sub in CALLBACKS:
        assert f"Sub {sub}(control As IRibbonControl)" in mods["xltools"]
    assert 'PROJECT_NAME As String = "xltools"' in mods["xlwings"]


@pytest.mark.libreoffice
def test_libreoffice_runs_a_macro_from_the_built_project(libreoffice):
    _, runnable = libreoffice
    # and the 插入科目行 callback's code list (xltools.bas, run by LibreOffice Basic): digits and single
    # spaces, "?" for anything else (nothing else reaches the Python command), "" for nothing typed
    assert runnable["returned"] == "通过-42|2130101 2130102 201|?|"
    assert runnable["B2"] == "通过-42"


# ----------------------------------------------------------------------------------
# (e) install / uninstall
# ----------------------------------------------------------------------------------


def test_install_and_uninstall_into_temp_xlstart(tmp_path, built):
    xlstart = tmp_path / "XLSTART"
    conf = tmp_path / "home" / ".xltools" / "xltools.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes(b'"CONDA PATH","C:\\\\conda"\r\n"INTERPRETER_WIN","C:\\\\old\\\\python.exe"\r\n')
    msgs: list[str] = []
    rc = install(xlstart, config_path=conf, addin=built["xlam"], platform="win32", out=msgs.append)
    assert rc == 0
    assert (xlstart / ADDIN_FILENAME).read_bytes() == built["xlam"].read_bytes()
    values = read_config(conf, "win32")
    assert values["INTERPRETER_WIN"] == sys.executable
    assert values["ADD_WORKBOOK_TO_PYTHONPATH"] == "False"
    assert values["CONDA PATH"] == "C:\\\\conda"  # the user's own keys are kept
    assert f'"INTERPRETER_WIN","{sys.executable}"\r\n'.encode("gbk") in conf.read_bytes()
    assert any("安装完成" in m for m in msgs)

    rc = uninstall(xlstart, config_path=conf, platform="win32", out=msgs.append)
    assert rc == 0
    assert not (xlstart / ADDIN_FILENAME).exists()
    assert read_config(conf, "win32") == {"CONDA PATH": "C:\\\\conda"}


def test_install_builds_when_no_addin_given_and_mac_key(tmp_path):
    xlstart = tmp_path / "Excel"
    conf = tmp_path / "xltools.conf"
    assert install(xlstart, config_path=conf, platform="linux", out=lambda m: None) == 0
    assert zipfile.is_zipfile(xlstart / ADDIN_FILENAME)
    assert read_config(conf, "linux")["INTERPRETER_WIN"] == sys.executable
    assert uninstall(xlstart, config_path=conf, platform="linux", out=lambda m: None) == 0
    assert not conf.exists() and not (xlstart / ADDIN_FILENAME).exists()


def test_dry_run_writes_nothing(tmp_path, built):
    xlstart = tmp_path / "XLSTART"
    conf = tmp_path / "c" / "xltools.conf"
    msgs: list[str] = []
    assert install(xlstart, config_path=conf, dry_run=True, platform="win32", out=msgs.append) == 0
    assert list(tmp_path.iterdir()) == []
    assert any(sys.executable in m for m in msgs)


def test_no_excel_exits_cleanly_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    for platform in ("linux", "win32", "darwin"):
        msgs: list[str] = []
        assert install(platform=platform, out=msgs.append) == 0
        assert msgs and ("Excel" in msgs[0])
        assert uninstall(platform=platform, out=lambda m: None) == 0
    assert list(tmp_path.iterdir()) == []
    # The CLI path too: exit code 0, Chinese message, nothing written.
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=str(REPO))
    res = subprocess.run(
        [sys.executable, "-m", "xltools.addin.cli", "addin", "install"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    if sys.platform not in ("win32", "darwin"):
        assert res.returncode == 0 and "Excel" in res.stdout
        assert list(tmp_path.iterdir()) == []


def test_xlstart_and_config_locations(tmp_path):
    env = {"APPDATA": str(tmp_path / "Roaming"), "USERPROFILE": str(tmp_path / "me")}
    assert find_xlstart("win32", env, tmp_path) is None
    (tmp_path / "Roaming" / "Microsoft" / "Excel").mkdir(parents=True)
    assert find_xlstart("win32", env, tmp_path) == tmp_path / "Roaming" / "Microsoft" / "Excel" / "XLSTART"
    assert default_config_path("win32", env, tmp_path) == tmp_path / "me" / ".xltools" / "xltools.conf"

    assert find_xlstart("darwin", {}, tmp_path) is None
    (tmp_path / "Library" / "Group Containers" / "UBF8T346G9.Office").mkdir(parents=True)
    assert find_xlstart("darwin", {}, tmp_path) == (
        tmp_path / "Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel"
    )
    assert default_config_path("darwin", {}, tmp_path) == (
        tmp_path / "Library/Containers/com.microsoft.Excel/Data/xltools.conf"
    )
    assert find_xlstart("linux", {}, tmp_path) is None


def test_compression_equals_spec_for_a_raw_chunk():
    import random

    data = random.Random(7).randbytes(3900) + b"tail" * 30  # first chunk stored raw
    container = vba.compress(data)
    assert struct.unpack_from("<H", container, 1)[0] >> 15 == 0
    assert container == _spec_compress(data)
    _roundtrip_ok(data, container)
