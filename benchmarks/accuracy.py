"""Accuracy of `check` (and `check-narrative`) on the samples against hand-labelled defects.

Every sample has ``samples/<name>/EXPECTED.yaml``: the real defects of the publication (read from the
seed text, its TRANSCRIPTION.md and FINDINGS.md and checked by hand — a defect is something wrong in the
published document, not something our checker says). A defect is **found** when an error- or
warning-level *headline* (a finding with no ``cause``) of the expected rule lands on its location: for a
table, the headline's cell or one of its culprit cells is among the defect's cells; for the 情况说明, the
sentence contains the defect's text (and the figure the finding quotes contains ``found``). A **false
error** is an error-level headline that matches no labelled defect.

    python benchmarks/accuracy.py            # per sample and overall

``tests/test_accuracy.py`` runs it: no false error beyond ``KNOWN_FALSE`` (each a finding named by
``rule@cell``, with the reason it is still there — remove an entry once it is fixed; the harness says
so), and recall not below ``RECALL``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# defects found / labelled, over all samples, as measured when this file was last changed
RECALL = (84, 84)
# error-level headlines that are not defects of the publication, with the reason; the test fails on any
# other false error (one fixed elsewhere is reported by the harness: remove it here)
KNOWN_FALSE: dict[str, dict[str, str]] = {}


@dataclass
class Defect:
    id: str
    kind: str
    rules: tuple[str, ...]
    cells: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()
    found_text: str | None = None
    note: str = ""
    hits: list = field(default_factory=list)

    def matches(self, f) -> bool:
        if f.rule not in self.rules or f.level not in ("error", "warning"):
            return False
        if self.cells:
            return bool({f.cell, *getattr(f, "culprits", ())} & set(self.cells))
        if self.sentences:
            text = _squash(f.cell)
            return any(_squash(s) in text for s in self.sentences) and \
                (self.found_text is None or _squash(self.found_text) in _squash(f.actual or ""))
        return False


def _squash(s: str) -> str:
    return "".join(str(s).split())


def load_expected(folder: Path) -> list[Defect]:
    import yaml

    doc = yaml.safe_load((folder / "EXPECTED.yaml").read_text(encoding="utf-8")) or {}
    out = []
    for d in doc.get("defects") or []:
        where = d.get("where") or {}
        rule = d.get("rule")
        rules = tuple(rule) if isinstance(rule, list) else ((rule,) if rule else ())
        sent = where.get("narrative")
        out.append(Defect(str(d["id"]), d.get("kind", ""), rules,
                          cells=tuple(where.get("cells") or ()),
                          sentences=tuple(sent) if isinstance(sent, list) else ((sent,) if sent else ()),
                          found_text=where.get("found"), note=d.get("note", "")))
    return out


def sample_findings(folder: Path) -> tuple[list, list]:
    """(table findings of `check` on the sample's workbook, findings of `check-narrative` on its
    published 情况说明 and on the rest of its words, ``published/其他文字.txt``) — both as a user gets them.
    The workbook is generated from the sample's data files
    (as scripts/refresh_findings.py and the tests do), so it is never older than the code."""
    import tempfile

    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data
    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    with tempfile.TemporaryDirectory() as tmp:
        book = build_workbook(load_data(folder), Path(tmp) / f"{folder.name}.xlsx", extra_sheets=_extra()).path
        report = read_workbook(book)
        tables = check_report(report)
        narrative = []
        text = folder / "published" / "情况说明.txt"
        if text.is_file():
            from xltools.narrative import check_text
            narrative = check_text(text.read_text(encoding="utf-8"), report)
        other = folder / "published" / "其他文字.txt"     # the rest of a PDF's words (importer.document_text)
        if other.is_file():
            from xltools.narrative.wording import document_findings
            narrative += document_findings(other.read_text(encoding="utf-8"), report)
    return tables, narrative


def _extra():
    from xltools.cli import _extra_sheets
    return _extra_sheets()


@dataclass
class Result:
    name: str
    defects: list
    findings: int            # error + warning findings
    headlines: int           # error + warning headlines
    false_errors: list

    @property
    def found(self) -> int:
        return sum(bool(d.hits) for d in self.defects)


def measure(folder: Path) -> Result:
    defects = load_expected(folder)
    tables, narrative = sample_findings(folder)
    findings = [f for f in tables + narrative if f.level in ("error", "warning")]
    heads = [f for f in findings if not getattr(f, "cause", None)]
    false = []
    for f in heads:
        hit = [d for d in defects if d.matches(f)]
        for d in hit:
            d.hits.append(f)
        if not hit and f.level == "error":
            false.append(f)
    return Result(folder.name, defects, len(findings), len(heads), false)


def samples() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if (p / "EXPECTED.yaml").is_file())


def main() -> int:
    results = [measure(p) for p in samples()]
    print(f"{'sample':30s} {'defects':>7s} {'found':>5s} {'false errors':>12s} {'findings/defect':>15s} "
          f"{'headlines/defect':>16s}")
    for r in results:
        n = len(r.defects)
        print(f"{r.name:30s} {n:7d} {r.found:5d} {len(r.false_errors):12d} "
              f"{(r.findings / n if n else 0):15.2f} {(r.headlines / n if n else 0):16.2f}")
        for d in r.defects:
            if not d.hits:
                print(f"    not found: {d.id} ({'/'.join(d.rules) or '—'}) {d.note}")
        for f in r.false_errors:
            print(f"    false error: {f.rule}@{f.cell}")
        for gone in set(KNOWN_FALSE.get(r.name, {})) - {f"{f.rule}@{f.cell}" for f in r.false_errors}:
            print(f"    known false error no longer raised (remove it from KNOWN_FALSE): {gone}")
    n = sum(len(r.defects) for r in results)
    found = sum(r.found for r in results)
    false = sum(len(r.false_errors) for r in results)
    fnd = sum(r.findings for r in results)
    hd = sum(r.headlines for r in results)
    print(f"{'overall':30s} {n:7d} {found:5d} {false:12d} {fnd / n:15.2f} {hd / n:16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
