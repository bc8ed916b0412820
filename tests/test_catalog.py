"""Tests for xltools.catalog against the real seed documents in /work/shared.

The seed tables are parsed here (not hard-coded): every 科目 row printed in a seed is looked up in the
catalog and its printed name must match. Rows where a seed prints a wrong name are findings for the
product and are listed in SEED_FINDINGS with the reason; the test asserts they still mismatch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from xltools import catalog
from xltools.catalog import Catalog, Subject, load_user_csv, normalize_code, normalize_name

SHARED = Path(os.environ.get("XLTOOLS_SHARED", "/work/shared"))
SEEDS = sorted((SHARED / "seeds").glob("*.txt"))
REFERENCES = sorted((SHARED / "reference").glob("*.txt"))

needs_seeds = pytest.mark.skipif(not SEEDS, reason="seed documents not available")


# ---------------------------------------------------------------------------
# seed parsing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    doc: str  # file name
    line: int  # 1-based line of the code
    kind: str  # functional | economic
    code: str
    name: str  # printed name (may be cut or wrapped by the PDF extraction)


# a name: starts with a non-digit, non-space character; may contain single spaces between parts
_NAME_PART = r"[^\d\s,.]+(?: [^\d\s,.]+)*"
# 7-digit functional code at the start of a line, optionally followed by its name on the same line
_FUNC7_RE = re.compile(r"^\s*(2\d{6})(?:\s+(" + _NAME_PART + r"))?\s*(?:[-\d,.\s—]*)$")
# 3- or 5-digit functional code at the start of a line followed by a name (budget tables print 类/款 rows)
_FUNC35_RE = re.compile(r"^\s*(2\d{2}(?:\d{2})?)\s+(" + _NAME_PART + r")")
# split “201 06 01 行政运行” (Shanghai layout) into one code
_SPLIT_CODE_RE = re.compile(r"^\s*(2\d{2}) (\d{2})(?: (\d{2}))?(?=\s)")
# economic codes anywhere in a line of the 基本支出 table: “30101 基本工资 7,728,302.0030201 办公费 …”
_ECON_RE = re.compile(r"(?<![\d.,])(3\d{2}(?:\d{2})?)\s+(" + _NAME_PART + r")")


def _unglue_amounts(line: str) -> str:
    # “7,728,302.0030201” -> “7,728,302.00 30201”: amounts have 2 decimals and the next code follows at once
    return re.sub(r"(\.\d\d)(?=\d)", r"\1 ", line)


def _functional_rows(doc: str, lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    for i, raw in enumerate(lines):
        line = _SPLIT_CODE_RE.sub(lambda m: " " + "".join(g for g in m.groups() if g), raw)
        m = _FUNC7_RE.match(line)
        if m:
            name = m.group(2) or ""
            if not name and line.strip() == m.group(1):
                # the name wrapped onto the following lines (up to the line with the amounts)
                parts = []
                for nxt in lines[i + 1 : i + 6]:
                    t = nxt.strip()
                    if not t:
                        continue
                    if t[0].isdigit() or t[0] in "-—":  # the amounts, or the next row
                        break
                    parts.append(t)
                name = "".join(parts)
            rows.append(Row(doc, i + 1, "functional", m.group(1), name))
            continue
        m = _FUNC35_RE.match(line)
        if m:
            code, name = m.group(1), m.group(2)
            # narrative lines such as “200 万元 …” or “20000 人 …” are not table rows: a row's class is in
            # 201–234, and a 类 row names a 支出 (or 预备费)
            if not 201 <= int(code[:3]) <= 234:
                continue
            if len(code) == 3 and not (name.endswith("支出") or name == "预备费"):
                continue
            rows.append(Row(doc, i + 1, "functional", m.group(1), name))
    return rows


def _economic_rows(doc: str, lines: list[str]) -> list[Row]:
    """Rows of the 基本支出 (economic classification) table: from the line starting with “301 ” to the
    table's end (a 注 line, the 人员经费合计 line, or the next table title)."""
    rows: list[Row] = []
    inside = False
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not inside:
            # the table starts with the 301 工资福利支出 row (its name on the same line; the 普陀 layout,
            # which splits codes and letter-spaces names across columns, is not parsed)
            if re.match(r"^301\s+[^\d\s]", s):
                inside = True
            else:
                continue
        elif s.startswith(("注", "人员经费合计")) or "三公" in s:
            inside = False
            continue
        for m in _ECON_RE.finditer(_unglue_amounts(raw)):
            rows.append(Row(doc, i + 1, "economic", m.group(1), m.group(2)))
    return rows


def parse_rows(path: Path) -> list[Row]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return _functional_rows(path.name, lines) + _economic_rows(path.name, lines)


SEED_ROWS = [r for p in SEEDS for r in parse_rows(p)]
REFERENCE_ROWS = [r for p in REFERENCES for r in parse_rows(p)]


# Printed names that do not match the catalog: real errors in the published seed documents.
# (doc prefix, code, printed name) -> reason
SEED_FINDINGS = {
    ("000_", "30299", "其他商品服务支出"): "official name is 其他商品和服务支出 (missing 和)",
    ("001_", "30399", "其他对个人和家庭的补助支出"): "official name is 其他对个人和家庭的补助 (extra 支出)",
    ("001_", "201", "卫生健康支出"): "卫生健康支出 is class 210; 201 is 一般公共服务支出 (wrong class code)",
}


def _finding(row: Row) -> str | None:
    for (prefix, code, name), reason in SEED_FINDINGS.items():
        if row.doc.startswith(prefix) and row.code == code and normalize_name(row.name) == normalize_name(name):
            return reason
    return None


def _cat(kind: str) -> Catalog:
    return catalog.functional() if kind == "functional" else catalog.economic()


# ---------------------------------------------------------------------------
# the parser finds what we expect it to find (guards against a silently empty test)
# ---------------------------------------------------------------------------


@needs_seeds
def test_seed_parser_finds_the_tables():
    docs = {r.doc[:4] for r in SEED_ROWS}
    assert {"000_", "001_", "002_"} <= docs
    func7 = {r.code for r in SEED_ROWS if r.kind == "functional" and len(r.code) == 7}
    econ5 = {r.code for r in SEED_ROWS if r.kind == "economic" and len(r.code) == 5}
    # every 7-digit code a plain grep finds at the start of a seed line is parsed as a row
    grep7 = set()
    for p in SEEDS:
        grep7 |= set(re.findall(r"(?m)^\s*(2\d{6})(?![\d.,])", p.read_text(encoding="utf-8")))
    assert grep7 and grep7 <= func7
    assert len(func7) >= 30 and len(econ5) >= 70
    # no amount fragment was taken for a code (“2,111,176.80” contains 2111176)
    assert "2111176" not in func7


# ---------------------------------------------------------------------------
# seeds and references against the catalog
# ---------------------------------------------------------------------------


@needs_seeds
@pytest.mark.parametrize("kind", ["functional", "economic"])
def test_every_seed_code_is_in_the_catalog(kind):
    cat = _cat(kind)
    missing = sorted(
        {(r.code, r.name, r.doc, r.line) for r in SEED_ROWS if r.kind == kind and cat.get(r.code) is None}
    )
    missing = [m for m in missing if _finding(Row(m[2], m[3], kind, m[0], m[1])) is None]
    assert missing == []


@needs_seeds
@pytest.mark.parametrize("kind", ["functional", "economic"])
def test_every_seed_name_matches_the_catalog(kind):
    cat = _cat(kind)
    bad = []
    for r in SEED_ROWS:
        if r.kind != kind or cat.get(r.code) is None or _finding(r):
            continue
        if not cat.matches_name(r.code, r.name):
            bad.append((r.doc, r.line, r.code, r.name, cat.name(r.code)))
    assert bad == []


@needs_seeds
def test_seed_findings_are_still_findings():
    """Each listed seed error occurs in the seeds and really does not match the catalog."""
    seen = set()
    for r in SEED_ROWS:
        reason = _finding(r)
        if reason:
            seen.add((r.doc[:4], r.code, normalize_name(r.name)))
            assert not _cat(r.kind).matches_name(r.code, r.name), (r, reason)
    expected = {(p, c, normalize_name(n)) for (p, c, n) in SEED_FINDINGS}
    assert seen == expected


@needs_seeds
def test_wrong_class_code_finding_names_the_right_class():
    fc = catalog.functional()
    assert [s.code for s in fc.find_by_name("卫生健康支出", level="类")] == ["210"]
    assert fc.name("201") == "一般公共服务支出"


@pytest.mark.skipif(not REFERENCES, reason="reference documents not available")
def test_reference_codes_are_in_the_catalog_and_names_fit():
    """The Shanghai template and the 普陀 publication. Their PDF extraction wraps names over two or three
    lines and only a fragment lands on the code's line (“208 05 05 缴费支出”, “20799 体育与传媒支”), or none
    (“201 06 01 1,511.89”), so here a printed fragment of the official name is accepted as a layout
    artefact (the API does not accept fragments)."""
    assert REFERENCE_ROWS
    bad = []
    for r in REFERENCE_ROWS:
        cat = _cat(r.kind)
        s = cat.get(r.code)
        if s is None:
            bad.append((r.doc, r.line, r.code, r.name, None))
            continue
        printed = normalize_name(r.name)
        if cat.matches_name(r.code, r.name) or printed in normalize_name(s.name):
            continue
        bad.append((r.doc, r.line, r.code, r.name, s.name))
    assert bad == []


_CLASS_LINE_RE = re.compile(r"(?:^|\s)[一二三四五六七八九十]+、([^\s\d：:]+?支出)(?=\s+\d)", re.M)


@needs_seeds
def test_class_names_of_the_summary_tables_are_catalog_classes():
    """公开01 收入支出决算总表 lists the 类 by name only (“十九、住房保障支出 49 …”): each must be a 类."""
    fc = catalog.functional()
    checked = 0
    classes = set()
    for path in SEEDS + REFERENCES:
        text = path.read_text(encoding="utf-8")
        if "一、一般公共服务支出" not in text:
            continue  # not a 决算 with a 收入支出总表
        for name in set(_CLASS_LINE_RE.findall(text)):
            found = fc.find_by_name(name, level="类")
            assert len(found) == 1, (path.name, name, found)
            checked += 1
            classes.add(found[0].code)
    assert checked >= 50 and len(classes) >= 24


@needs_seeds
def test_truncated_printed_names_match_by_prefix():
    fc = catalog.functional()
    truncated = [
        r
        for r in SEED_ROWS
        if r.kind == "functional"
        and fc.get(r.code)
        and normalize_name(r.name) != normalize_name(fc.name(r.code))
        and fc.matches_name(r.code, r.name)
    ]
    # seed 000 公开05 prints 机关事业单位基本养老 / 其他社会保障和就业支 (cut by the PDF cell)
    assert {("2080505", "机关事业单位基本养老"), ("2089999", "其他社会保障和就业支")} <= {
        (r.code, normalize_name(r.name)) for r in truncated
    }


# ---------------------------------------------------------------------------
# structure of the built-in data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["functional", "economic"])
def test_levels_and_parents_are_consistent(kind):
    cat = _cat(kind)
    assert len(cat) > 0
    for s in cat:
        assert s.kind == kind
        assert normalize_code(s.code) == s.code
        assert s.level == {3: "类", 5: "款", 7: "项"}[len(s.code)]
        if s.level != "类":
            parent = cat.parent(s.code)
            assert parent is not None and cat.get(parent) is not None, f"{s.code} has no parent {parent}"
            assert cat.get(cat.class_of(s.code)).level == "类"
            assert s in cat.children(parent)
        assert s.name and s.name == s.name.strip()
        assert s.since is None or s.until is None or s.since <= s.until
    if kind == "economic":
        assert cat.codes("项") == []


@pytest.mark.parametrize("kind", ["functional", "economic"])
def test_no_duplicate_codes_in_the_data_files(kind):
    import csv

    path = Path(catalog.__file__).parent / "data" / f"{kind}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0].keys()) == ["code", "level", "name", "since", "until", "aliases"]
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes), "data file must be sorted by code"
    assert len(rows) == len(_cat(kind))


def test_class_lists():
    fc = catalog.functional()
    codes = [s.code for s in fc.classes()]
    assert codes == sorted(codes)
    for code, name in [
        ("201", "一般公共服务支出"),
        ("208", "社会保障和就业支出"),
        ("227", "预备费"),
        ("229", "其他支出"),
        ("230", "转移性支出"),
        ("231", "债务还本支出"),
        ("232", "债务付息支出"),
        ("233", "债务发行费用支出"),
        ("234", "抗疫特别国债安排的支出"),
    ]:
        assert fc.name(code) == name
    ec = catalog.economic()
    assert [s.code for s in ec.classes()] == ["301", "302", "303", "307", "309", "310", "311", "312", "313", "399"]


def test_aliases_resolve():
    fc = catalog.functional()
    for s in list(fc) + list(catalog.economic()):
        cat = _cat(s.kind)
        for alias in s.aliases:
            assert alias != s.name
            assert cat.matches_name(s.code, alias)
            assert s in cat.find_by_name(alias)
    assert fc.matches_name("207", "文化体育与传媒支出")
    assert fc.matches_name("20805", "行政事业单位离退休")
    assert fc.matches_name("210", "医疗卫生与计划生育支出")


def test_matches_name_rules():
    fc, ec = catalog.functional(), catalog.economic()
    assert fc.matches_name("2080505", "机关事业单位基本养老保险缴费支出")
    assert fc.matches_name(2080505.0, " 机关事业单位 基本养老保险\n缴费支出 ")  # whitespace ignored
    assert not fc.matches_name("2080505", "机关事业单")  # 5 characters: too short to be a cut name
    assert fc.matches_name("2080505", "机关事业单位")  # 6 characters: accepted as a cut name
    assert not fc.matches_name("2080505", "机关事业单位职业年金缴费支出")
    assert not fc.matches_name("9999999", "anything")
    assert not fc.matches_name("2080505", "")
    assert ec.matches_name("30213", "维修(护)费")  # half-width brackets
    assert ec.matches_name("30212", "因公出国（境）费用")
    assert ec.matches_name("301", "一、工资福利支出")  # outline number dropped
    assert fc.matches_name("208", "八、社会保障和就业支出")
    assert fc.matches_name("2101101", "行政单位医疗")


def test_year_filter_and_valid_in():
    ec = catalog.economic()
    assert ec.valid_in("39906", 2022) and not ec.valid_in("39906", 2023)
    assert ec.valid_in("39909", 2023) and not ec.valid_in("39909", 2022)
    assert ec.valid_in("30101", 1990)
    assert not ec.valid_in("12345", 2023)
    assert catalog.economic(2023).get("39906") is None
    assert catalog.economic(2022).get("39906").name == "赠与"
    assert catalog.functional(2019).get("234") is None
    assert catalog.functional(2024).get("234") is not None


def test_navigation():
    fc = catalog.functional()
    assert fc.parent("2080505") == "20805"
    assert fc.parent("20805") == "208"
    assert fc.parent("208") is None
    assert fc.parent("abc") is None
    assert fc.class_of(2080505) == "208"
    kids = [s.code for s in fc.children("20805")]
    assert "2080505" in kids and kids == sorted(kids)
    assert all(len(c) == 3 for c in fc.codes("类"))
    assert set(fc.codes()) == set(fc.codes("类")) | set(fc.codes("款")) | set(fc.codes("项"))
    with pytest.raises(ValueError):
        fc.codes("级")
    s = fc.get(" 2080505.0")
    assert isinstance(s, Subject) and s.level == "项" and s.kind == "functional"
    assert "2080505" in fc and "2080504x" not in fc


# ---------------------------------------------------------------------------
# normalize_code
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (2080505, "2080505"),
        (2080505.0, "2080505"),
        ("2080505", "2080505"),
        ("2080505 ", "2080505"),
        (" 2080505\t", "2080505"),
        ("208 05 05", "2080505"),
        ("２０８０５０５", "2080505"),
        ("２０８ ０５ ０５", "2080505"),
        ("2080505.0", "2080505"),
        ("2080505.00", "2080505"),
        ("30101", "30101"),
        (301, "301"),
        ("301\u3000", "301"),
    ],
)
def test_normalize_code_accepts(value, expected):
    assert normalize_code(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "  ", "abc", "20801x", "2080505.5", 2080505.5, float("nan"), True, "2080", "208050", "20805050",
     "0801", -208, "合计", "208-05-05x"],
)
def test_normalize_code_rejects(value):
    assert normalize_code(value) is None


def test_normalize_code_on_seed_codes():
    for r in SEED_ROWS:
        assert normalize_code(r.code) == r.code
        assert normalize_code(float(r.code)) == r.code
        assert normalize_code(" ".join(r.code)) == r.code


# ---------------------------------------------------------------------------
# user CSV files
# ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_user_csv_merges(tmp_path):
    p = _write(
        tmp_path,
        "my.csv",
        "code,name,aliases\n"
        "2080208,基层政权建设和社区治理,基层政权和社区建设\n"
        "2080505,机关事业单位基本养老保险缴费支出（本地）,\n"
        "31101,资本金注入,\n",
    )
    subjects = load_user_csv(p)
    assert [(s.kind, s.code, s.level) for s in subjects] == [
        ("functional", "2080208", "项"),
        ("functional", "2080505", "项"),
        ("economic", "31101", "款"),
    ]
    fc = catalog.functional(extra=[p])
    assert fc.name("2080208") == "基层政权建设和社区治理"
    assert fc.matches_name("2080208", "基层政权和社区建设")
    assert fc.name("2080505") == "机关事业单位基本养老保险缴费支出（本地）"  # the user's row wins
    assert fc.get("31101") is None  # economic rows do not leak into the functional catalog
    ec = catalog.economic(extra=[p])
    assert ec.name("31101") == "资本金注入"
    assert ec.parent("31101") == "311" and ec.get("311") is not None
    # the built-in catalog is unchanged
    assert catalog.functional().get("2080208") is None
    assert catalog.functional().name("2080505") == "机关事业单位基本养老保险缴费支出"


def test_user_csv_kind_column_bom_and_gbk(tmp_path):
    p = _write(tmp_path, "科目.csv", "\ufeffkind,code,level,name,since,until\n经济,30101,款,基本工资,2018,\n")
    (s,) = load_user_csv(p)
    assert (s.kind, s.code, s.since, s.until) == ("economic", "30101", 2018, None)
    g = _write(tmp_path, "gbk.csv", "code,name\n2080208,基层政权建设和社区治理\n", encoding="gbk")
    assert load_user_csv(g)[0].name == "基层政权建设和社区治理"


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("code,name\n2080101,行政运行\n20801x,坏编码\n", 3, "科目编码“20801x”不是数字"),
        ("code,name\n2080,四位\n", 2, "位数不对"),
        ("code,name\n2080101,\n", 2, "科目名称为空"),
        ("code,name\n2080101,a\n2080101,b\n", 3, "重复（第 2 行已有）"),
        ("code,level,name\n20801,项,x\n", 2, "级次“项”与科目编码“20801”的位数不符"),
        ("code,name,since,until\n20801,x,2024,2020\n", 2, "起始年度 2024 晚于终止年度 2020"),
        ("code,name,since\n20801,x,24年\n", 2, "起始年度“24年”不是四位年份"),
        ("kind,code,name\neconomic,3010101,x\n", 2, "经济分类科目只有类（3 位）和款（5 位）"),
        ("kind,code,name\n其他,30101,x\n", 2, "分类“其他”应为"),
        ("code,name\n1010101,x\n", 2, "无法判断科目编码“1010101”"),
    ],
)
def test_user_csv_errors_name_file_and_line(tmp_path, body, line, message):
    p = _write(tmp_path, "my.csv", body)
    with pytest.raises(ValueError) as ei:
        load_user_csv(p)
    text = str(ei.value)
    assert text.startswith(f"科目文件 my.csv 第 {line} 行：")
    assert message in text


def test_user_csv_error_message_exact(tmp_path):
    rows = "".join(f"20801{i:02d},项{i}\n" for i in range(1, 6))
    p = _write(tmp_path, "my.csv", "code,name\n" + rows + "20801x,坏\n")
    with pytest.raises(ValueError, match=r"^科目文件 my\.csv 第 7 行：科目编码“20801x”不是数字$"):
        load_user_csv(p)


def test_user_csv_missing_columns_and_file(tmp_path):
    p = _write(tmp_path, "my.csv", "编码,名称\n2080101,行政运行\n")
    with pytest.raises(ValueError, match="科目文件 my.csv 第 1 行：表头缺少列 code、name"):
        load_user_csv(p)
    with pytest.raises(ValueError, match="科目文件 nope.csv 无法读取"):
        load_user_csv(tmp_path / "nope.csv")


def test_user_csv_reread_after_edit(tmp_path):
    p = _write(tmp_path, "my.csv", "code,name\n2080208,甲\n")
    assert catalog.functional(extra=[p]).name("2080208") == "甲"
    st = p.stat()
    p.write_text("code,name\n2080208,乙\n", encoding="utf-8")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert catalog.functional(extra=[p]).name("2080208") == "乙"


def test_import_is_light():
    """The add-in imports the catalog on every click: no third-party imports, no data read at import."""
    import subprocess
    import sys

    code = (
        "import sys, xltools.catalog as c;"
        "bad=[m for m in ('openpyxl','yaml','jinja2','xlwings','pandas') if m in sys.modules];"
        "assert not bad, bad;"
        "assert c._builtin.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# ---------------------------------------------------------------------------
# the corpus: every code printed in any PDF of ../shared/corpus
# ---------------------------------------------------------------------------

CORPUS = SHARED / "corpus"
CORPUS_SNAPSHOT = Path(__file__).parent / "data" / "corpus_codes.json"


def _corpus_codes_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "corpus_codes.py"
    spec = importlib.util.spec_from_file_location("corpus_codes", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _corpus_rows() -> list[tuple[str, int, str, str]]:
    """(document, page, code, printed name) of the snapshot scripts/corpus_codes.py wrote."""
    import json

    snap = json.loads(CORPUS_SNAPSHOT.read_text(encoding="utf-8"))
    return [(doc, page, code, name) for doc, d in snap["documents"].items() for code, name, page in d["rows"]]


def _year_of(doc: str) -> int:
    return int(re.search(r"20\d\d", doc.rsplit("/", 1)[-1]).group(0))


def _layout_artefact(cat: Catalog, code: str, printed: str) -> bool:
    """A PDF cell that is not the whole name: a fragment (≥ 4 characters) of a wrapped name (“体育与传媒支” of
    其他文化旅游体育与传媒支出), or a 类 code beside the name of one of its 款 whose two digits the layout printed
    on another line (“302 因公出国（境）费” for 30212 in the 普陀 决算)."""
    s = cat.get(code)
    p = normalize_name(printed)
    if len(p) >= 4 and any(p in normalize_name(n) for n in (s.name, *s.aliases)):
        return True
    return len(code) == 3 and any(normalize_name(c.name).startswith(p) for c in cat.children(code))


def test_every_code_printed_in_the_corpus_is_in_the_catalog():
    rows = _corpus_rows()
    codes = {(code[0], len(code)) for _, _, code, _ in rows}
    # the extraction found codes of every level: 类/款/项 of 功能分类 and 类/款 of 经济分类
    assert {("2", 3), ("2", 5), ("2", 7), ("3", 3), ("3", 5)} <= codes
    assert len({code for _, _, code, _ in rows}) >= 180 and len({doc for doc, *_ in rows}) >= 20
    missing, misnamed, artefacts = [], [], []
    for doc, page, code, name in rows:
        year = _year_of(doc)
        cat = catalog.functional(year) if code[0] == "2" else catalog.economic(year)
        if cat.get(code) is None:
            missing.append((code, name, doc, page))
        elif not cat.matches_name(code, name):
            (artefacts if _layout_artefact(cat, code, name) else misnamed).append((code, name, doc, page))
    assert missing == []
    assert misnamed == []
    assert len(artefacts) <= 10, artefacts


def test_former_economic_names_hold_only_for_their_editions():
    """江苏 2017 budgets print the pre-2018 经济分类: 30311 住房公积金 (today 代缴社会保险费), 30307 医疗费,
    310 其他资本性支出. The 2017 catalog accepts them; a 2018+ catalog does not."""
    printed_2017 = {(code, name) for doc, _, code, name in _corpus_rows() if _year_of(doc) == 2017}
    for code, old, current in (("30311", "住房公积金", "代缴社会保险费"), ("30307", "医疗费", "医疗费补助"),
                               ("310", "其他资本性支出", "资本性支出")):
        assert (code, old) in printed_2017
        assert catalog.economic(2017).matches_name(code, old)
        assert not catalog.economic(2018).matches_name(code, old)
        assert not catalog.economic(2024).matches_name(code, old)
        assert catalog.economic(2024).matches_name(code, current)
    # the 2018 and 2019 江苏 budgets print the current names
    later = {(code, name) for doc, _, code, name in _corpus_rows() if _year_of(doc) in (2018, 2019)}
    assert ("30113", "住房公积金") in later and ("30311", "住房公积金") not in later


def test_dated_alias_in_a_user_csv(tmp_path):
    p = tmp_path / "extra.csv"
    p.write_text("code,name,aliases\n2990101,新项目,旧名称@-2019|更旧名称@2010-2012\n", encoding="utf-8")
    assert catalog.functional(2019, extra=[p]).matches_name("2990101", "旧名称")
    assert not catalog.functional(2020, extra=[p]).matches_name("2990101", "旧名称")
    assert catalog.functional(2011, extra=[p]).matches_name("2990101", "更旧名称")
    assert not catalog.functional(2013, extra=[p]).matches_name("2990101", "更旧名称")
    p.write_text("code,name,aliases\n2990101,新项目,旧名称@2019年\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"extra.csv 第 2 行：别名“旧名称@2019年”的年度写法"):
        load_user_csv(p)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not available")
def test_corpus_snapshot_is_what_the_extractor_reads():
    """The snapshot lists every PDF of the corpus (by name and size), and re-extracting a 江苏 2017 table file,
    a 上海 budget and the 上海 决算 (name above its code) gives exactly the rows it holds."""
    import json

    mod = _corpus_codes_module()
    snap = json.loads(CORPUS_SNAPSHOT.read_text(encoding="utf-8"))["documents"]
    on_disk = {p.relative_to(CORPUS).as_posix(): p.stat().st_size for p in CORPUS.rglob("*.pdf")}
    assert {k: v["size"] for k, v in snap.items()} == on_disk, "run python scripts/corpus_codes.py"
    for rel in ("jiangsu/江苏省委办公厅--江苏省委办公厅2017年预算公开表格.pdf",
                "shanghai/普陀区司法局-2026-单位预算.pdf",
                "shanghai/普陀区财政局-2024-部门决算.pdf"):
        assert [list(r) for r in mod.extract(CORPUS / rel)] == snap[rel]["rows"], rel


def test_corpus_row_parser_on_printed_layouts():
    mod = _corpus_codes_module()
    text = ("行政运行\n201 06 01 1,511.90 1,511.89 0.01\n机关事业单位基本养老保险\n208 05 05 缴费支出 160.75 160.75\n"
            "301 2 津贴补贴 16,623,810 16,623,810 0\n机关事业单位基本养老保险\n30108 1,064.46\n缴费\n"
            "30109 职业年金缴费 425.79\n住房 200 万元\n有 338 名\n7,728,302.0030201 办公费 1.00")
    assert mod.rows_of_text(text) == [
        ("2010601", "行政运行"), ("2080505", "机关事业单位基本养老保险缴费支出"), ("30102", "津贴补贴"),
        ("30108", "机关事业单位基本养老保险"), ("30109", "职业年金缴费"), ("30201", "办公费")]


def test_codes_of_the_revision_notices_hold_from_their_edition():
    """财预〔2024〕22号 adds 22006 (and 2300412) to the 2024 edition, 财预〔2025〕41号 adds 22911 and 23107 to 2025:
    a catalog of an earlier edition does not have them (SOURCES.md, “Codes from 财政部 revision notices”)."""
    for code, since in (("22006", 2024), ("2300412", 2024), ("22911", 2025), ("23107", 2025)):
        assert catalog.functional(since - 1).get(code) is None, code
        assert catalog.functional(since).get(code) is not None, code
        assert catalog.functional(2026).parent(code) in catalog.functional(2026)
    assert catalog.functional(2024).name("22006") == "耕地保护考核奖惩基金支出"
    assert catalog.functional(2023).name("23004") == "政府性基金转移支付"
