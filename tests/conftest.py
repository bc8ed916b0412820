"""Shared test helpers: sample folders, LibreOffice recalculation, reading cached formula values."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CLEAN_UNIT = ROOT / "tests" / "data" / "clean-unit"
LO_SCRIPT = ROOT / "xltools" / "lo_recalc.py"


def final_samples() -> list[Path]:
    import yaml

    out = []
    for p in sorted(SAMPLES.iterdir()):
        meta = p / "meta.yaml"
        if meta.is_file() and (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("set") == "final_accounts":
            out.append(p)
    return out


def uno_python() -> str | None:
    """A Python interpreter with LibreOffice's UNO bridge, when LibreOffice is installed."""
    from xltools.lo_recalc import find_uno_python

    return find_uno_python()


def lo_recalc(files: list[Path], out_dir: Path, ops: dict | None = None, pdf: bool = False) -> list[Path]:
    py = uno_python()
    if py is None:
        pytest.skip("LibreOffice (soffice + python3-uno) 未安装")
    args = [py, str(LO_SCRIPT), str(out_dir), *map(str, files)]
    if pdf:
        args.append("--pdf")
    if ops:
        opsfile = out_dir.parent / f"ops-{out_dir.name}.json"
        opsfile.write_text(json.dumps({str(k): v for k, v in ops.items()}, ensure_ascii=False), encoding="utf-8")
        args += ["--ops", str(opsfile)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return [Path(x) for x in r.stdout.split("\n") if x.strip()]


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def formula_values(path: Path) -> dict[tuple[str, str], object]:
    """(sheet, A1) → the cached value of every formula cell, as a reader without an engine sees it."""
    from python_calamine import CalamineWorkbook

    from xltools.read.workbook import formula_cells

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for sheet, cells in formula_cells(path).items():
        grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for ref in cells:
            m = re.match(r"([A-Z]+)(\d+)$", ref)
            r, c = int(m.group(2)) - 1, _col(m.group(1))
            out[(sheet, ref)] = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
    return out


def assert_recalculation_matches(files: list[Path], out_dir: Path, places: int = 2) -> int:
    """Recalculate ``files`` in LibreOffice and assert every formula's value equals the cached value we
    wrote (rounded to ``places``). Returns how many formula cells were compared."""
    outs = lo_recalc(files, out_dir)
    assert len(outs) == len(files)
    compared = 0
    for src, recalced in zip(files, outs):
        ours, theirs = formula_values(src), formula_values(recalced)
        for key, v in ours.items():
            w = theirs.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                assert isinstance(w, (int, float)), (src.name, key, v, w)
                assert round(v, places) == round(w, places), (src.name, key, v, w)
            else:
                assert (v or "") == (w or ""), (src.name, key, v, w)
            compared += 1
    return compared


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    """Every final-accounts sample, the clean unit, and an empty workbook of each variant, generated once."""
    from xltools.build.writer import build_workbook, empty_report
    from xltools.cli import _extra_sheets
    from xltools.read.datafile import load_data
    from xltools.spec import load_set

    out = tmp_path_factory.mktemp("generated")
    made = {}
    for folder in [*final_samples(), CLEAN_UNIT]:
        made[folder.name] = build_workbook(load_data(folder), out / f"{folder.name}.xlsx",
                                           extra_sheets=_extra_sheets()).path
    for vid in load_set("final_accounts").variants:
        rep = empty_report("final_accounts", vid, "某某局", 2024)
        made[f"new-{vid}"] = build_workbook(rep, out / f"new-{vid}.xlsx", extra_sheets=_extra_sheets()).path
    return made


@pytest.fixture(scope="session")
def lo_edited_cases(generated, tmp_path_factory) -> dict[str, Path]:
    """test_check's CASES (rows inserted, deleted, typed over … in LibreOffice) applied to copies of the
    clean unit, recalculated once for every test that needs them."""
    import shutil

    from test_check import CASES

    base = generated["clean-unit"]
    work = tmp_path_factory.mktemp("cases")
    files, ops = [], {}
    for name, (case_ops, _) in CASES.items():
        f = work / f"{name}.xlsx"
        shutil.copy(base, f)
        files.append(f)
        ops[str(f)] = case_ops
    return {Path(p).stem: Path(p) for p in lo_recalc(files, work / "out", ops=ops)}


# ---------------------------------------------------------------- the 审核 sheet

_REF_RE = re.compile(r"(?:'((?:[^']|'')+)'|([^\s'!(),=&+\-*/\"]+))!\$?([A-Z]+)\$?(\d+)")   # Excel / LibreOffice


def audit_rows(path: Path) -> list[dict]:
    """The identity rows of a workbook's 审核 sheet: rule, level, status (the cached value: what the
    last application that saved the file computed) and the target cell, taken from the 本格数 formula
    (so a row inserted in the spreadsheet moves it, as it moves the formula)."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    from xltools.build.audit import AUDIT_SHEET, C_LEFT, C_LEVEL, C_RULE, C_STATUS, FIRST_ROW

    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(AUDIT_SHEET).to_python(skip_empty_area=False)
    ws = openpyxl.load_workbook(path, read_only=True)[AUDIT_SHEET]
    formulas = {i: v for i, (v,) in enumerate(ws.iter_rows(min_row=FIRST_ROW + 1, min_col=C_LEFT + 1, max_col=C_LEFT + 1,
                                                            values_only=True), start=FIRST_ROW + 1)}
    out = []
    for i, row in enumerate(grid[FIRST_ROW:], start=FIRST_ROW):
        if len(row) <= C_STATUS or not isinstance(row[0], (int, float)) or not row[C_RULE]:
            break
        f = formulas.get(i + 1)
        m = _REF_RE.search(f) if isinstance(f, str) else None
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2) if m else None
        target = f"{sheet}!{m.group(3)}{m.group(4)}" if m else None
        out.append({"rule": row[C_RULE], "level": row[C_LEVEL], "status": row[C_STATUS], "cell": target})
    return out


def audit_failures(path: Path) -> set[tuple[str, str]]:
    """(rule, cell) of every 审核 row whose status is 未通过."""
    return {(r["rule"], r["cell"]) for r in audit_rows(path) if r["status"] == "未通过"}


def identity_failures(findings, path: Path) -> set[tuple[str, str]]:
    """(rule, cell) of the checker's findings on identities (the rules the 审核 sheet lists)."""
    codes = {r["rule"] for r in audit_rows(path)}
    out = set()
    for f in findings:
        if f.rule in codes:
            m = re.match(r"(.+?![A-Z]+\d+)", f.cell)
            out.add((f.rule, m.group(1) if m else f.cell))
    return out
