"""Findings of two checkers compared, field by field and in order: a speed-up must not change a single finding.

    python benchmarks/compare_findings.py --old /path/to/old/checkout [--new .] [--bench DIR] [--edits N]

``--old`` is another source tree of xltools (``git worktree add /tmp/old main``, or ``git archive main | tar -x``);
``--new`` defaults to this one. Each tree runs in a process of its own (its own ``xltools`` first on the path) and
checks the same inputs:

* every workbook and PDF of ``--bench`` (e.g. the 1,000 workbooks of ``bench_check.py --keep``; 校验* skipped),
  through ``cli.check_file`` (reading, rules, N-10, a PDF's narrative and words: what ``xltools check`` prints);
* every sample workbook, every sample data folder and the clean test unit (``check_report`` of ``load_data``);
* every PDF of ``../shared/corpus`` (or ``--corpus``);
* seeded edits of reports (``--edits`` per source: the bench workbooks and the samples): a value changed by an
  amount or emptied, a detail row dropped, a value typed as text or negative, 说明事项 items removed or changed —
  the searches of ``rules.causes`` and rule N-10 on inputs no file holds.

Prints the number of inputs, of findings, and every difference (the first few in full); exit 1 on a difference.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the worker (runs inside one tree)

def _edits(rep, seed: int, n: int) -> list[tuple[str, object]]:
    """``n`` seeded small edits of a report (deterministic: both trees make the same ones)."""
    import copy
    import random
    from decimal import Decimal

    rnd = random.Random(seed)
    cells = [(tid, k, c) for tid, td in rep.tables.items() for k, rd in td.rows.items() for c, v in rd.values.items()
             if v.amount is not None]
    details = [(tid, k) for tid, td in rep.tables.items() for k, rd in td.rows.items() if rd.kind == "detail"]
    notes = sorted(k for k in (rep.notes or {}) if not k.startswith("_"))
    out = []
    for i in range(n):
        r2 = copy.deepcopy(rep)
        what = rnd.choice(["plus", "plus", "minus", "empty", "drop", "text", "neg", "note", "swap"])
        if what in ("plus", "minus", "empty", "text", "neg", "swap") and cells:
            tid, k, c = rnd.choice(cells)
            row = r2.tables[tid].rows[k]
            v = row.values[c]
            amount = v.amount
            if what == "plus":
                new = amount + Decimal(rnd.choice(["1.00", "0.01", "100.00", "12345.67"]))
            elif what == "minus":
                new = amount - Decimal(rnd.choice(["1.00", "0.01", "1000.00"]))
            elif what == "neg":
                new = -amount
            elif what == "swap":       # the amount typed into another column of its row
                others = [x for x in row.values if x != c]
                if others:
                    o = rnd.choice(others)
                    w = row.values[o]
                    row.values[o] = type(w)(amount, source=w.source, raw=w.raw, problem=w.problem, formula=w.formula)
                new = None
            else:
                new = None
            if what == "text":
                row.values[c] = type(v)(amount, source=v.source, raw=str(amount), problem="text", formula=v.formula)
            else:
                row.values[c] = type(v)(new, source=v.source, raw=v.raw, problem=v.problem, formula=v.formula)
        elif what == "drop" and details:
            tid, k = rnd.choice(details)
            del r2.tables[tid].rows[k]
        elif what == "note" and notes:
            k = rnd.choice(notes)
            if rnd.random() < 0.5:
                del r2.notes[k]
            else:
                r2.notes[k] = rnd.choice(["", 12345.67, "0", "主要是人员增加"])
        out.append((f"{what}#{i}", r2))
    return out


def _record(findings) -> list[dict]:
    return [{**f.as_dict(), "cells": list(f.cells)} for f in findings]


def _work(spec_file: str, out_file: str) -> None:
    """Check every input of ``spec_file``; one JSON line per input into ``out_file``."""
    from xltools.cli import check_file
    from xltools.read.datafile import load_data
    from xltools.rules import check_report

    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    with open(out_file, "w", encoding="utf-8") as out:
        def put(key, value):
            out.write(json.dumps([key, value], ensure_ascii=False) + "\n")

        for p in spec["files"]:
            findings, err = check_file(Path(p))
            put(f"file:{p}", {"error": err, "findings": _record(findings)})
        for p in spec["folders"]:
            put(f"folder:{p}", {"findings": _record(check_report(load_data(Path(p))))})
        for n, p in enumerate(spec["edit"]):
            path = Path(p)
            if path.is_dir():
                rep = load_data(path)
            else:
                from xltools.importer import read_any
                rep = read_any(path)[0]
            for name, r2 in _edits(rep, n, spec["edits"]):
                try:
                    got = {"findings": _record(check_report(r2))}
                except Exception as exc:        # an edit no reader makes may break both the same way
                    got = {"error": f"{type(exc).__name__}: {exc}"}
                put(f"edit:{p}:{name}", got)


# ---------------------------------------------------------------- the driver

def _run(tree: Path, spec_file: Path, out_file: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
            "import compare_findings as c; c._work(sys.argv[3], sys.argv[4])")
    subprocess.run([sys.executable, "-c", code, str(tree), str(Path(__file__).parent), str(spec_file), str(out_file)],
                   check=True, env=env, cwd=str(tree))
    out = {}
    with open(out_file, encoding="utf-8") as f:
        for line in f:
            k, v = json.loads(line)
            out[k] = v
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, type=Path, help="the other source tree (e.g. main at the start)")
    ap.add_argument("--new", default=ROOT, type=Path)
    ap.add_argument("--bench", type=Path, help="a folder of workbooks (bench_check.py's), checked file by file")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent.parent / "shared" / "corpus")
    ap.add_argument("--edits", type=int, default=3, help="seeded edits per edited source")
    ap.add_argument("--edit-bench", type=int, default=100, help="bench workbooks whose reports are edited")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir():
        args.corpus = Path("/work/shared/corpus")
    samples = ROOT / "samples"
    bench = sorted(p for p in args.bench.glob("*.xlsx") if not p.name.startswith("校验")) if args.bench else []
    sample_books = sorted(p for d in samples.iterdir() if d.is_dir() for p in d.glob("*.xlsx"))
    folders = sorted(d for d in samples.iterdir() if (d / "meta.yaml").is_file()) + [ROOT / "tests" / "data" / "clean-unit"]
    pdfs = sorted(args.corpus.rglob("*.pdf")) if args.corpus.is_dir() else []
    spec = {"files": [str(p) for p in [*bench, *sample_books, *pdfs]], "folders": [str(p) for p in folders],
            "edit": [str(p) for p in [*bench[:args.edit_bench], *sample_books, *folders]], "edits": args.edits}
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        old = _run(args.old.resolve(), spec_file, Path(tmp) / "old.jsonl")
        new = _run(args.new.resolve(), spec_file, Path(tmp) / "new.jsonl")
    diffs = 0
    n_findings = 0
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        n_findings += len((a or {}).get("findings", ()))
        if a == b:
            continue
        diffs += 1
        if diffs <= 5:
            print(f"DIFFERENT: {key}")
            fa, fb = (a or {}).get("findings", []), (b or {}).get("findings", [])
            for i in range(max(len(fa), len(fb))):
                x, y = (fa[i] if i < len(fa) else None), (fb[i] if i < len(fb) else None)
                if x != y:
                    print(f"  #{i}\n    old: {x}\n    new: {y}")
                    break
            if (a or {}).get("error") != (b or {}).get("error"):
                print(f"  error old: {(a or {}).get('error')}\n  error new: {(b or {}).get('error')}")
    kinds = {}
    for key in old:
        kinds[key.split(":", 1)[0]] = kinds.get(key.split(":", 1)[0], 0) + 1
    print(f"inputs: {len(old)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; files: {len(bench)} bench, "
          f"{len(sample_books)} sample workbooks, {len(pdfs)} PDFs); findings: {n_findings}; different: {diffs}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
