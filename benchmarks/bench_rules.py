"""CPU of the rules per workbook (issue 15): `check_report` and its parts — identities (evaluate_compiled), one headline
per defect (assign_causes), N-10 (notes_findings) — on workbooks already read, as `check_file` calls them one at a
time; the first pass over the files (each row-set shape compiled as it is met) and warm passes.

    python benchmarks/bench_rules.py FOLDER [--files 300] [--runs 3] [--tree OLD_CHECKOUT --tree .]

FOLDER holds workbooks (e.g. the 1,000 varied ones bench_check.py generates; names starting with 校验 are skipped).
With several ``--tree`` (source trees of xltools, e.g. a `git worktree` of main), each tree runs in a process of its
own, alternately, ``--runs`` times; the minimum of the warm passes is reported (the machine may be shared). Reading is
not timed: a report is read, then checked, then dropped.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (module to patch — where check_report looks the name up —, name): rules imports the engine's functions at load;
# causes, labels and narrative are imported by check_report when it runs
PARTS = [("rules", "check_report"), ("rules", "evaluate_compiled"), ("rules.causes", "assign_causes"),
         ("narrative", "notes_findings"), ("rules", "compiled_checks"), ("rules", "_value_rules"),
         ("rules", "_code_rules"), ("rules.labels", "label_findings")]


def _measure(folder: str, n: int) -> dict:
    """Inside one tree: ms per workbook of each part, first pass and best of three warm passes."""
    import collections
    import importlib
    import time

    from xltools.importer import read_any

    acc: collections.Counter = collections.Counter()

    def wrap(mod, name: str, label: str) -> None:
        f = getattr(mod, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                acc[label] += time.perf_counter() - t
        setattr(mod, name, timed)

    import xltools.rules as rules
    for mod_name, name in PARTS:
        wrap(importlib.import_module(f"xltools.{mod_name}"), name, name)
    files = sorted(p for p in Path(folder).glob("*.xlsx") if not p.name.startswith("校验"))[:n]

    def one_pass() -> dict:
        acc.clear()
        cpu = 0.0
        for f in files:
            rep = read_any(f)[0]
            t = time.process_time()
            rules.check_report(rep)
            cpu += time.process_time() - t
            del rep
        out = {k: v / len(files) * 1000 for k, v in acc.items()}
        out["cpu"] = cpu / len(files) * 1000
        return out

    first = one_pass()
    warm = min((one_pass() for _ in range(3)), key=lambda d: d["cpu"])
    return {"first": first, "warm": warm, "files": len(files)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", action="append", type=Path, help="a source tree of xltools (default: this one)")
    args = ap.parse_args(argv)
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    best: dict = {}
    for _ in range(args.runs):
        for tree in trees:
            code = ("import sys, json; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
                    "import bench_rules as b; print(json.dumps(b._measure(sys.argv[3], int(sys.argv[4]))))")
            res = json.loads(subprocess.run([sys.executable, "-c", code, str(tree), str(Path(__file__).parent),
                                             str(args.folder), str(args.files)], check=True, cwd=str(tree),
                                            capture_output=True, text=True).stdout.splitlines()[-1])
            old = best.get(tree)
            if old is None or res["warm"]["cpu"] < old["warm"]["cpu"]:
                best[tree] = res
    labels = ["cpu"] + [name for _, name in PARTS]
    print(f"ms of CPU per workbook (check_report on a report already read; {args.files} workbooks; "
          f"warm: best of {args.runs} runs × 3 passes; first: shapes compiled as met)")
    print(f"{'part':22s}" + "".join(f"{t.name[:14]:>16s}{'(first)':>10s}" for t in trees))
    for label in labels:
        row = f"{label:22s}"
        for tree in trees:
            r = best[tree]
            row += f"{r['warm'].get(label, 0):16.3f}{r['first'].get(label, 0):10.3f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
