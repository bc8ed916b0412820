"""Rewrite the table of each sample's FINDINGS.md (between <!-- tables:start --> and <!-- tables:end -->)
from what `xltools check` reports now on the workbook generated from the sample's data.

    python scripts/refresh_findings.py [samples/<name> …]     # default: every sample

Only the table is rewritten; the prose around it (what the findings mean) is the author's. The tests
assert the rule/cell pairs of that table and the ``cause`` column (— for a headline, else the `rule@cell` of
the headline it follows from), so run this after changing a message, then read the diff.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xltools.cli import main as cli  # noqa: E402
from xltools.read.workbook import read_workbook  # noqa: E402
from xltools.rules import check_report  # noqa: E402
from xltools.rules.report import result_order  # noqa: E402

ORDER = {"error": 0, "warning": 1, "info": 2}


def refresh(folder: Path) -> int:
    md = folder / "FINDINGS.md"
    text = md.read_text(encoding="utf-8")
    if "<!-- tables:start -->" not in text:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cli(["generate", str(folder), "-o", tmp])
        findings = check_report(read_workbook(Path(tmp) / f"{folder.name}.xlsx"))
    rows = ["| rule | level | cell | cause | message |", "|---|---|---|---|---|"]
    for f in result_order(sorted(findings, key=lambda f: f.cell)):   # each headline, then its consequences
        rows.append(f"| {f.rule} | {f.level} | {f.cell} | {f.cause or '—'} | {f.message.replace('|', '/')} |")
    head, rest = text.split("<!-- tables:start -->", 1)
    _, tail = rest.split("<!-- tables:end -->", 1)
    md.write_text(head + "<!-- tables:start -->\n" + "\n".join(rows) + "\n<!-- tables:end -->" + tail, encoding="utf-8")
    return len(findings)


if __name__ == "__main__":
    folders = [Path(a) for a in sys.argv[1:]] or sorted(p for p in (ROOT / "samples").iterdir() if (p / "FINDINGS.md").is_file())
    for f in folders:
        print(f"{f.name}: {refresh(f)} 条")
