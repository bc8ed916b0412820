"""Subcommands of the bulk feature: `xltools merge`. (`generate --units` lives in xltools.cli.)"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["register", "cmd_merge"]


def register(sub) -> None:
    m = sub.add_parser("merge", help="汇总：把各单位工作簿逐单元格相加，生成部门汇总工作簿")
    m.add_argument("paths", nargs="+", help="单位工作簿（.xlsx）或含工作簿的文件夹")
    m.add_argument("-o", "--output", required=True, help="汇总工作簿 .xlsx，如 部门汇总.xlsx")
    m.add_argument("--unit", help="汇总后的公开部门名称（默认：汇总）")
    m.add_argument("--code", metavar="单位编码", help="汇总后的单位编码")
    m.add_argument("--jobs", type=int, default=0, help="读取、校验各单位的进程数（默认用全部 CPU）")
    m.set_defaults(func=cmd_merge)


def _expand(paths: list[str], output: Path) -> list[Path]:
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(x for x in p.glob("*.xls[xm]") if not x.name.startswith(("~$", "."))
                              and ".bak." not in x.name and x.name != "校验汇总.xlsx"
                              and x.resolve() != output.resolve()))
        else:
            out.append(p)
    return out


def cmd_merge(args) -> int:
    from xltools.bulk.consolidate import MergeError, merge

    output = Path(args.output)
    paths = _expand(args.paths, output)
    if not paths:
        print("错误：没有找到要汇总的工作簿", file=sys.stderr)
        return 2
    try:
        res = merge(paths, output, unit=args.unit, unit_code=args.code, jobs=args.jobs)
    except MergeError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except OSError as exc:                 # xltools.safeio.WriteError: a refused or failed write
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(f"已汇总 {len(res.units)} 个单位：{res.path}（{res.formulas} 个公式）")
    bad = [u for u in res.units if u.errors]
    for u in bad:
        print(f"  注意：{u.name}（{u.file}）校验有 {u.errors} 个错误，汇总数据可能有误", file=sys.stderr)
    return 1 if bad else 0
