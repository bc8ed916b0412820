"""`xltools import 来源 -o 输出`."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("import", help="导入任意版式的公开表工作簿（.xlsx/.xls）或已公开的 PDF")
    p.add_argument("source", help="来源：.xlsx / .xls 工作簿或 .pdf")
    p.add_argument("-o", "--output", required=True, help="输出：数据文件夹（meta.yaml + CSV）或 .xlsx 工作簿")
    p.add_argument("--set", dest="set_hint", help="报表集（不写则按表名识别）")
    p.add_argument("--report", help="把导入报告另存为文本文件")
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    from xltools.importer import ImportError_, import_source, report_lines, write_data_folder

    src = Path(args.source)
    try:
        res = import_source(src, set_hint=args.set_hint)
    except ImportError_ as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if out.suffix.lower() in (".xlsx", ".xlsm"):
        from xltools.build.writer import build_workbook
        from xltools.narrative.inputs import write_notes_sheet
        try:
            r = build_workbook(res.report, out, extra_sheets=[write_notes_sheet])
        except (ValueError, OSError) as exc:
            print(f"错误：{src.name} 无法写出工作簿 {out}：{exc}", file=sys.stderr)
            return 2
        written = r.path
    else:
        try:
            written = write_data_folder(res, out)
        except OSError as exc:
            print(f"错误：无法写入 {out}（{exc}）", file=sys.stderr)
            return 2
    lines = report_lines(res, src.name)
    print("\n".join(lines))
    print(f"已写出：{written}")
    if args.report:
        Path(args.report).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if res.unplaced else 0
