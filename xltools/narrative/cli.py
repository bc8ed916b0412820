"""`xltools narrative` and `xltools check-narrative`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["register", "cmd_narrative", "cmd_check_narrative", "docx_path"]

_LEVEL_CN = {"error": "错误", "warning": "警告", "info": "提示"}
_ORDER = {"error": 0, "warning": 1, "info": 2}
LIMIT = 200          # findings listed by check-narrative (the rest are counted): output stays bounded


def register(sub) -> None:
    n = sub.add_parser("narrative", help="由工作簿的数字和“说明事项”生成情况说明（写入“情况说明”页和 Word 文档）")
    n.add_argument("file", help="公开表工作簿 .xlsx")
    n.add_argument("--full", action="store_true", help="Word 文档包含完整公开内容：单位概况、各张表、情况说明、名词解释")
    n.add_argument("--no-docx", action="store_true", help="只写“情况说明”页，不生成 Word 文档")
    n.add_argument("--variant", help="情况说明的地区版式（默认与工作簿相同，如 ningxia、shanghai）")
    n.add_argument("-o", "--output", help="Word 文档路径（默认：文件-情况说明.docx，放在工作簿旁）")
    n.add_argument("--prior", metavar="上年公开", help="上年度决算公开（.xlsx 或 .pdf）：与上年比较的数字取自其中，不必在说明事项中录入")
    n.add_argument("--budget", metavar="本年预算公开", help="本年度部门预算公开（.xlsx 或 .pdf）：各科目年初预算数取自其中")
    n.add_argument("--force", action="store_true",
                   help="工作簿有校验错误时仍生成 Word 文档（首段为红色警告，退出码仍为 1；默认只写带红色警告的“情况说明”页）")
    n.set_defaults(func=cmd_narrative)

    nt = sub.add_parser("notes", help="说明事项页：按表中现有科目补齐应填写的事项（已填内容保留）")
    nsub = nt.add_subparsers(dest="notes_command", metavar="操作", required=True)
    r = nsub.add_parser("refresh", help="补齐“说明事项”页缺少的行（如新增科目的年初预算数、上年决算数），已填内容不变；"
                                        "原文件保留为 .bak.xlsx")
    r.add_argument("file", help="公开表工作簿 .xlsx")
    r.set_defaults(func=cmd_notes_refresh)

    c = sub.add_parser("check-narrative", help="核对已写好的情况说明（.docx/.txt 或工作簿中的“情况说明”页）与表中数据是否一致")
    c.add_argument("text", help="情况说明 .docx / .txt，或工作簿 .xlsx（配合 --sheet）")
    c.add_argument("--against", help="与之核对的公开表工作簿 .xlsx（核对工作簿自身的“情况说明”页时可省略）")
    c.add_argument("--sheet", nargs="?", const="情况说明", default=None,
                   help="读取工作簿中的情况说明页（默认页名“情况说明”）")
    c.add_argument("--json", action="store_true", help="以 JSON 输出（格式同 xltools check --json）")
    c.add_argument("--limit", type=int, default=LIMIT,
                   help=f"最多列出多少条（默认 {LIMIT}，其余只计数；0 = 全部列出）")
    c.set_defaults(func=cmd_check_narrative)


def docx_path(workbook: Path) -> Path:
    return workbook.with_name(f"{workbook.stem}-情况说明.docx")


def _read(path: Path):
    from xltools.importer import ImportError_, read_any
    from xltools.read.datafile import DataError, load_data
    from xltools.read.workbook import ReadError

    try:
        if path.is_dir():
            return load_data(path), None
        return read_any(path)[0], None      # our workbook, any 公开表 workbook, or a published PDF
    except (ReadError, DataError, ImportError_, OSError) as exc:
        return None, str(exc)


def cmd_narrative(args) -> int:
    from xltools.narrative import render, write_docx, write_sheet

    from xltools.safeio import stamp

    path = Path(args.file)
    started = stamp(path)             # a save made while we work is not overwritten
    report, err = _read(path)
    if err:
        print(f"错误：{err}", file=sys.stderr)
        return 2
    empty = _empty_identity(report, path)
    if empty:
        print(f"错误：{empty}", file=sys.stderr)
        return 2
    for option, label in (("prior", "上年公开"), ("budget", "预算公开")):
        other = getattr(args, option, None)
        if not other:
            continue
        from xltools.importer.compare import fill_budget, fill_prior
        source, err = _read(Path(other))
        if err:
            print(f"错误：{label} {err}", file=sys.stderr)
            return 2
        try:
            filled = (fill_prior if option == "prior" else fill_budget)(report, source)
        except ValueError as exc:
            print(f"错误：{Path(other).name}：{exc}", file=sys.stderr)
            return 2
        print(f"由{label} {Path(other).name} 取得 {len(filled)} 项数字（说明事项中已填写的保持不变）")
    try:
        narrative = render(report, args.variant)
    except Exception as exc:  # a template a user edited: say which and why
        print(f"错误：情况说明模板有误：{exc}", file=sys.stderr)
        return 2
    from xltools.rewrite import clean_text
    from xltools.safeio import WriteError, backup_path

    # a control character quoted from the workbook (a unit name …) cannot be written to a sheet or .docx
    import dataclasses

    narrative.title = clean_text(narrative.title)
    narrative.paragraphs = [dataclasses.replace(p, text=clean_text(p.text)) for p in narrative.paragraphs]

    errors = check_errors(report)
    warning = None
    if errors:
        from xltools.narrative.sheet import WARNING_PREFIX
        warning = (f"{WARNING_PREFIX} {len(errors)} 个校验错误（运行 xltools check 查看），情况说明中的数字可能不正确。"
                   f"请先改正表中数字，再重新生成情况说明。")
        print(f"警告：{path.name} 有 {len(errors)} 个校验错误，情况说明中的数字可能不正确：", file=sys.stderr)
        for f in errors[:5]:
            print(f"  [{_LEVEL_CN[f.level]}] {f.rule} {f.cell}：{clean_text(f.message)}", file=sys.stderr)
        if len(errors) > 5:
            print(f"  …… 共 {len(errors)} 个（xltools check {path.name} 列出全部）", file=sys.stderr)
    no_row = []
    if path.suffix.lower() in (".xlsx", ".xlsm"):   # a PDF gets the .docx only
        from xltools.narrative.inputs import note_items
        from xltools.narrative.refresh import missing_note_items
        # rows the current 科目 call for, when the workbook has our 说明事项 sheet
        no_row = missing_note_items(report) if "_cells" in (report.notes or {}) else []
        try:
            write_sheet(path, narrative, expect=started, warning=warning,
                        note_items=note_items(report.set_id, report) if no_row else None)
        except WriteError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 2
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:   # the workbook, not a temporary file
                from xltools.read.guard import os_error_text
                exc = os_error_text(exc, path)
            print(f"错误：无法写入工作簿 {path.name}（{exc}）", file=sys.stderr)
            return 2
        print(f"已写入“情况说明”页：{path}（{len(narrative.paragraphs)} 段；原文件保留为 {backup_path(path).name}）"
              + ("；页首有红色警告" if warning else ""))
    if errors and not args.no_docx and not args.force:
        print("未生成 Word 文档：工作簿有校验错误。改正后重新运行，或加 --force 仍然生成。", file=sys.stderr)
    if not args.no_docx and (args.force or not errors):
        out = Path(args.output) if args.output else docx_path(path)
        if out.resolve() == path.resolve() or out.suffix.lower() in (".xlsx", ".xlsm", ".xlam"):
            print(f"错误：Word 文档不能写到工作簿 {out.name}（请用 .docx 文件名）", file=sys.stderr)
            return 2
        try:
            write_docx(out, narrative, report, full=args.full, warning=warning)
        except WriteError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 2
        except (OSError, ValueError) as exc:      # python-docx refuses control characters
            print(f"错误：无法生成 Word 文档 {out.name}（{exc}）", file=sys.stderr)
            return 2
        print(f"已生成 Word 文档：{out}{'（完整公开内容）' if args.full else ''}"
              + ("；文档首段有红色警告（工作簿有校验错误）" if warning else ""))
    if no_row:
        print(f"\n“说明事项”页已按表中科目补上 {len(no_row)} 行（如 {no_row[0].label}），已填内容不变；请填写后重新生成。")
    if narrative.missing:
        print(f"\n还有 {len(narrative.missing)} 项说明事项未填写，情况说明中如下标出（请在“说明事项”页填写）：")
        for key, label in narrative.missing[:30]:
            print(f"  - {narrative.markers.get(key) or label}")
        if len(narrative.missing) > 30:
            print(f"  …… 共 {len(narrative.missing)} 项")
    return 1 if errors else 0      # forced over errors too: the errors are findings (exit 1)


def check_errors(report) -> list:
    """The check errors of ``report`` (level error), in the order ``xltools check`` lists them."""
    from xltools.rules import check_report

    return sorted((f for f in check_report(report) if f.level == "error"), key=lambda f: (f.table, f.rule))


def cmd_notes_refresh(args) -> int:
    from xltools.narrative.refresh import refresh_notes

    path = Path(args.file)
    if not path.is_file():
        print(f"错误：找不到文件 {path}", file=sys.stderr)
        return 2
    report, err = _read(path)
    if err:
        print(f"错误：{err}", file=sys.stderr)
        return 2
    try:
        res = refresh_notes(path, report=report)
    except (OSError, ValueError, KeyError) as exc:
        print(f"错误：无法更新 {path.name} 的“说明事项”页：{exc}", file=sys.stderr)
        return 2
    if not res.written:
        print(f"{path}：“说明事项”页已包含表中所有科目应填写的事项，未改动。")
        return 0
    print(f"已更新“说明事项”页：{path}（新增 {len(res.added)} 行，原有 {res.kept} 项已填内容保留；"
          f"原文件保留为 {path.stem}.bak{path.suffix}）")
    for it in res.added[:30]:
        print(f"  + {it.label}")
    if len(res.added) > 30:
        print(f"  …… 共 {len(res.added)} 行")
    return 0


def _empty_identity(report, path: Path) -> str | None:
    """Why a narrative cannot be written yet: the unit or the year is empty (None when both are set)."""
    missing = [name for name, ok in (("单位名称", bool((report.unit or "").strip())), ("年度", bool(report.year)))
               if not ok]
    if not missing:
        return None
    what = "、".join(f"“{m}”" for m in missing)
    if path.is_dir():
        return f"{path.name}/meta.yaml 中{what}为空（unit / year），情况说明需要它们；请填写后重试"
    from xltools.build.cover import COVER_FIELDS, COVER_SHEET

    if not _has_cover(path):
        return f"{path.name}：未能确定{what}，情况说明需要它们（请用 xltools new/generate 生成的工作簿，在“{COVER_SHEET}”页填写）"

    cells = "、".join(f"{COVER_SHEET}!B{r + 1}" for key, label, r in COVER_FIELDS if label in missing)
    return (f"{path.name}：{COVER_SHEET}页的{what}尚未填写（{cells}），情况说明需要它们；"
            f"请在“{COVER_SHEET}”页填写（年度为 2000–2100 的四位数）后重试")


def _has_cover(path: Path) -> bool:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False
    try:
        from python_calamine import CalamineWorkbook

        from xltools.build.cover import COVER_SHEET

        return COVER_SHEET in CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:   # unreadable here: the generic message
        return False


def cmd_check_narrative(args) -> int:
    from xltools.narrative import check_text
    from xltools.narrative.check import NarrativeReadError, read_narrative

    text_path = Path(args.text)
    if not text_path.exists():
        print(f"错误：找不到文件 {text_path}", file=sys.stderr)
        return 2
    against = Path(args.against) if args.against else None
    if against is not None and not against.exists():
        print(f"错误：找不到文件 {against}", file=sys.stderr)
        return 2
    if against is None:
        if text_path.suffix.lower() in (".xlsx", ".xlsm", ".pdf"):
            against = text_path
        else:
            print("错误：请用 --against 指定与之核对的公开表工作簿", file=sys.stderr)
            return 2
    sheet = args.sheet
    if sheet is None and text_path.suffix.lower() in (".xlsx", ".xlsm"):
        sheet = "情况说明"
    report, err = _read(against)
    text, other = None, ""
    if err is None:
        try:
            if text_path.suffix.lower() == ".pdf":
                from xltools.importer import ImportError_, document_text, narrative_text
                from xltools.importer.sources import read_source
                try:
                    src = read_source(text_path)
                    text = narrative_text(src)
                    other = document_text(src)   # headings, 名词解释 …: placeholders and typos (N-08/14/15)
                except ImportError_ as exc:
                    raise NarrativeReadError(str(exc)) from None
                if not text:
                    raise NarrativeReadError(f"{text_path.name}：PDF 中没有找到“情况说明”部分")
            else:
                text = read_narrative(text_path, sheet=sheet)
        except NarrativeReadError as exc:
            err = str(exc)
    findings = check_text(text, report) if err is None else []
    if err is None and other:
        from xltools.narrative.wording import document_findings
        findings += document_findings(other, report)
    limit = getattr(args, "limit", LIMIT)
    # errors first, in text order; at most ``limit`` listed, the rest counted
    shown = sorted(findings, key=lambda f: _ORDER.get(f.level, 3))
    shown = shown[:limit] if limit and limit > 0 else shown
    omitted = len(findings) - len(shown)
    if args.json:
        doc = {"files": [{"file": str(text_path), "against": str(against), **({"error": err} if err else {}),
                          "findings": [f.as_dict() for f in shown], "total": len(findings),
                          "omitted": omitted}]}
        if err:   # exit 2: at the top too, as `check --json` does
            doc["error"] = err
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif err:
        print(f"{text_path}：无法读取 —— {err}")
    else:
        n_err = sum(f.level == "error" for f in findings)
        n_warn = sum(f.level == "warning" for f in findings)
        n_info = sum(f.level == "info" for f in findings)
        print(f"{text_path}（对照 {against.name}）：{n_err} 个错误，{n_warn} 个警告" + (f"，{n_info} 条提示" if n_info else ""))
        for f in shown:
            print(f"  [{_LEVEL_CN[f.level]}] {f.rule}  {f.message}")
            print(f"      原句：{f.cell if len(f.cell) <= 300 else f.cell[:300] + '……'}")
        if omitted:
            print(f"  …… 另有 {omitted} 条未列出（用 --limit 0 列出全部）")
    if err:
        return 2
    return 1 if any(f.level == "error" for f in findings) else 0
