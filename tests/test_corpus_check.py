"""`check` on every real published PDF of the corpus (../shared/corpus) against the hand-checked record
tests/data/corpus_check.yaml (benchmarks/corpus_check.py): per document, no more error headlines that are not
published defects than recorded, and every recorded published defect still reported. Skipped where the corpus
is not beside the repository (CI has it). The whole corpus: about 40 s on one core.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import corpus_check  # noqa: E402

CORPUS = corpus_check.corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus (../shared/corpus) not present")


@pytest.fixture(scope="module")
def results():
    record = corpus_check.load_record()
    return record, corpus_check.measure_all(CORPUS, record, jobs=2)


def test_the_record_covers_every_corpus_pdf(results):
    record, res = results
    assert sorted(record) == sorted(r.name for r in res), "a corpus PDF is missing from tests/data/corpus_check.yaml"
    for name, rec in record.items():
        for item in (*(rec.get("real") or ()), *(rec.get("false") or ()), *(rec.get("real_all") or ())):
            assert item.get("rule") and item.get("why"), f"{name}: every entry names its rule and why"


def test_no_document_gets_more_false_errors(results):
    record, res = results
    worse = {r.name: (r.other, record[r.name]["other_at_most"],
                      [f"{f.rule}@{f.cell[:40]}" for f in r.unverified])
             for r in res if r.other > record[r.name]["other_at_most"]}
    assert not worse, f"error headlines that are not published defects grew: {worse}"


def test_every_recorded_published_defect_is_still_found(results):
    _, res = results
    missing = {r.name: [f"{x['rule']}@{x.get('cell', '*')[:40]}" for x in r.real_missing] for r in res if r.real_missing}
    assert not missing, f"published defects no longer reported: {missing}"


def test_no_traceback_and_every_document_is_read(results):
    _, res = results
    assert all(r.exit in (0, 1) for r in res), {r.name: r.error for r in res if r.exit not in (0, 1)}


def test_identities_on_rows_the_import_could_not_read_are_info_not_errors(results):
    """A table the import read only in part (江苏 2018 省检察院: rows printed a line off their labels): the identities
    that read its unread rows are named in one U-<table> info finding, and none of them is an error."""
    _, res = results
    r = next(x for x in res if x.name.endswith("2018年省检察院部门预算公开.pdf"))
    notes = [f for f in r.findings if f.rule.startswith("U-")]
    assert notes and all(f.level == "info" and "因此未校验" in f.message for f in notes)
    skipped = {code for f in notes for code in f.message.rsplit("因此未校验：", 1)[1].split("、")}
    assert not any(f.rule in skipped and f.level == "error" for f in r.findings)


def test_a_code_printed_without_its_leading_zero_is_read_and_warned(results):
    """普陀区万里街道 2024 公开08 prints 301 | 2 (津贴补贴) and 301 | 7 (绩效工资): read as 30102 / 30107, one C-01
    warning each, and the 类 301 = Σ款 holds (no C-05 duplicate, no H- error)."""
    _, res = results
    r = next(x for x in res if x.name.endswith("万里街道-2024-部门预算.pdf"))
    c01 = [f for f in r.findings if f.rule == "C-01"]
    assert {f.message.split("已按 ")[1][:5] for f in c01} == {"30102", "30107"}
    assert not [f for f in r.findings if f.rule in ("C-05", "H-S08-01", "R-S08-02")]
