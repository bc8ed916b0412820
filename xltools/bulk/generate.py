"""`xltools generate --units 单位清单.xlsx -o out/`: one workbook per unit, on every core.

Units are handed to worker processes in chunks; each worker keeps its templates (one per row-set shape,
see :mod:`xltools.bulk.render`) for the whole run, so the per-unit cost is reading the unit's data and
filling in its values. A unit whose data is bad is reported and skipped; the others are made.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from xltools.bulk.names import inside, unique_filenames, unit_filename
from xltools.bulk.units import Unit, UnitListError, read_units

__all__ = ["generate_units", "unit_report", "make_units", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    row: int
    code: str
    name: str
    file: str            # file name in the output folder
    error: str | None = None
    formulas: int = 0
    overrides: int = 0


def unit_report(unit: Unit):
    """The Report a unit's workbook is made from: its data file, or an empty template."""
    from xltools.build.writer import empty_report
    from xltools.read.datafile import DataError, load_data

    if unit.data:
        folder = Path(unit.data)
        if folder.is_file() and folder.name == "meta.yaml":
            folder = folder.parent
        if not folder.exists():
            raise DataError(f"数据文件不存在：{unit.data}")
        if not folder.is_dir():
            raise DataError(f"数据文件应为数据文件夹（含 meta.yaml 与各表 CSV）：{unit.data}")
        rep = load_data(folder)
        if unit.set_id and rep.set_id != unit.set_id:
            raise DataError(f"{folder}：数据的报表为 {rep.set_id}，清单为 {unit.set_id}")
        if unit.variant and rep.variant != unit.variant:
            raise DataError(f"{folder}：数据的版式为 {rep.variant}，清单为 {unit.variant}")
        if rep.year != unit.year:
            raise DataError(f"{folder}：数据的年度为 {rep.year}，清单为 {unit.year}")
        if unit.amount_unit and rep.amount_unit != unit.amount_unit:
            raise DataError(f"{folder}：数据的金额单位为 {rep.amount_unit}，清单为 {unit.amount_unit}")
        rep.unit = unit.name
    else:
        rep = empty_report(unit.set_id or "final_accounts", unit.variant, unit.name, unit.year, unit.amount_unit)
    if hasattr(rep, "unit_code"):
        rep.unit_code = unit.code
    return rep


def _extra_sheets():
    from xltools.narrative.inputs import extra_sheets as extra
    return extra()


def make_units(tasks: list[tuple[Unit, str]], out_dir: str, keep_original: bool = True) -> list[Outcome]:
    """Make the workbooks of a chunk of units (runs in a worker process)."""
    from xltools.bulk.render import render_workbook

    extra = _extra_sheets()
    out = []
    for unit, name in tasks:
        try:
            target = inside(Path(out_dir), name)
            rep = unit_report(unit)
            formulas, overrides = render_workbook(rep, target, extra_sheets=extra, keep_original=keep_original)
            out.append(Outcome(unit.row, unit.code, unit.name, name, None, formulas, overrides))
        except Exception as exc:  # one unit's failure never stops the others
            out.append(Outcome(unit.row, unit.code, unit.name, name, _reason(exc)))
    return out


def _reason(exc: Exception) -> str:
    from xltools.read.datafile import DataError
    from xltools.spec import SpecError

    if isinstance(exc, PermissionError):
        return f"无法写入 {exc.filename or ''}（文件可能正在 Excel/WPS 中打开，或没有写权限）"
    if isinstance(exc, (DataError, SpecError, ValueError, OSError)):
        return str(exc) or type(exc).__name__
    return f"内部错误（{type(exc).__name__}：{exc}）"


def _chunks(tasks: list, jobs: int) -> list[list]:
    size = max(1, min(50, len(tasks) // (jobs * 8) or 1))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def _progress(total: int, enabled: bool | None):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    # disable=None: shown on a terminal, silent when stderr is a file or a pipe
    return tqdm(total=total, unit="个", desc="生成", file=sys.stderr, disable=None if enabled is None else not enabled,
                dynamic_ncols=True)


def generate_units(units_path: str | Path, out_dir: str | Path, jobs: int = 0, *, progress: bool | None = None,
                   keep_original: bool = True, quiet: bool = False) -> int:
    """Make a workbook per unit of the list. Exit code: 0 all made, 1 some failed, 2 the list is unusable."""
    t0 = time.perf_counter()
    try:
        units = read_units(units_path)
    except UnitListError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    out = Path(out_dir)
    if out.suffix.lower() in (".xlsx", ".xlsm"):
        print(f"错误：--units 时 -o 应为输出文件夹，而不是文件 {out}", file=sys.stderr)
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"错误：无法创建输出文件夹 {out}（{exc}）", file=sys.stderr)
        return 2
    names = unique_filenames([unit_filename(u.code, u.name) for u in units])
    tasks = list(zip(units, names))
    jobs = jobs if jobs and jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, len(tasks))
    results: list[Outcome] = []
    bar = _progress(len(tasks), progress)
    try:
        if jobs <= 1:
            for chunk in _chunks(tasks, 1):
                done = make_units(chunk, str(out), keep_original)
                results.extend(done)
                if bar is not None:
                    bar.update(len(done))
        else:
            pool = ProcessPoolExecutor(max_workers=jobs)
            try:
                futures = [pool.submit(make_units, chunk, str(out), keep_original) for chunk in _chunks(tasks, jobs)]
                for fut in as_completed(futures):
                    done = fut.result()
                    results.extend(done)
                    if bar is not None:
                        bar.update(len(done))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)   # Ctrl+C: stop handing out chunks
                raise
            pool.shutdown()
    finally:
        if bar is not None:
            bar.close()
    results.sort(key=lambda o: o.row)
    failed = [o for o in results if o.error]
    made = len(results) - len(failed)
    secs = time.perf_counter() - t0
    if not quiet:
        rate = f"，{made / secs:.0f} 个/秒" if secs > 0 and made else ""
        print(f"完成：共 {len(results)} 个单位，已生成 {made} 个，失败 {len(failed)} 个"
              f"（{jobs} 个进程，用时 {secs:.1f} 秒{rate}）。输出文件夹：{out}")
        kept = sum(1 for o in results if o.overrides)
        if kept:
            print(f"  其中 {kept} 个单位的数据与合计公式不符，这些合计单元格按数据保留为常数（校验时会列出）。")
        for o in failed:
            print(f"  失败：第 {o.row} 行 {o.code} {o.name}：{o.error}", file=sys.stderr)
    return 2 if failed else 0    # exit codes: 1 is "errors found" by a check; a unit not made is 2
