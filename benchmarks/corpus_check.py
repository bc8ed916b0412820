"""`check` on the real published PDFs of the corpus (../shared/corpus): false errors per document.

For every PDF, `check` is run as a user runs it (``xltools.cli.check_file``: import, identities, the document's
own 情况说明 and the rest of its words) and its error and warning *headlines* (findings with no ``cause``)
are counted. ``tests/data/corpus_check.yaml`` records, per document, the error headlines checked by hand
against the PDF:

* ``real`` — published defects (rule, cell, why): each must still be reported (as an error or warning finding
  of that rule on that cell, headline or consequence);
* ``false`` — error headlines known to be wrong (rule, cell, why: what our reading gets wrong);
* ``real_all`` — (rule, at_least, why) for a document whose every headline of a rule is a published defect
  (the blank template's XXX placeholders): they count as real and there must be at least that many;
* ``other_at_most`` — the error headlines that are not ``real`` (the known false ones and those nobody has
  verified yet) may not grow beyond this.

    python benchmarks/corpus_check.py            # table per document and totals
    python benchmarks/corpus_check.py --list     # also every error headline, marked real / false / ?

``tests/test_corpus_check.py`` runs it over the whole corpus (about a minute on one core) and fails when a
document's count of non-real error headlines rises or a real defect is no longer found.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RECORD = ROOT / "tests" / "data" / "corpus_check.yaml"


def corpus_dir() -> Path | None:
    """The corpus: $XLTOOLS_CORPUS, or ``shared/corpus`` beside the repository (or beside its worktree folder)."""
    env = os.environ.get("XLTOOLS_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    return next((p for p in candidates if p.is_dir() and any(p.rglob("*.pdf"))), None)


def documents(corpus: Path) -> list[Path]:
    return sorted(corpus.rglob("*.pdf"))


def doc_id(corpus: Path, pdf: Path) -> str:
    return pdf.relative_to(corpus).as_posix()


@dataclass
class Result:
    name: str
    exit: int
    error: str | None                 # the read error (exit 2)
    findings: list
    heads: list                       # error + warning headlines
    real_found: list = field(default_factory=list)
    real_missing: list = field(default_factory=list)
    false: list = field(default_factory=list)        # error headlines recorded as false
    unverified: list = field(default_factory=list)   # error headlines recorded as neither

    @property
    def errors(self) -> list:
        return [f for f in self.heads if f.level == "error"]

    @property
    def warnings(self) -> list:
        return [f for f in self.heads if f.level == "warning"]

    @property
    def other(self) -> int:
        return len(self.false) + len(self.unverified)


def load_record(path: Path = RECORD) -> dict:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return doc.get("documents") or {}


def _key(f) -> tuple[str, str]:
    return (f.rule, f.cell)


def measure(corpus: Path, pdf: Path, record: dict | None = None, checked=None) -> Result:
    """One document: its findings as `xltools check` gives them, against the record."""
    from xltools.cli import check_file

    findings, err = checked if checked is not None else check_file(pdf)
    heads = [f for f in findings if not f.cause and f.level in ("error", "warning")]
    exit_code = 2 if err else (1 if any(f.level == "error" for f in findings) else 0)
    res = Result(doc_id(corpus, pdf), exit_code, err, findings, heads)
    rec = (record or {}).get(res.name) or {}
    real = {(r["rule"], r["cell"]) for r in rec.get("real") or ()}
    false = {(r["rule"], r["cell"]) for r in rec.get("false") or ()}
    whole = {r["rule"]: r for r in rec.get("real_all") or ()}
    reported = {_key(f) for f in findings if f.level in ("error", "warning")}
    for r in rec.get("real") or ():
        (res.real_found if (r["rule"], r["cell"]) in reported else res.real_missing).append(r)
    for rule, r in whole.items():
        n = sum(1 for f in res.errors if f.rule == rule)
        (res.real_found if n >= int(r["at_least"]) else res.real_missing).extend([r] * max(n, 1))
    for f in res.errors:
        if _key(f) in real or f.rule in whole:
            continue
        (res.false if _key(f) in false else res.unverified).append(f)
    return res


def measure_all(corpus: Path, record: dict | None = None, jobs: int = 1) -> list[Result]:
    from xltools.cli import _check_files

    pdfs = documents(corpus)
    return [measure(corpus, p, record, got) for p, got in zip(pdfs, _check_files(pdfs, jobs))]


def main(argv: list[str]) -> int:
    corpus = corpus_dir()
    if corpus is None:
        print("corpus not found (set XLTOOLS_CORPUS or put it at ../shared/corpus)")
        return 2
    record = load_record()
    results = measure_all(corpus, record, jobs=int(os.environ.get("JOBS", "1")))
    print(f"{'document':70s} {'exit':>4s} {'errors':>6s} {'warn':>4s} {'real':>4s} {'false':>5s} {'unver.':>6s} "
          f"{'limit':>5s}")
    tot = [0, 0, 0, 0, 0]
    for r in results:
        rec = record.get(r.name) or {}
        print(f"{r.name:70s} {r.exit:4d} {len(r.errors):6d} {len(r.warnings):4d} {len(r.errors) - r.other:4d} "
              f"{len(r.false):5d} {len(r.unverified):6d} {rec.get('other_at_most', '-')!s:>5s}"
              + (f"  MISSING REAL: {[x['rule'] + '@' + x['cell'] for x in r.real_missing]}" if r.real_missing else ""))
        for i, n in enumerate((len(r.errors), len(r.warnings), len(r.errors) - r.other, len(r.false), len(r.unverified))):
            tot[i] += n
        if "--list" in argv:
            real = {(x["rule"], x["cell"]) for x in rec.get("real") or ()}
            false = {(x["rule"], x["cell"]) for x in rec.get("false") or ()}
            whole = {x["rule"] for x in rec.get("real_all") or ()}
            for f in r.errors:
                mark = "real " if _key(f) in real or f.rule in whole else ("false" if _key(f) in false else "?    ")
                print(f"    {mark} {f.rule} @ {f.cell[:60]} :: {f.message[:120]}")
    print(f"{'total':70s} {'':4s} {tot[0]:6d} {tot[1]:4d} {tot[2]:4d} {tot[3]:5d} {tot[4]:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
