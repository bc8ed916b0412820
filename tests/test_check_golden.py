"""The findings of `check_report` are pinned: every sample and many edited variants against a golden record.

The golden file (tests/data/check_golden.json) was written by the checker before the check speed-up (issue 15:
checks compiled once per row-set shape, N-10 decided without rendering the whole 情况说明, the reader's layout
cached per sheet shape). Every finding must stay identical — rule, level, table, cell, message, the expected /
actual / difference figures, the cause it is grouped under and its culprit cells — and in the same order.

Cases: the committed sample workbooks (决算, 预算, 绩效); each sample data folder read directly and through a
generated workbook; the empty workbook of every variant; the LibreOffice-edited workbooks of test_check (rows
inserted, deleted, re-ordered, totals typed over, text, negatives, unknown codes …); and in-memory edits of the
samples' reports — a value changed in every table, a detail row dropped, 说明事项 reasons and prior figures
removed or changed one at a time (rule N-10). And, end to end, `xltools check 文件夹/ --json --jobs 2` over a folder
holding every sample workbook, every generated workbook above and a published PDF (the process pool, the order of
the results, the JSON and the summary workbook's cells).

To rewrite the record (only ever from a checker whose findings are known right):
    XLTOOLS_WRITE_GOLDEN=1 python -m pytest tests/test_check_golden.py
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import CLEAN_UNIT, SAMPLES, final_samples, lo_recalc
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report

GOLDEN = Path(__file__).resolve().parent / "data" / "check_golden.json"
BUDGET = SAMPLES / "zhongwei-sbzx-2024-budget"
WRITE = os.environ.get("XLTOOLS_WRITE_GOLDEN") == "1"


def _record(findings) -> list[list]:
    # the grouping by defect too: which headline a consequence names, and a headline's likely wrong cells
    return [[f.rule, f.level, f.table, f.cell, f.message, f.expected, f.actual, f.difference, f.cause,
             list(f.culprits)] for f in findings]


def _sample_workbooks() -> list[Path]:
    return sorted(p for d in SAMPLES.iterdir() if d.is_dir() for p in d.glob("*.xlsx"))


def _data_folders() -> list[Path]:
    return [*final_samples(), BUDGET, CLEAN_UNIT]


def _edits(name: str, rep) -> dict:
    """Reports derived from ``rep`` by small edits a user makes: name → edited copy."""
    out = {}
    # a value changed in each table: the first detail/fixed row with an amount gets 1 added
    for tid, td in rep.tables.items():
        for rd in td.rows.values():
            hit = next((c for c, v in rd.values.items() if v.amount is not None and v.amount != 0), None)
            if hit is None:
                continue
            r2 = copy.deepcopy(rep)
            v = r2.tables[tid].rows[rd.key].values[hit]
            r2.tables[tid].rows[rd.key].values[hit] = type(v)(v.amount + Decimal("1.00"), source=v.source,
                                                              raw=v.raw, problem=v.problem, formula=v.formula)
            out[f"{name}:plus1:{tid}:{rd.key}:{hit}"] = r2
            break
    # a detail row dropped from each detail table (rows present change: a different shape)
    for tid, td in rep.tables.items():
        keys = [k for k, r in td.rows.items() if r.kind == "detail"]
        if keys:
            r2 = copy.deepcopy(rep)
            del r2.tables[tid].rows[keys[len(keys) // 2]]
            out[f"{name}:drop:{tid}:{keys[len(keys) // 2]}"] = r2
    notes = rep.notes or {}
    # N-10: every reason removed, one at a time; every prior figure removed (with and without its reasons) or
    # set to another figure with its reasons removed
    for key in [k for k in notes if k.startswith("reason.")]:
        r2 = copy.deepcopy(rep)
        del r2.notes[key]
        out[f"{name}:no:{key}"] = r2
    for key in [k for k in notes if k.startswith(("prior.", "budget."))]:
        fact = key.split(".", 1)[1]
        reasons = [k for k in notes if k.startswith(f"reason.{fact}.")]
        r2 = copy.deepcopy(rep)
        del r2.notes[key]
        out[f"{name}:no:{key}"] = r2
        if reasons:
            r3 = copy.deepcopy(rep)
            del r3.notes[key]
            for k in reasons:
                del r3.notes[k]
            out[f"{name}:no:{key}+reasons"] = r3
            r4 = copy.deepcopy(rep)
            r4.notes[key] = 12345.67
            for k in reasons:
                del r4.notes[k]
            out[f"{name}:other:{key}-reasons"] = r4
    if notes:
        # every reason removed at once; and nothing typed at all (N-10 stays silent)
        r2 = copy.deepcopy(rep)
        for k in [k for k in notes if k.startswith("reason.")]:
            del r2.notes[k]
        out[f"{name}:no-reasons"] = r2
        r3 = copy.deepcopy(rep)
        r3.notes = {k: v for k, v in notes.items() if k.startswith("_")}
        out[f"{name}:notes-empty"] = r3
    return out


@pytest.fixture(scope="module")
def lo_edited(lo_edited_cases):
    """test_check's LibreOffice-edited copies of the clean unit (rows inserted, deleted, typed over …)."""
    return lo_edited_cases


@pytest.fixture(scope="module")
def findings_now(generated) -> dict[str, list]:
    out: dict[str, list] = {}
    for path in _sample_workbooks():
        out[f"sample-xlsx:{path.name}"] = _record(check_report(read_workbook(path)))
    for name, path in sorted(generated.items()):
        rep = read_workbook(path)
        out[f"generated:{name}"] = _record(check_report(rep))
        if not name.startswith("new-"):
            for k, r in _edits(f"generated:{name}", rep).items():
                out[k] = _record(check_report(r))
    for folder in _data_folders():
        rep = load_data(folder)
        out[f"data:{folder.name}"] = _record(check_report(rep))
        for k, r in _edits(f"data:{folder.name}", rep).items():
            out[k] = _record(check_report(r))
    return out


def test_findings_identical_to_the_golden_record(findings_now, generated, tmp_path):
    from xltools.build.writer import build_workbook
    from xltools.cli import _extra_sheets

    # the budget sample through a generated workbook (the session fixture makes 决算 workbooks only)
    book = build_workbook(load_data(BUDGET), tmp_path / f"{BUDGET.name}.xlsx", extra_sheets=_extra_sheets()).path
    rep = read_workbook(book)
    now = dict(findings_now)
    now[f"generated:{BUDGET.name}"] = _record(check_report(rep))
    for k, r in _edits(f"generated:{BUDGET.name}", rep).items():
        now[k] = _record(check_report(r))
    _compare(now, "static")


@pytest.mark.libreoffice
def test_findings_of_edited_workbooks_identical_to_the_golden_record(lo_edited):
    now = {f"lo-edited:{name}": _record(check_report(read_workbook(path))) for name, path in sorted(lo_edited.items())}
    _compare(now, "libreoffice")


CORPUS_PDF = Path("/work/shared/corpus/shanghai/普陀区商务委员会-2025-单位预算.pdf")
if not CORPUS_PDF.is_file():       # the corpus beside the worktrees
    CORPUS_PDF = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "shanghai" / CORPUS_PDF.name


def test_folder_check_json_identical_to_the_golden_record(generated, tmp_path):
    """`xltools check 文件夹/ --json --jobs 2`: exit code, the JSON document (file paths relative to the folder)
    and every cell of 校验汇总.xlsx."""
    import contextlib
    import io

    from python_calamine import CalamineWorkbook

    from xltools.build.writer import build_workbook
    from xltools.cli import _extra_sheets, main

    folder = tmp_path / "公开表"
    folder.mkdir()
    for p in _sample_workbooks():
        shutil.copy(p, folder / f"sample-{p.name}")
    for name, p in generated.items():
        shutil.copy(p, folder / f"generated-{name}.xlsx")
    build_workbook(load_data(BUDGET), folder / f"generated-{BUDGET.name}.xlsx", extra_sheets=_extra_sheets())
    shutil.copy(CORPUS_PDF, folder / CORPUS_PDF.name)
    assert len(list(folder.iterdir())) >= 16          # enough files for the process pool
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", str(folder), "--json", "--jobs", "2"])
    doc = json.loads(out.getvalue())
    # written a file at a time, byte for byte what json.dump of the whole document writes
    assert out.getvalue() == json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    for f in doc["files"]:
        f["file"] = Path(f["file"]).relative_to(folder).as_posix()
    wb = CalamineWorkbook.from_path(str(folder / "校验汇总.xlsx"))
    summary = {name: [[str(x).replace(f"{folder}{os.sep}", "") for x in row] for row in wb.get_sheet_by_name(name).to_python()]
               for name in wb.sheet_names}
    _compare({"exit": [code], "json": [doc], "summary": [summary]}, "cli")


def _compare(now: dict[str, list], part: str) -> None:
    if WRITE:
        data = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
        data[part] = now
        GOLDEN.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"golden record written: {GOLDEN.name} [{part}], {len(now)} cases")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[part]
    assert sorted(now) == sorted(golden)
    # the record is not trivial: most cases have findings (and, for the static part, N-10 among them)
    assert sum(1 for v in golden.values() if v) > len(golden) // 2 or part == "cli"
    assert part != "static" or any(f[0] == "N-10" for v in golden.values() for f in v)
    for key in sorted(golden):
        assert now[key] == golden[key], key
