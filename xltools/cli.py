"""`xltools …` — the command line. User-facing text is Chinese."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

__all__ = ["main"]

# feature modules that add their own subcommands: module.register(subparsers)
_PLUGINS = ("xltools.narrative.cli", "xltools.addin.cli", "xltools.bulk.cli", "xltools.importer.cli")


def _year(text: str) -> int:
    """--year: a four-digit year 2000–2100 (``24`` is refused, not read as the year 24)."""
    try:
        y = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"年度“{text}”不是数字，请写四位年份，如 2024") from None
    if not 2000 <= y <= 2100:
        raise argparse.ArgumentTypeError(f"年度 {text} 不在 2000–2100 之间，请写四位年份，如 2024")
    return y


def _parser() -> argparse.ArgumentParser:
    from xltools.cliparse import ChineseArgumentParser

    p = ChineseArgumentParser(prog="xltools", description="部门决算/预算公开表：生成、校验、情况说明。")
    from xltools import __version__
    p.add_argument("--version", action="version", version=f"xltools {__version__}", help="显示版本号并退出")
    p.add_argument("--catalog", action="append", metavar="科目.csv",
                   help="补充自己的科目目录 CSV（code,level,name,since,until,aliases），可多次使用")
    sub = p.add_subparsers(dest="command", metavar="命令")

    n = sub.add_parser("new", help="新建空白公开表工作簿")
    n.add_argument("--set", default="final_accounts",
                   help="报表集：决算（final_accounts）、预算（budget）、绩效（performance），中英文名均可")
    n.add_argument("--variant", nargs="?", const="", metavar="版式",
                   help="版式（地区），如 宁夏、上海、山西、中央、广西 或 ningxia，或自己的版式文件 我的版式.yaml；"
                        "只写 --variant 则列出内置版式及其差别")
    n.add_argument("--unit", help="公开部门（单位名称）")
    n.add_argument("--year", type=_year, help="年度（四位，2000–2100）")
    n.add_argument("--amount-unit", choices=["元", "万元"], help="金额单位（默认随版式）")
    n.add_argument("-o", "--output", help="输出文件 .xlsx")
    n.set_defaults(func=cmd_new)

    g = sub.add_parser("generate", help="由数据文件夹生成已填好的工作簿")
    g.add_argument("data", nargs="*", help="数据文件夹（含 meta.yaml 与各表 CSV），如 samples/ningxia-sbj-2022-final")
    g.add_argument("-o", "--output", required=True, help="输出文件夹或 .xlsx 文件")
    g.add_argument("--units", help="单位清单 .xlsx/.csv：每个单位生成一个工作簿")
    g.add_argument("--jobs", type=int, default=0, help="并行进程数（默认用全部 CPU）")
    g.set_defaults(func=cmd_generate)

    c = sub.add_parser("check", help="校验工作簿：表内、表间勾稽关系")
    c.add_argument("paths", nargs="+", help="工作簿或文件夹")
    c.add_argument("--json", action="store_true", help="以 JSON 输出")
    c.add_argument("--write", action="store_true", help="在工作簿中写入“校验结果”页并标记单元格（原文件保留为 .bak.xlsx）")
    c.add_argument("--summary", help="汇总工作簿路径（检查文件夹时默认写入 文件夹/校验汇总.xlsx）")
    c.add_argument("--level", choices=["error", "warning", "info"], default="info", help="显示的最低级别")
    c.add_argument("--jobs", type=int, default=0, help="并行进程数（默认用全部 CPU；文件少时不并行）")
    c.set_defaults(func=cmd_check)

    rw = sub.add_parser("rows", help="明细表插入科目行（公式、科目名称、格式和保护不变）")
    rsub = rw.add_subparsers(dest="rows_command", metavar="操作", required=True)
    ra = rsub.add_parser("add", help="在明细表的科目块中按编码顺序插入科目行，“审核”页随之重新生成；原文件保留为 .bak.xlsx")
    ra.add_argument("file", help="公开表工作簿 .xlsx")
    ra.add_argument("--table", required=True, help="表：公开05、公开05表、F05 或表名（如 一般公共预算财政拨款支出决算表）")
    ra.add_argument("--code", action="append", default=[], metavar="科目编码", help="科目编码，如 2130101（可多次）")
    ra.add_argument("--count", type=int, default=0, help="另外插入的空白录入行数")
    ra.set_defaults(func=cmd_rows_add)

    for mod in _PLUGINS:
        try:
            m = importlib.import_module(mod)
        except ImportError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        m.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command. Exit codes: 0 clean, 1 errors found, 2 anything else (a usage error, an unreadable
    input, an unexpected failure — whose traceback goes to a log file, never to the screen)."""
    from xltools.cliparse import safe_streams
    safe_streams()          # a GBK console or a redirected file never fails on "−", "✓" …
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    try:
        code = _main(argv, want_json)
    except SystemExit as exc:   # argparse (usage error: 2; --help/--version: 0) or a command's sys.exit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        code = 2
    except BrokenPipeError:  # output piped into `head` and the like
        _quiet_stdout()
        code = 0
    except MemoryError:
        _fail(argv, want_json, "内存不足，已停止（输入文件可能过大或已损坏）", log=False)
        code = 2
    except Exception:          # a bug: the traceback goes to a log file, the user gets one Chinese line
        _fail(argv, want_json, None)
        code = 2
    return code if code in (0, 1, 2) else 2


def _main(argv: list[str], want_json: bool) -> int:
    p = _parser()
    if want_json:
        import contextlib
        import io

        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                args = p.parse_args(argv)
        except SystemExit as exc:
            text = err.getvalue().strip()
            sys.stderr.write(err.getvalue())
            if exc.code not in (0, None):
                _print_json_error(f"命令行参数有误（{' '.join(text.splitlines()[-1:])}）" if text else "命令行参数有误")
            raise
    else:
        args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 0
    if args.catalog:
        import os

        from xltools.catalog import USER_CATALOG_ENV, load_user_csv
        for path in args.catalog:
            try:
                load_user_csv(path)          # a bad file is reported now, naming file and line
            except (OSError, ValueError) as exc:
                print(f"错误：{_err_text(exc, path)}", file=sys.stderr)
                if want_json:
                    _print_json_error(_err_text(exc, path))
                return 2
        # worker processes (bulk generation, parallel checks) inherit it
        os.environ[USER_CATALOG_ENV] = os.pathsep.join(
            [*args.catalog, *filter(None, os.environ.get(USER_CATALOG_ENV, "").split(os.pathsep))])
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        if want_json:
            _print_json_error(str(exc))
        return 2
    except _user_errors() as exc:     # a reader's or the OS's refusal that a command did not catch
        print(f"错误：{_err_text(exc)}", file=sys.stderr)
        if want_json:
            _print_json_error(_err_text(exc))
        return 2


def _print_json_error(message: str) -> None:
    json.dump({"files": [], "error": message}, sys.stdout, ensure_ascii=False, indent=1)
    print()


def _quiet_stdout() -> None:
    import os
    try:   # stdout is a closed pipe: point it at /dev/null so the interpreter's final flush is silent
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fail(argv, want_json: bool, message: str | None, log: bool = True) -> None:
    from xltools.crashlog import write_crash_log
    exc = sys.exc_info()[1]
    path = write_crash_log(argv) if log else None
    detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}" if exc is not None else ""
    text = message or f"xltools 内部错误，操作未完成（{detail}）"
    if path is not None:
        text += f"。详细信息已写入 {path}，请将此文件发给维护者"
    print(f"错误：{text}", file=sys.stderr)
    if want_json:
        try:
            _print_json_error(text)
        except Exception:   # pragma: no cover - stdout itself is broken
            pass


def _err_text(exc: BaseException, path=None) -> str:
    """A Chinese line for a refusal: our own errors carry Chinese text already; an OSError is explained
    and names ``path`` (the file the user named), not a temporary file."""
    if isinstance(exc, OSError) and exc.errno is not None:   # (WriteError carries its own Chinese text)
        from xltools.read.guard import os_error_text
        return os_error_text(exc, path)
    return str(exc)


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _user_errors():
    from xltools.read.datafile import DataError
    from xltools.importer import ImportError_
    from xltools.read.guard import InputError
    from xltools.read.workbook import ReadError
    from xltools.spec import SpecError
    return (DataError, ReadError, SpecError, ImportError_, InputError, OSError)


# ---------------------------------------------------------------- new

def cmd_new(args) -> int:
    from xltools.build.writer import build_workbook, empty_report
    from xltools.spec import load_set

    try:
        tset = load_set(args.set)
    except _user_errors() as exc:
        raise UserError(str(exc)) from None
    if args.variant == "" or (not args.variant and not args.output):
        from xltools.spec.variants import describe_variant
        print(f"报表集 {tset.kind_label}（{tset.id}，{tset.title}）内置版式（--variant 用中文名或英文名；"
              f"也可写自己的版式文件：--variant 我的版式.yaml）：")
        for v in tset.variants.values():
            print(f"  {v.short_label:6s} {v.id:10s} {describe_variant(tset, v)}")
        return 0
    if not args.output:
        raise UserError("请用 -o 指定输出文件，例如 -o 某某局2024决算公开.xlsx")
    try:
        variant = tset.variant(args.variant).id if args.variant else None
        rep = empty_report(tset.id, variant, args.unit or "", args.year, args.amount_unit)
        res = build_workbook(rep, args.output, extra_sheets=_extra_sheets())
    except _user_errors() as exc:
        raise UserError(str(exc)) from None
    import python_calamine

    sheets = [n for n in python_calamine.CalamineWorkbook.from_path(str(res.path)).sheets_metadata
              if str(n.visible).endswith("Visible")]
    print(f"已生成 {res.path}（{len(sheets)} 张工作表，{res.formulas} 个公式）")
    return 0


def _extra_sheets():
    from xltools.narrative.inputs import extra_sheets
    return extra_sheets()


# ---------------------------------------------------------------- rows add

def cmd_rows_add(args) -> int:
    from xltools.build.rows import RowsError, add_rows

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"找不到文件 {path}")
    if args.count < 0 or args.count > 500:
        raise UserError("--count 应在 0–500 之间")
    try:
        res = add_rows(path, args.table, args.code, count=args.count)
    except RowsError as exc:
        raise UserError(f"{path.name}：{exc}") from None
    except _user_errors() as exc:
        raise UserError(str(exc)) from None
    for code, row in res.added:
        print(f"  {res.sheet} 第 {row} 行：{code or '（空白录入行）'}")
    if res.unknown:
        print(f"注意：科目 {'、'.join(res.unknown)} 不在科目目录中，科目名称显示【目录中无此科目】，校验时会列出；"
              f"可用 --catalog 补充自己的科目目录，或改正编码。", file=sys.stderr)
    if res.notes_added:
        print(f"“说明事项”页随之新增 {len(res.notes_added)} 行：" +
              "、".join(it.label for it in res.notes_added[:5]) + ("……" if len(res.notes_added) > 5 else ""))
    if res.audit_rows is not None:
        print(f"“审核”页已按现有各行重新生成（{res.audit_rows} 条勾稽关系，新科目行也在其中）")
    print(f"已在 {path} 的“{res.sheet}”插入 {len(res.added)} 行（公式、科目名称、格式和保护已带上；"
          f"原文件保留为 {path.stem}.bak{path.suffix}）")
    return 0


# ---------------------------------------------------------------- generate

def cmd_generate(args) -> int:
    if args.units:
        from xltools.bulk import generate_units  # issue: bulk generation
        return generate_units(args.units, args.output, jobs=args.jobs)
    if not args.data:
        raise UserError("请给出数据文件夹，或用 --units 指定单位清单")
    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data

    out = Path(args.output)
    failed = 0
    for d in args.data:
        d = Path(d)
        target = out if out.suffix.lower() == ".xlsx" and len(args.data) == 1 else out / f"{d.name}.xlsx"
        try:
            rep = load_data(d)
            res = build_workbook(rep, target, extra_sheets=_extra_sheets())
        except _user_errors() as exc:   # an OSError here is the output's (the readers raise DataError)
            print(f"错误：{_err_text(exc, target)}", file=sys.stderr)
            failed += 1
            continue
        extra = f"；{len(res.overrides)} 个合计单元格按数据保留为常数" if res.overrides else ""
        print(f"已生成 {res.path}（{res.formulas} 个公式{extra}）")
    return 2 if failed else 0


# ---------------------------------------------------------------- check

_LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}
_LEVEL_CN = {"error": "错误", "warning": "警告", "info": "提示"}


def _expand_paths(paths: list[str]) -> list[tuple[Path, bool]]:
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(x for x in p.rglob("*") if x.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".pdf")
                           and not x.name.startswith(("~$", ".")) and
                           ".bak." not in x.name and x.name != "校验汇总.xlsx")
            out.extend((f, True) for f in files)
        else:
            out.append((p, False))
    return out


def check_file(path: Path) -> tuple[list, str | None]:
    """(findings, read error message or None). Never raises: one bad file must not stop a folder."""
    from xltools.importer import read_any
    from xltools.rules import check_report

    path = Path(path)
    step = "读取"
    try:
        rep, narrative, res = read_any(path)   # our workbook, any 公开表 workbook, or a published PDF
        step = "校验"
        findings = check_report(rep)
        if narrative:   # a PDF's own 情况说明, checked against its own tables in the same run
            from xltools.narrative import check_text
            findings.extend(check_text(narrative, rep))
        if res is not None:   # the rest of a PDF's words (headings, 名词解释 …): placeholders and typos
            from xltools.importer import document_text
            from xltools.narrative.wording import document_findings
            findings.extend(document_findings(document_text(res.source), rep))
        return findings, None
    except _user_errors() as exc:
        return [], _err_text(exc, path if isinstance(exc, OSError) else None)
    except MemoryError:
        return [], f"{path.name}：内存不足，无法{step}"
    except Exception as exc:   # a bug or a file no rule foresaw: report it for this file, log the traceback
        from xltools.crashlog import write_crash_log
        log = write_crash_log(["check", str(path)])
        where = f"，详细信息见 {log}" if log else ""
        return [], (f"{path.name}：{step}时发生内部错误（{type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:200]}）{where}")


def _check_isolated(path: Path) -> tuple[list, str | None]:
    """check_file in a process of its own, for files left when a worker died."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=1) as one:
            return one.submit(check_file, path).result()
    except BrokenProcessPool:
        return [], f"{Path(path).name}：校验进程意外终止（文件可能异常或内存不足），已跳过此文件"


def _check_files(paths: list[Path], jobs: int):
    """check_file over ``paths``, in order; many files are checked by several processes (0: all CPUs).
    If a worker process dies, the files not yet done are checked again one per process, so only the
    file that kills its process is reported as failed."""
    import os

    jobs = jobs if jobs and jobs > 0 else (os.cpu_count() or 1)
    if jobs <= 1 or len(paths) < 16:
        for p in paths:
            yield check_file(p)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _warm_checker()     # workers forked from this process inherit the imports and specs instead of redoing them
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
            for res in pool.map(check_file, paths, chunksize=max(1, min(16, len(paths) // (jobs * 8)))):
                yield res
                done += 1
        return
    except BrokenProcessPool:
        pass
    for p in paths[done:]:
        yield _check_isolated(p)


def _warm_checker() -> None:
    """Import what checking a workbook needs and load every set's spec, once, before a pool forks its workers."""
    import jinja2  # noqa: F401 - N-10 renders the 情况说明
    import xltools.narrative.check  # noqa: F401
    import xltools.perf  # noqa: F401
    import xltools.read.workbook  # noqa: F401
    import xltools.rules  # noqa: F401
    from xltools.spec import available_sets, load_set

    for sid in available_sets():
        load_set(sid)


class _JsonFiles:
    """The `check --json` document written a file at a time — byte for byte what ``json.dump(doc, indent=1)`` of
    ``{"files": [...], "error": …}`` writes — so that a folder's findings are not all kept in memory."""

    def __init__(self, out):
        self.out = out
        self.first = True

    def add(self, item: dict) -> None:
        text = json.dumps(item, ensure_ascii=False, indent=1).replace("\n", "\n  ")   # one level deeper
        self.out.write(('{\n "files": [\n  ' if self.first else ",\n  ") + text)
        self.first = False

    def close(self, error: str | None) -> None:
        self.out.write('{\n "files": []' if self.first else "\n ]")
        if error:
            self.out.write(',\n "error": ' + json.dumps(error, ensure_ascii=False))
        self.out.write("\n}\n")


def _json_item(path, findings, err, min_level: int) -> dict:
    return {"file": str(path), **({"error": err} if err else {}),
            "findings": [f.as_dict() for f in findings if _LEVEL_ORDER[f.level] <= min_level]}


def cmd_check(args) -> int:
    items = _expand_paths(args.paths)
    if not items:
        raise UserError("没有找到要校验的工作簿")
    min_level = _LEVEL_ORDER[args.level]
    if args.write:                    # a save made while we check is not overwritten
        from xltools.safeio import stamp
        started = {p: stamp(p) for p, _ in items}
    results = []
    unreadable = False
    from_folder = any(f for _, f in items)
    progress = _progress(len(items)) if len(items) > 20 and not args.json else None
    summary = None
    if from_folder or args.summary:
        from xltools.rules.report import SummaryWriter
        summary = SummaryWriter()
    # --json without --write: each file's findings go to the summary and to stdout as they come and are not kept
    # (the memory of a folder run does not grow with its number of workbooks)
    stream = _JsonFiles(sys.stdout) if args.json and not args.write else None
    n_bad = 0
    has_error = False
    try:
        for (path, _), (findings, err) in zip(items, _check_files([p for p, _ in items], getattr(args, "jobs", 1))):
            if err:
                unreadable = True
                n_bad += 1
            has_error = has_error or any(f.level == "error" for f in findings)
            if summary is not None:
                summary.add(path, findings, err)
            if stream is not None:
                stream.add(_json_item(path, findings, err, min_level))
            else:
                results.append((path, findings, err))
            if progress:
                progress.update(1)
    except BaseException:
        if summary is not None:
            summary.close()
        raise
    if progress:
        progress.close()
    write_errors = []
    if args.write:
        from xltools.rules.report import write_findings
        from xltools.safeio import WriteError, backup_path
        for path, findings, err in results:
            if err:
                continue
            try:
                out = write_findings(path, findings, expect=started.get(path))
            except (OSError, ValueError, KeyError) as exc:   # the workbook is named, not a temp file
                write_errors.append(str(exc) if isinstance(exc, WriteError)
                                    else f"无法写入工作簿 {path}：{_err_text(exc, path)}")
                print(f"错误：{write_errors[-1]}", file=sys.stderr)
                continue
            if not args.json:
                print(f"已写入“校验结果”页：{out}（原文件保留为 {backup_path(out).name}）")
    if summary is not None:
        from xltools.safeio import WriteError
        target = Path(args.summary) if args.summary else (Path(args.paths[0]) / "校验汇总.xlsx")
        try:
            summary.save(target)
        except (OSError, ValueError) as exc:
            write_errors.append(str(exc) if isinstance(exc, WriteError)
                                else f"无法写入汇总工作簿 {target}：{_err_text(exc, target)}")
            print(f"错误：{write_errors[-1]}", file=sys.stderr)
        else:
            if not args.json:
                print(f"汇总工作簿：{target}")
    problems = ([f"{n_bad} 个文件无法读取（原因见各文件的 error）"] if n_bad else []) + write_errors
    if stream is not None:
        stream.close("；".join(problems) if problems else None)   # exit 2: say so at the top too
    elif args.json:
        doc = {"files": [_json_item(p, fs, e, min_level) for p, fs, e in results]}
        if problems:   # exit 2: say so at the top too, as for a usage error
            doc["error"] = "；".join(problems)
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        _print_table(results, min_level)
    if unreadable or write_errors:
        return 2
    return 1 if has_error else 0


def _progress(total: int):
    try:
        from tqdm import tqdm
        return tqdm(total=total, unit="个", desc="校验", file=sys.stderr)
    except ImportError:  # pragma: no cover
        return None


def _print_table(results, min_level: int) -> None:
    from xltools.rules.report import result_order

    for path, findings, err in results:
        if err:
            print(f"\n{path}：无法读取 —— {err}")
            continue
        shown = [f for f in result_order(findings) if _LEVEL_ORDER[f.level] <= min_level]
        n_err = sum(f.level == "error" for f in findings)
        n_warn = sum(f.level == "warning" for f in findings)
        n_head = sum(f.level in ("error", "warning") and not f.cause for f in findings)
        print(f"\n{path}：{n_err} 个错误，{n_warn} 个警告（归为 {n_head} 个问题）")
        for f in shown:
            if f.cause:       # a consequence, beneath its headline
                print(f"      └ [{_LEVEL_CN[f.level]}] {f.rule:10s} {f.cell}")
                print(f"          {f.message}")
            else:
                print(f"  [{_LEVEL_CN[f.level]}] {f.rule:10s} {f.cell}")
                print(f"      {f.message}")
    total = sum(len(fs) for _, fs, _ in results)
    print(f"\n共 {len(results)} 个文件，{total} 条结果。")


if __name__ == "__main__":
    sys.exit(main())
