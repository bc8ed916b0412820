"""Entry points of the Excel add-in: ribbon button → VBA callback → xlwings ``RunPython`` → here.

    import xltools.addin as a; a.check()        校验: 校验结果 sheet, flagged cells marked
    a.narrative()                               生成情况说明: the 情况说明 sheet
    a.export_word()                             导出Word: 情况说明 (and the tables) as .docx
    a.insert_rows('2130101 2130102')            插入科目行: `xltools rows add` on the caller book's file
    a.new_template()                            新建模板: an empty workbook of the 设置 set/variant
    a.about()                                   关于/设置: the 设置 sheet (settings + versions, paths)

Every click starts a new Python process that imports this module, so it imports nothing heavy:
xlwings, the reader, the rules and the narrative are imported inside the functions (the build and
install modules of this package never). Each entry point takes the caller book (``xw.Book.caller()``;
tests pass a book made with ``set_mock_caller()``), reads it with the same code as the CLI, and
writes results back through xlwings. A problem the user can fix is shown as a Chinese message box
(``app.alert``; the remote engine records it as an action); an unexpected error is logged to
``~/.xltools/addin.log`` and shown as a one-line message, never as a traceback.
"""
from __future__ import annotations

__all__ = ["check", "narrative", "export_word", "insert_rows", "new_template", "about", "AddinError"]

from xltools.addin.common import TITLE, AddinError


def check(book=None):
    """校验 the caller book; returns the findings (also written to the 校验结果 sheet)."""
    return _run(_check, book)


def narrative(book=None):
    """Render the 情况说明 onto its sheet; returns the sheet's name."""
    return _run(_narrative, book)


def export_word(book=None):
    """Write the 情况说明 (with the tables) as a Word document beside the workbook; returns its path."""
    return _run(_export_word, book)


def insert_rows(codes: str = "", book=None):
    """Insert 科目 rows (codes separated by spaces or commas) into the detail table on the active sheet,
    through `xltools rows add` on the saved file; returns its AddResult."""
    return _run(lambda b: _insert_rows(b, codes), book)


def new_template(book=None):
    """Make an empty workbook of the set/variant chosen on the 设置 sheet (default: 决算, ningxia)."""
    return _run(_new_template, book)


def about(book=None):
    """Write the 设置 sheet: settings, versions, interpreter and paths."""
    return _run(_about, book)


# ---------------------------------------------------------------- plumbing

def _caller(book):
    if book is not None:
        return book
    import xlwings as xw

    return xw.Book.caller()


def _run(action, book):
    try:
        book = _caller(book)
    except Exception as exc:      # not called from Excel and no mock caller
        _log(exc)
        print(f"xltools：找不到调用的工作簿（{exc}）")
        return None
    try:
        return action(book)
    except AddinError as exc:
        _alert(book, str(exc), "critical")
    except Exception as exc:       # never a traceback dump in Excel
        log = _log(exc)
        _alert(book, f"xltools 运行出错：{type(exc).__name__}: {exc}\n\n详细信息已记录在：{log}\n"
                     "如果问题反复出现，请把该文件发给维护人员。", "critical")
    return None


def _alert(book, text: str, mode: str = "info") -> None:
    try:
        book.app.alert(text, title=TITLE, mode=mode)
    except Exception:
        print(f"{TITLE}：{text}")


def _log(exc: BaseException):
    import datetime
    import traceback
    from pathlib import Path

    path = Path.home() / ".xltools" / "addin.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return "（无法写入日志）"
    return path


# ---------------------------------------------------------------- actions

def _check(book):
    from xltools.addin._book import read_book, write_check
    from xltools.rules import check_report

    data = read_book(book)
    findings = check_report(data.report)
    write_check(book, data, findings)
    return findings


def _render(data):
    try:
        from xltools.narrative import render
        return render(data.report)
    except (ImportError, NotImplementedError) as exc:
        raise AddinError(f"此版本的 xltools 还不能生成该报表集的情况说明（{exc}）。") from None


def _narrative(book):
    from xltools.addin._book import read_book, write_narrative

    try:
        from xltools.narrative import SHEET
    except ImportError:
        SHEET = "情况说明"
    data = read_book(book)
    nar = _render(data)
    done = write_narrative(book, data, nar, SHEET)
    notes = []
    if done["kept_as"]:
        notes.append(f"原有的“{SHEET}”页已改名为“{done['kept_as']}”保留（其中的文字不是上次生成的原样）。")
    if done["missing"]:
        notes.append(f"还有 {len(done['missing'])} 项说明事项未填写（文中以【请填写…】或【待计算…：需先填写“…”】标出），"
                     "请在“说明事项”页填写后重新生成。")
    if notes:
        _alert(book, f"已生成“{SHEET}”页。\n\n" + "\n\n".join(notes))
    return done["sheet"]


def _export_word(book):
    from pathlib import Path

    from xltools.addin._book import free_path, out_dir, read_book, safe_name, settings

    data = read_book(book)
    nar = _render(data)
    try:
        from xltools.narrative import write_docx
    except ImportError as exc:
        raise AddinError(f"此版本的 xltools 还不能导出 Word（{exc}）。") from None
    folder = out_dir(book, settings(book).get("out_dir", ""))
    stem = safe_name(Path(book.name).stem) or "公开表"
    path = folder / f"{stem}-情况说明.docx"
    try:
        try:
            write_docx(path, nar, data.report, full=True)
        except PermissionError:        # that file is open in Word: write beside it
            path = free_path(folder, f"{stem}-情况说明", ".docx")
            write_docx(path, nar, data.report, full=True)
    except ImportError as exc:
        raise AddinError(f"此版本的 xltools 还不能导出 Word（{exc}）。") from None
    except OSError as exc:
        raise AddinError(f"无法写入 Word 文件：{exc}") from None
    _alert(book, f"已导出 Word 文档：\n{path}")
    return path


def _insert_rows(book, codes: str):
    """The caller book is saved and closed (Excel), `xltools rows add` edits its file — formulas, names,
    protection, 说明事项 and the 审核 sheet, the first original kept as .bak.xlsx — and the book is
    opened again on the first new row. An engine that cannot close and open books leaves the file
    edited on disk and says so."""
    import re
    from pathlib import Path

    from xltools.addin._book import engine_name, sheet_grid
    from xltools.read.workbook import META_SHEET

    wanted = [c for c in re.split(r"[^0-9]+", str(codes or "")) if c]
    if not wanted:
        raise AddinError("请输入要插入的科目编码（如 2130101），多个编码用逗号或空格分隔。")
    names = [s.name for s in book.sheets]
    meta = {}
    if META_SHEET in names:
        for row in sheet_grid(book.sheets[META_SHEET]):
            if len(row) >= 2 and isinstance(row[0], str):
                meta[row[0]] = row[1]
    tables = {str(v): k[len("table:"):] for k, v in meta.items() if k.startswith("table:") and v}
    if not tables:
        raise AddinError("插入科目行只能用于 xltools 生成的公开表工作簿（xltools new / generate，或“新建模板”）。")
    active = book.sheets.active.name
    detail = _detail_sheets(meta, tables)
    if active not in detail:
        listed = "\n".join(f"  {d}" for d in detail) or "  （无）"
        raise AddinError(f"请先选中要插入科目行的明细表中的单元格，再点击“插入科目行”。\n\n当前工作表“{active}”"
                         f"不是可插入科目行的明细表；可插入科目行的表：\n{listed}")
    path = Path(str(book.fullname))
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        raise AddinError(f"请先把工作簿保存为 .xlsx 文件，再插入科目行（现在：{book.name}）。")
    excel = engine_name(book) == "excel"
    app = book.app
    if excel:
        try:
            saved = bool(book.api.Saved)
        except Exception:
            saved = False
        if not saved:
            book.save()
        book.close()            # the file is locked while Excel has it open
    from xltools.build.rows import RowsError, add_rows
    from xltools.read.guard import InputError
    from xltools.read.workbook import ReadError
    from xltools.safeio import WriteError
    from xltools.spec import SpecError

    try:
        res = add_rows(path, tables[active], wanted)
    except (RowsError, ReadError, InputError, SpecError, WriteError, OSError) as exc:
        if excel:
            _reopen(app, path, active, None)
        raise AddinError(f"{path.name}：{exc}\n\n工作簿未改动。") from None
    first = min((r for _, r in res.added), default=None)
    text = [f"已在“{res.sheet}”插入 {len(res.added)} 行：" +
            "、".join(f"第 {r} 行 {c or '空白行'}" for c, r in res.added[:8]) + ("……" if len(res.added) > 8 else "")]
    if res.unknown:
        text.append(f"注意：科目 {'、'.join(res.unknown)} 不在科目目录中（科目名称显示【目录中无此科目】），"
                    "可在“科目补充”页补充，或改正编码。")
    if res.notes_added:
        text.append(f"“说明事项”页新增 {len(res.notes_added)} 行。")
    if res.audit_rows is not None:
        text.append(f"“审核”页已重新生成（{res.audit_rows} 条勾稽关系）。")
    text.append(f"原文件保留为 {path.stem}.bak{path.suffix}。")
    reopened = _reopen(app, path, res.sheet, first) if excel else None
    if reopened is not None:
        _alert(reopened, "\n\n".join(text))
    else:
        text.append("请关闭并重新打开此工作簿以看到新行。")
        _alert(book, "\n\n".join(text))
    return res


def _detail_sheets(meta: dict, tables: dict[str, str]) -> list[str]:
    """The sheets of ``tables`` whose table has a 科目 block (of the workbook's set)."""
    from xltools.spec import SpecError, load_set

    try:
        tset = load_set(str(meta.get("set") or "final_accounts"))
    except SpecError:
        return []
    return [sheet for sheet, tid in tables.items() if tid in tset.tables and tset.tables[tid].is_detail]


def _reopen(app, path, sheet: str, row):
    """The workbook at ``path`` opened again on ``sheet`` (row ``row`` selected); None if it cannot be."""
    try:
        wb = app.books.open(str(path))
    except Exception:
        return None
    try:
        ws = wb.sheets[sheet]
        ws.activate()
        if row:
            ws.range(f"A{row}").select()
    except Exception:
        pass
    return wb


def _new_template(book):
    from xltools.addin._book import engine_name, free_path, out_dir, safe_name, settings
    from xltools.build.writer import build_workbook, empty_report
    from xltools.narrative.inputs import write_notes_sheet
    from xltools.spec import SpecError, load_set

    s = settings(book)
    try:
        tset = load_set(s["set"] or "final_accounts")
        variant = tset.variant(s["variant"] or None)
        year = int(s["year"]) if str(s.get("year", "")).isdigit() else None
        rep = empty_report(tset.id, variant.id, s.get("unit", ""), year, s.get("amount_unit") or None)
    except (SpecError, KeyError, ValueError) as exc:
        raise AddinError(f"“设置”页的选择无效：{exc}\n\n点击“关于/设置”可查看可选的报表集与版式。") from None
    folder = out_dir(book, s.get("out_dir", ""))
    label = f"{s.get('unit') or ''}{year or ''}{'年度' if year else ''}部门{tset.kind_label}公开表-{variant.id}"
    path = free_path(folder, safe_name(label), ".xlsx")
    try:
        res = build_workbook(rep, path, extra_sheets=[write_notes_sheet])
    except OSError as exc:
        raise AddinError(f"无法写入新模板：{exc}") from None
    if engine_name(book) == "excel":
        try:
            book.app.books.open(str(res.path))
            return res.path
        except Exception:
            pass
    _alert(book, f"已新建模板：\n{res.path}")
    return res.path


def _about(book):
    import platform
    import sys
    from pathlib import Path

    import xltools
    from xltools.addin._book import config_path, engine_name, write_settings

    try:
        import xlwings
        xlv = xlwings.__version__
    except Exception:  # pragma: no cover
        xlv = "（未安装）"
    conf = config_path()
    try:
        conf_text = "；".join(line.strip() for line in conf.read_text(encoding="utf-8", errors="replace").splitlines()
                             if line.strip())[:500]
    except OSError:
        conf_text = "（不存在：请运行 xltools addin install）"
    rows = [("xltools 版本", xltools.__version__),
            ("xltools 位置", str(Path(xltools.__file__).resolve().parent)),
            ("Python 解释器", sys.executable),
            ("Python 版本", platform.python_version()),
            ("xlwings 版本", xlv),
            ("xlwings 引擎", engine_name(book)),
            ("配置文件", str(conf)),
            ("配置内容", conf_text),
            ("日志文件", str(Path.home() / ".xltools" / "addin.log"))]
    write_settings(book, rows)
    return rows
