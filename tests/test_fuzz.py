"""Untrusted input (issue 10, reading): every hostile or damaged input ends in a Chinese message and exit
0/1/2 — never a traceback, an abort, a hang, gigabytes of memory, or a file written outside the output
folder.

Structural cases come from tests/fuzzcorpus.py (truncated and byte-flipped files, XXE, entity and zip
bombs, far cells, 10⁶ rows, merged cells, date formats, formula text, encodings, YAML bombs, symlinks,
FIFOs); hypothesis types values and strings into the sample workbook's input cells and into a data
folder's CSV. Each case runs ``xltools.cli.main`` in a forked child (tests/fuzzrun.py) with its own cwd
and TMPDIR, and is measured there.
"""
from __future__ import annotations

import atexit
import csv
import io
import json
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzcorpus as fc
from fuzzrun import run_main, snapshot, warm

GB = 2**30
MAX_SECONDS = 30
_CJK = re.compile(r"[\u4e00-\u9fff]")
# three English words in a row, outside parentheses, is library text leaking into a message
_ENGLISH = re.compile(r"[A-Za-z]{3,}(?:[ ,:'-]+[A-Za-z]{3,}){2,}")
_PARENS = re.compile(r"（[^（）]*）|\([^()]*\)")

_CORPUS = Path(tempfile.mkdtemp(prefix="xltools-fuzz-"))
atexit.register(shutil.rmtree, _CORPUS, True)
CASES = {c.name: c for c in fc.build(_CORPUS / "corpus")}
SAMPLES_BEFORE = snapshot(fc.ROOT / "samples")


@pytest.fixture(scope="module", autouse=True)
def _warm():
    out = _CORPUS / "warm"
    out.mkdir(exist_ok=True)
    warm([["check", str(fc.SAMPLE_XLSX), "--json"],
          ["generate", str(fc.SAMPLE_DIR), "-o", str(out / "w.xlsx")],
          ["check-narrative", str(fc.SAMPLE_DIR / "published" / "情况说明.txt"), "--against", str(out / "w.xlsx")]])


def _english_outside_parens(text: str) -> list[str]:
    bad = []
    for line in text.splitlines():
        if line.lstrip().startswith(("{", "}", "[", "]", '"')):   # JSON structure, checked separately
            continue
        stripped = line
        for _ in range(3):   # nested parentheses
            stripped = _PARENS.sub("", stripped)
        stripped = re.sub(r"\S*[/\\.]\S*", "", stripped)   # paths and file names
        if _ENGLISH.search(stripped):
            bad.append(line)
    return bad


def _assert_sane(r, case_dir: Path, before: dict, expect, usage: bool = False) -> None:
    text = r.stdout + r.stderr
    assert not r.timed_out, f"hung for {MAX_SECONDS} s"
    assert r.signal is None, f"killed by signal {r.signal}: {r.stderr[-2000:]}"
    assert "Traceback" not in text, text[-3000:]
    assert r.code in (0, 1, 2), (r.code, text[-2000:])
    assert r.code in expect, (r.code, text[-2000:])
    assert r.max_rss < GB, f"peak memory {r.max_rss / 2**20:.0f} MB"
    assert r.seconds < MAX_SECONDS
    if r.code == 2:
        assert _CJK.search(text), text
    if not usage:   # argparse's own usage text is translated elsewhere (issue: Chinese argparse messages)
        assert not _english_outside_parens(text), _english_outside_parens(text)
    # nothing written outside out/ (the output folder) and tmp/ (where a crash log would go)
    assert snapshot(case_dir, skip=("out", "tmp")) == before
    logs = list((case_dir / "tmp").glob("xltools-*.log"))
    assert not logs, logs[0].read_text(encoding="utf-8")[-3000:]


def _run(argv: list[str], case_dir: Path, expect, timeout: float = MAX_SECONDS, usage: bool = False):
    (case_dir / "tmp").mkdir(exist_ok=True)
    (case_dir / "out").mkdir(exist_ok=True)
    before = snapshot(case_dir, skip=("out", "tmp"))
    r = run_main(argv, cwd=case_dir / "out", tmp=case_dir / "tmp", timeout=timeout)
    _assert_sane(r, case_dir, before, expect, usage)
    return r


# ---------------------------------------------------------------- structural corpus

@pytest.mark.parametrize("name", sorted(CASES))
def test_structural_case(name):
    case = CASES[name]
    if case.needs and not fc.materialize(case):
        pytest.skip(f"this system cannot make a {case.needs}")
    case_dir = Path(case.root)
    r = _run(case.argv, case_dir, case.expect, usage=name.startswith("usage-"))
    text = r.stdout + r.stderr
    if case.expect == frozenset({2}) and name not in ("usage-json", "usage-json-nopath"):
        # refused: the message names the file it refuses
        named = [Path(a).name for a in case.argv[1:] if "/" in a and not a.endswith(("out", ".xlsx.out"))]
        assert any(n in text for n in named), text
    if case.extra.get("bomb"):
        assert "上限" in text or "损坏" in text, text          # refused by a limit, before parsing
    if "summary" in case.extra:                                # one bad file: the others and the summary
        assert Path(case.extra["summary"]).is_file()
        assert text.count("个错误") == case.extra["good"], text
    if "json_files" in case.extra:
        doc = json.loads(r.stdout)
        assert len(doc["files"]) == case.extra["json_files"]
        assert sum("error" not in f for f in doc["files"]) == case.extra["good"]
        assert all(_CJK.search(f["error"]) for f in doc["files"] if "error" in f)
    if case.extra.get("json") or "--json" in case.argv:
        doc = json.loads(r.stdout)                             # JSON on stdout, whatever happened
        if r.code == 2:
            assert doc.get("error"), doc
    assert snapshot(fc.ROOT / "samples") == SAMPLES_BEFORE


def test_corpus_covers_the_issue():
    """The corpus holds every kind of input the issue lists (a guard against a generator losing cases)."""
    names = " ".join(CASES)
    for kind in ("truncated", "flipped", "xxe", "entity-bomb", "zip-bomb", "far-cell", "rows-1e6", "merged",
                 "date-format", "formula-text", "data-enc-gbk", "data-enc-utf-16", "yaml-alias-bomb", "devzero",
                 "fifo", "folder-mixed", "usage-json", "amount-digits-400", "meta-row", "notes-"):
        assert kind in names, kind
    assert len(CASES) >= 100


# ---------------------------------------------------------------- hypothesis: values typed into cells

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _excel_text(text: str) -> str:
    """What Excel stores for a typed string: characters XML cannot hold as _xHHHH_."""
    return _XML_BAD.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


_typed = st.one_of(
    st.text(max_size=40),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-10**40, max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(['=HYPERLINK("http://example.invalid","点击查看")', "=1+1", "+1", "-", "—", "(1,234.50)",
                     "１２３．４５", "1,951,859.05", "1e400", "9" * 400, "0x10", "NaN", "inf", "  ", "",
                     "2022-12-31", "无", "1 234", "12.345.6"]),
)

_FUZZ_DIR = _CORPUS / "hypothesis"


def _sample_data(folder: Path) -> Path:
    """A copy of the sample's data folder (CSV + YAML) to edit."""
    folder.mkdir()
    for f in fc.SAMPLE_DIR.iterdir():
        if f.suffix in (".csv", ".yaml"):
            shutil.copy(f, folder / f.name)
    return folder


def _fresh(name: str) -> Path:
    d = _FUZZ_DIR / name
    if d.exists():
        shutil.rmtree(d)
    (d / "out").mkdir(parents=True)
    (d / "tmp").mkdir()
    return d


def _too_many_digits(amount) -> bool:
    return amount is not None and (not amount.is_finite() or (amount != 0 and amount.adjusted() >= 15))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_typed, as_number=st.booleans(), code=st.text(max_size=12))
def test_typed_values_in_workbook(value, as_number, code):
    """Any value typed into an amount cell (as a number or as text) and any text in a 科目编码 cell:
    exit 0/1 — or 2 with the cell named when the amount has more than 15 integer digits."""
    from xltools.model import parse_amount

    content = fc.parts()
    sheet = content[fc.DATA_SHEET]
    number_ok = False
    if as_number:
        try:
            f = float(value)
            number_ok = f == f
        except ValueError:
            number_ok = False
    if number_ok:
        cell = fc.number(fc.AMOUNT_CELL, repr(float(value)), "11")
        amount = Decimal(repr(float(value))) if float(value) not in (float("inf"), float("-inf")) else Decimal("inf")
    else:
        cell = fc.inline(fc.AMOUNT_CELL, _excel_text(value), "11")
        amount, _ = parse_amount(value)
    sheet = fc.set_cell(sheet, fc.AMOUNT_CELL, cell)
    sheet = fc.set_cell(sheet, fc.CODE_CELL, fc.inline(fc.CODE_CELL, _excel_text(code), "13"))
    content[fc.DATA_SHEET] = sheet
    d = _fresh("typed-workbook")
    fc.write_zip(d / "book.xlsx", content)
    huge = _too_many_digits(amount)
    r = _run(["check", str(d / "book.xlsx"), "--json"], d, {2} if huge else {0, 1})
    doc = json.loads(r.stdout)
    if huge:
        assert f"收入决算表!{fc.AMOUNT_CELL}" in doc["files"][0]["error"]
    else:
        cells = {f["cell"] for f in doc["files"][0]["findings"]}
        # a value that is not a clean number is reported at its cell
        _, problem = parse_amount(None if value == "" else value) if not number_ok else (None, None)
        if problem == "nan":
            assert any(fc.AMOUNT_CELL in c for c in cells), cells


_CSV_ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=_typed, name=st.text(max_size=30), encoding=st.sampled_from(_CSV_ENCODINGS))
def test_typed_values_in_csv(amount, name, encoding):
    """Any amount and 科目名称 in a data file, saved in any encoding Chinese Excel/WPS writes: generated
    (0) or refused naming F01.csv (2)."""
    from xltools.model import parse_amount

    src = (fc.SAMPLE_DIR / "F01.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(src)))
    rows[1][1] = name
    rows[1][2] = amount
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)   # as Excel saves it (a lone \r is quoted)
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
        data = buf.getvalue().encode(encoding)
    d = _fresh("typed-csv")
    folder = _sample_data(d / "data")
    (folder / "F01.csv").write_bytes(data)
    value, problem = parse_amount(amount)
    refused = problem == "nan" or _too_many_digits(value) or "\x00" in name + amount
    r = _run(["generate", str(folder), "-o", str(d / "out")], d, {2} if refused else {0, 2})
    if r.code == 2:
        assert "F01.csv" in r.stderr, r.stderr
    if not refused and not _XML_BAD.search(name):
        assert r.code == 0, r.stderr
        assert (d / "out" / "data.xlsx").is_file()


# ---------------------------------------------------------------- YAML shapes

@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.dates(),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=3),
                          max_leaves=12))
def test_notes_yaml_shapes(notes):
    """Whatever shape notes.yaml has, the data folder is generated or refused with a message."""
    import yaml

    d = _fresh("notes-shape")
    folder = _sample_data(d / "data")
    (folder / "notes.yaml").write_text(yaml.safe_dump(notes, allow_unicode=True), encoding="utf-8")
    r = _run(["generate", str(folder), "-o", str(d / "out")], d, {0, 2})
    if not isinstance(notes, dict) and notes is not None:
        assert r.code == 2 and "notes.yaml" in r.stderr
