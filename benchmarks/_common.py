"""Shared helpers of the benchmark scripts: unit lists from the samples, result tables, results.md."""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RESULTS = Path(__file__).resolve().parent / "results.md"
LO_SCRIPT = ROOT / "xltools" / "lo_recalc.py"
# the two 决算 samples (nine tables each); units alternate between them, names varied
SAMPLE_DATA = [(SAMPLES / "ningxia-sbj-2022-final", 2022), (SAMPLES / "ningxia-rst-2023-final", 2023)]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def units_list(path: Path, n: int) -> Path:
    """A 单位清单.csv of ``n`` prefilled units: sample data, unit names and codes varied."""
    rows = ["单位名称,单位编码,年度,数据文件"]
    for i in range(n):
        folder, year = SAMPLE_DATA[i % len(SAMPLE_DATA)]
        rows.append(f"基准测试单位{i:05d},{600000 + i},{year},{folder}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def distinct_units_list(work: Path, n: int) -> Path:
    """A 单位清单.csv of ``n`` units each with rows of its own: the clean test unit with its 2080101 row
    moved to a different 项 of the catalog per unit (so no two units share a template)."""
    from xltools import catalog

    clean = ROOT / "tests" / "data" / "clean-unit"
    leaves = [c for c in catalog.functional(2024).codes("项") if c != "2080101" and not c.startswith("221")]
    fc = catalog.functional(2024)
    rows = ["单位名称,单位编码,年度,数据文件"]
    for i in range(n):
        code = leaves[i % len(leaves)]
        d = work / "distinct" / f"u{i:05d}"
        shutil.copytree(clean, d)
        for name in ("F02.csv", "F03.csv", "F05.csv"):
            p = d / name
            p.write_text(p.read_text(encoding="utf-8").replace("2080101,行政运行", f"{code},{fc.name(code)}"),
                         encoding="utf-8")
        rows.append(f"行不同的单位{i:05d},{700000 + i},2024,{d}")
    path = work / f"distinct{n}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def varied_units_list(work: Path, n: int, shapes: int = 30) -> Path:
    """A 单位清单.csv of ``n`` units with varied rows and values, as a bureau's returns are: each unit has a data
    folder of its own, made from one of three bases (the two 决算 samples and the clean test unit). Its row set is
    one of ``shapes`` per base (a sample with one of its 项 rows of 公开03 dropped; the clean unit with its 2080101
    row moved to another 项 of the catalog), and its amounts differ from every other unit's (one 项 amount of
    公开02 and 公开03 raised by the unit's number in 分)."""
    import re as _re

    from xltools import catalog

    bases = [*SAMPLE_DATA, (ROOT / "tests" / "data" / "clean-unit", 2024)]
    fc = catalog.functional(2024)
    leaves = [c for c in fc.codes("项") if c != "2080101" and not c.startswith("221")]
    amount = _re.compile(r'^(\d{7}),([^,]*),("?[\d,]*\.\d\d"?|)(,.*)$')
    rows = ["单位名称,单位编码,年度,数据文件"]
    for i in range(n):
        folder, year = bases[i % len(bases)]
        shape = (i // len(bases)) % shapes
        d = work / "varied" / f"u{i:05d}"
        shutil.copytree(folder, d, ignore=shutil.ignore_patterns("*.xlsx", "published", "*.md"))
        if folder.name == "clean-unit":
            code = leaves[shape % len(leaves)]
            for name in ("F02.csv", "F03.csv", "F05.csv"):
                p = d / name
                p.write_text(p.read_text(encoding="utf-8").replace("2080101,行政运行", f"{code},{fc.name(code)}"),
                             encoding="utf-8")
        else:
            p = d / "F03.csv"
            lines = p.read_text(encoding="utf-8").splitlines()
            detail = [k for k, line in enumerate(lines) if _re.match(r"\d{7},", line)]
            if shape and detail:
                del lines[detail[shape % len(detail)]]
            p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name in ("F02.csv", "F03.csv"):
            p = d / name
            lines = p.read_text(encoding="utf-8").splitlines()
            for k, line in enumerate(lines):
                m = amount.match(line)
                if m and m.group(3):
                    v = Decimal(m.group(3).strip('"').replace(",", "")) + Decimal(i) / 100
                    lines[k] = f'{m.group(1)},{m.group(2)},"{v:,.2f}"{m.group(4)}'
                    break
            p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows.append(f"行与金额各异的单位{i:05d},{800000 + i},{year},{d}")
    path = work / f"varied{n}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} 核 {cpu or platform.processor()}，Python {platform.python_version()}，"
            f"开始时 1 分钟负载 {load:.2f}")


def table(rows: list[tuple], head: tuple) -> str:
    """A Markdown table (also what the scripts print)."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    out = ["| " + " | ".join(str(h) for h in head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    del widths
    return "\n".join(out)


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or add) this script's section of benchmarks/results.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else (
        "# 基准测试结果\n\n由 `benchmarks/` 中的脚本写入；每个脚本只改写自己的一节。\n")
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = f"{start}\n## {title}\n\n{stamp}，{machine()}\n\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda m: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def uno_python() -> str | None:
    from xltools.lo_recalc import find_uno_python

    return find_uno_python()


def lo_recalc(files: list[Path], out_dir: Path) -> tuple[list[Path], float]:
    """Recalculate ``files`` in one LibreOffice process; (recalculated copies, seconds)."""
    py = uno_python()
    if py is None:
        raise RuntimeError("LibreOffice (soffice + python3-uno) 未安装")
    t = time.perf_counter()
    r = subprocess.run([py, str(LO_SCRIPT), str(out_dir), *map(str, files)], capture_output=True, text=True,
                       timeout=1800)
    secs = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return [Path(x) for x in r.stdout.split("\n") if x.strip()], secs


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def formula_values(path: Path) -> dict:
    """(sheet, A1) → cached value of every formula cell, as calamine (a reader without an engine) sees it."""
    from python_calamine import CalamineWorkbook

    from xltools.read.workbook import formula_cells

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for sheet, cells in formula_cells(path).items():
        if not cells:
            continue
        grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for ref in cells:
            m = re.match(r"([A-Z]+)(\d+)$", ref)
            r, c = int(m.group(2)) - 1, _col(m.group(1))
            out[(sheet, ref)] = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
    return out


def compare_recalculated(src: Path, recalced: Path) -> tuple[int, list]:
    """(formula cells compared, mismatches) between our cached values and LibreOffice's results."""
    ours, theirs = formula_values(src), formula_values(recalced)
    bad = []
    for key, v in ours.items():
        w = theirs.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not isinstance(w, (int, float)) or round(v, 2) != round(w, 2):
                bad.append((key, v, w))
        elif (v or "") != (w or ""):
            bad.append((key, v, w))
    return len(ours), bad
