"""`xltools import`: any 公开表 workbook (values only, any layout) or PDF → the same Report.

Round trips on every sample workbook: made values-only and re-laid-out (tables moved to other sheets
and positions, two tables on one sheet, blank rows and columns added, sheet names changed), and
rendered to PDF by LibreOffice. Real PDFs from ../shared/corpus are imported and checked.
"""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES, lo_recalc
from xltools.importer import ImportError_, import_source, read_any, write_data_folder
from xltools.read.datafile import load_data

CORPUS = ROOT.parent / "shared" / "corpus"
TABLE_SAMPLES = [p for p in sorted(SAMPLES.iterdir())
                 if (p / "meta.yaml").is_file() and any(p.glob("*.csv")) and (p / f"{p.name}.xlsx").is_file()]


def prints_year(report) -> bool:
    """Whether a table of the report's variant prints the year (“2024年度预算数”): the 上海 form prints it
    only on the cover, so a copy of its tables alone carries no year."""
    from xltools.spec import load_set

    tset = load_set(report.set_id)
    tables = tset.tables_for(tset.variant(report.variant))
    return any(t.title_year for t in tables) or any(
        "{year}" in part or "{prev}" in part for t in tables for p in t.panels for c in p.columns for part in c.label)


def flat(report) -> dict:
    """(table, row, column) → amount; an empty cell and 0 are the same (a values-only copy shows the
    0 of a formula where the data folder has nothing)."""
    out = {}
    for tid, td in report.tables.items():
        for key, rd in td.rows.items():
            for col, v in rd.values.items():
                if v.amount is not None and v.amount != 0:
                    out[(tid, key, col)] = v.amount
    return out


def _as_printed(v, i: int):
    """A number as people type or export it: "1,234.56", full-width digits, "-" for 0."""
    if not isinstance(v, float) or (v.is_integer() and 0 < v < 100):
        return v          # 行次 and 栏次 stay numbers
    if v == 0:
        return ("-", "—", "——", "0.00")[i % 4]
    text = f"{v:,.2f}"
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９")) if i % 5 == 0 else text


def blocks_summary(report, names: bool = True) -> dict:
    """绩效 block tables: per table, per project (name), its amounts as numbers and its indicator count."""
    from xltools.perf.blocks import dec as _dec

    def dec(v):
        # openpyxl (the test's own re-laying) writes floats to 16 significant digits
        d = _dec(v)
        return None if d is None else round(d, 10)

    out = {}
    for bid, projects in report.blocks.items():
        if bid.startswith("_"):
            continue
        out[bid] = [((p.name if names else i),
                     {k: ([dec(x) for x in v] if isinstance(v, list) else dec(v)) for k, v in p.funds.items()
                      if (v if not isinstance(v, list) else any(x not in (None, "") for x in v)) not in (None, "")},
                     len(p.indicators)) for i, p in enumerate(projects)]
    return out


def values_only_relaid(src: Path, dst: Path, *, printed: bool = False) -> Path:
    """What a unit's own workbook looks like: the sample's tables as values only, moved — two tables
    per sheet, shifted 2 rows and 3 columns, a blank column after the first, blank rows between
    body rows, sheets renamed — merged header cells kept. With ``printed`` the amounts are text as
    printed ("1,234.56", "-", full-width digits) and each 科目编码 stands with its name in one cell
    ("2080501 行政单位离退休")."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    from xltools.importer.sources import OUR_SHEETS

    wb = CalamineWorkbook.from_path(str(src))
    out = openpyxl.Workbook()
    out.remove(out.active)
    sheets = [m.name for m in wb.sheets_metadata if str(m.visible).endswith("Visible") and m.name not in OUR_SHEETS]
    ws = None
    row0 = 0
    for i, name in enumerate(sheets):
        sh = wb.get_sheet_by_name(name)
        grid = sh.to_python(skip_empty_area=False)
        if i % 2 == 0:
            ws = out.create_sheet(f"Sheet{i // 2 + 1}")
            row0 = 2
        else:
            row0 += 4
        merged = list(sh.merged_cell_ranges or [])

        def col_of(c):      # a blank column inserted after the first column
            return c + 3 + (1 if c >= 1 else 0)

        r_out = row0
        rowmap = {}
        for r, row in enumerate(grid):
            rowmap[r] = r_out
            row = list(row)
            if printed and isinstance(row[0], str) and row[0].isdigit() and len(row[0]) in (3, 5, 7) \
                    and len(row) > 1 and isinstance(row[1], str) and row[1]:
                row[0], row[1] = f"{row[0]} {row[1]}", ""
            for c, v in enumerate(row):
                if printed and r > 4 and not (isinstance(row[0], str) and row[0] == "栏次"):
                    v = _as_printed(v, r + c)
                if v not in ("", None):
                    ws.cell(row=r_out + 1, column=col_of(c) + 1, value=v)
            r_out += 1
            if r > 8 and r % 3 == 0:
                r_out += 1        # a blank row inside the body
        for (a, b), (c, d) in merged:
            ws.merge_cells(start_row=rowmap[a] + 1, start_column=col_of(b) + 1,
                           end_row=rowmap[c] + 1, end_column=col_of(d) + 1)
        row0 = r_out
    out.save(dst)
    return dst


@pytest.mark.parametrize("sample", TABLE_SAMPLES, ids=lambda p: p.name)
def test_values_only_relaid_workbook_imports_to_the_same_report(sample, tmp_path):
    expected = load_data(sample)
    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "单位自制.xlsx")
    res = import_source(src)
    rep = res.report
    assert (rep.set_id, rep.variant, rep.unit, rep.year, rep.amount_unit) == \
        (expected.set_id, expected.variant, expected.unit, expected.year if prints_year(expected) else None,
         expected.amount_unit)
    assert flat(rep) == flat(expected)
    assert res.unplaced == []
    assert res.placed == res.numbers
    # 绩效 block tables (表九) read by the 绩效 reader: the same projects and amounts
    assert blocks_summary(rep) == blocks_summary(expected)
    # every value names where it was printed, on the new sheets
    assert all(v.source.startswith("Sheet") for td in rep.tables.values() for r in td.rows.values()
               for v in r.values.values())


@pytest.mark.parametrize("sample", TABLE_SAMPLES, ids=lambda p: p.name)
def test_numbers_as_printed_and_codes_with_names_import_to_the_same_report(sample, tmp_path):
    expected = load_data(sample)
    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "导出.xlsx", printed=True)
    res = import_source(src)
    assert flat(res.report) == flat(expected)
    assert res.unplaced == []
    # text numbers in a workbook stay marked (a SUM in Excel would skip them): check warns on them
    assert any(v.problem == "text" for td in res.report.tables.values() for r in td.rows.values()
               for v in r.values.values())


@pytest.mark.parametrize("sample", TABLE_SAMPLES, ids=lambda p: p.name)
def test_check_of_a_foreign_workbook_gives_the_same_errors(sample, tmp_path):
    from xltools.rules import check_report

    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "单位自制.xlsx")
    rep, _, _ = read_any(src)
    expected_rep = load_data(sample)
    errors = sorted((f.rule, f.table) for f in check_report(rep) if f.level == "error")
    expected = sorted((f.rule, f.table) for f in check_report(expected_rep) if f.level == "error")
    # F-01 (a formula typed over) cannot be known from values: our sample workbooks hold the
    # published wrong totals as constants, so F-01 is the one rule a values-only copy cannot repeat
    assert [e for e in errors if e[0] != "F-01"] == [e for e in expected if e[0] != "F-01"]
    assert not any(f.rule == "F-01" for f in check_report(rep))


def test_values_only_copy_of_our_workbook_has_no_f01(tmp_path):
    """Paste-values over a whole generated workbook (its hidden _xltools sheet stays): no F-01 flood."""
    import openpyxl

    from xltools.rules import check_report

    sample = SAMPLES / "ningxia-sbj-2022-final"
    wb = openpyxl.load_workbook(sample / f"{sample.name}.xlsx", data_only=True)
    dst = tmp_path / "values.xlsx"
    wb.save(dst)
    rep, _, _ = read_any(dst)
    findings = check_report(rep)
    assert not any(f.rule == "F-01" for f in findings)
    assert flat(rep) == flat(load_data(sample))
    assert rep.unit == "自治区社会保险事业管理局" and rep.year == 2022


@pytest.mark.libreoffice
def test_sample_pdfs_rendered_by_libreoffice_import_to_the_same_report(tmp_path):
    import openpyxl

    from xltools.importer.sources import OUR_SHEETS

    files = []
    for s in TABLE_SAMPLES:
        # what a unit publishes: the tables (our 说明事项 / 科目目录 input sheets hidden, so not printed)
        wb = openpyxl.load_workbook(s / f"{s.name}.xlsx")
        for ws in wb.worksheets:
            if ws.title in OUR_SHEETS:
                ws.sheet_state = "hidden"
        wb.save(tmp_path / f"{s.name}.xlsx")
        files.append(tmp_path / f"{s.name}.xlsx")
    pdfs = lo_recalc(files, tmp_path / "pdf", pdf=True)
    assert len(pdfs) == len(files)
    for sample, pdf in zip(TABLE_SAMPLES, pdfs):
        expected = load_data(sample)
        res = import_source(pdf)
        rep = res.report
        assert (rep.set_id, rep.variant, rep.unit, rep.year, rep.amount_unit) == \
            (expected.set_id, expected.variant, expected.unit, expected.year if prints_year(expected) else None,
             expected.amount_unit), sample.name
        assert flat(rep) == flat(expected), sample.name
        assert res.unplaced == [], (sample.name, res.unplaced[:3])
        # project names may take text a PDF printed across a cell border; amounts may not
        assert blocks_summary(rep, names=False) == blocks_summary(expected, names=False), sample.name
        # a finding names page, line and column of the PDF
        some = next(iter(next(iter(rep.tables.values())).rows.values()))
        assert some.source.startswith("第")


def test_data_folder_output_loads_back(tmp_path):
    sample = SAMPLES / "ningxia-sbj-2022-final"
    res = import_source(values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "x.xlsx"))
    folder = write_data_folder(res, tmp_path / "out")
    assert flat(load_data(folder)) == flat(load_data(sample))


# ---------------------------------------------------------------- real published PDFs

PUTUO = CORPUS / "shanghai" / "普陀区财政局-2024-部门决算.pdf"


@pytest.mark.skipif(not PUTUO.is_file(), reason="../shared/corpus 不在")
def test_real_shanghai_final_accounts_pdf():
    res = import_source(PUTUO)
    rep = res.report
    assert rep.set_id == "final_accounts"
    assert rep.unit == "上海市普陀区财政局" and rep.year == 2024 and rep.amount_unit == "万元"
    # the 上海 2024 form: 两栏式 公开06 (F06S), 三公 by item (F07S), 国资 收入支出表 (F09X)
    assert rep.variant == "shanghai"
    assert {"F01", "F02", "F03", "F04", "F05", "F06S", "F07S", "F08", "F09X"} <= set(rep.tables)
    assert res.numbers > 150 and res.placed == res.numbers
    # as printed on page 6 and page 8
    assert rep.tables["F01"].rows["gpb"].values["amount"].amount == Decimal("2940.05")
    assert rep.tables["F01"].rows["income_total"].values["amount"].amount == Decimal("2946.25")
    assert rep.tables["F02"].rows["2010601"].values["total"].amount == Decimal("1511.90")
    assert rep.tables["F02"].rows["2010601"].values["other"].amount == Decimal("0.01")
    assert rep.tables["F02"].rows["2010601"].values["total"].source == "第8页第7行第5栏（表1）"
    # the 三公 table: no row label, headers 合计/… over 预算数/决算数
    assert rep.tables["F07S"].rows["amount"].values["bud_total"].amount == Decimal("0.95")
    assert rep.tables["F07S"].rows["amount"].values["bud_reception"].amount == Decimal("0.95")
    assert "F08" in res.empty_tables


@pytest.mark.skipif(not PUTUO.is_file(), reason="../shared/corpus 不在")
def test_real_pdf_narrative_text_is_rebuilt_with_its_figures():
    from xltools.importer import narrative_text
    from xltools.importer.sources import read_source

    text = narrative_text(read_source(PUTUO))
    # the figures are set 4.8 pt below their sentence in this PDF: they must be back in place
    assert "上海市普陀区财政局2024年度收入支出总计2995.39万元。与2023年度相比" in text
    assert "本年收入合计2946.25万元，其中：财政拨款收入2940.05万元，占99.79%" in text
    assert "目 录" not in text and not text.startswith("目录")


# ---------------------------------------------------------------- bad input

def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xltools.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _pdf_with_text(path: Path, text_layer: bool = True, password: str | None = None) -> Path:
    """A one-page PDF made with LibreOffice-free tools: pdfminer cannot write, so write the bytes."""
    content = b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET" if text_layer else b"0 0 1 rg 72 600 200 100 re f"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if password:
        trailer += b" /Encrypt << /Filter /Standard /V 1 /R 2 /O <" + b"00" * 32 + b"> /U <" + b"00" * 32 + \
            b"> /P -4 >> /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]"
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(out)
    return path


def test_scanned_pdf_without_text_layer_is_refused(tmp_path):
    pdf = _pdf_with_text(tmp_path / "扫描件.pdf", text_layer=False)
    r = _cli("import", str(pdf), "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "扫描件.pdf" in r.stderr and "文字层" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_encrypted_pdf_is_refused(tmp_path):
    pdf = _pdf_with_text(tmp_path / "加密.pdf", password="x")
    r = _cli("import", str(pdf), "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "加密.pdf" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_pdf_without_tables_and_workbook_without_tables_are_refused(tmp_path):
    import openpyxl

    pdf = _pdf_with_text(tmp_path / "无表.pdf")
    wb = openpyxl.Workbook()
    wb.active["A1"] = "工资表"
    wb.active["B2"] = 123.45
    wb.save(tmp_path / "无表.xlsx")
    for f in ("无表.pdf", "无表.xlsx"):
        r = _cli("import", str(tmp_path / f), "-o", str(tmp_path / "out"))
        assert r.returncode == 2, r.stderr
        assert f in r.stderr and "没有找到可识别的公开表" in r.stderr
        assert not (tmp_path / "out").exists()
        r = _cli("check", str(tmp_path / f))
        assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout


def test_import_cli_exit_codes(tmp_path):
    sample = SAMPLES / "ningxia-sbj-2022-final"
    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "单位自制.xlsx")
    r = _cli("import", str(src), "-o", str(tmp_path / "导入.xlsx"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "数字：共" in r.stdout and (tmp_path / "导入.xlsx").is_file()
    # the workbook we made of it reads back to the same numbers, with formulas where they hold
    from xltools.read.workbook import read_workbook
    assert flat(read_workbook(tmp_path / "导入.xlsx")) == flat(load_data(sample))


# ---------------------------------------------------------------- --prior / --budget

def test_prior_year_disclosure_fills_every_prior_comparison(tmp_path):
    """The 2022 disclosure as last year's for a 2023 report: every 上年 figure the narrative would ask
    for in 说明事项 comes from it — imported from its LibreOffice PDF or read from the workbook."""
    import copy

    from xltools.importer.compare import fill_prior
    from xltools.narrative import render
    from xltools.narrative import collect_facts

    sample = SAMPLES / "ningxia-sbj-2022-final"
    prior = load_data(sample)
    this = copy.deepcopy(prior)
    this.year = 2023
    this.notes = {}
    before = {k for k, _ in render(copy.deepcopy(this)).missing if k.startswith("prior.")}
    assert before, "without last year's disclosure the narrative asks for prior-year figures"
    filled = fill_prior(this, prior)
    after = {k for k, _ in render(this).missing if k.startswith("prior.")}
    assert after == set()
    facts = collect_facts(prior)
    assert filled["prior.total"] == f"{facts['total'].value:.2f}元"
    # a value typed in 说明事项 is kept
    this2 = copy.deepcopy(prior)
    this2.year, this2.notes = 2023, {"prior.total": "123.45"}
    fill_prior(this2, prior)
    assert this2.notes["prior.total"] == "123.45"


def test_prior_of_the_wrong_year_or_set_is_refused(tmp_path):
    from xltools.importer.compare import fill_budget, fill_prior

    final = load_data(SAMPLES / "ningxia-sbj-2022-final")
    budget = load_data(SAMPLES / "zhongwei-sbzx-2024-budget")
    with pytest.raises(ValueError, match="应为 2021"):
        fill_prior(final, load_data(SAMPLES / "ningxia-sbj-2022-final"))
    with pytest.raises(ValueError, match="不是同一类报表"):
        fill_prior(final, budget)
    with pytest.raises(ValueError, match="不是部门预算公开"):
        fill_budget(final, final)
    r = _cli("narrative", str(SAMPLES / "ningxia-sbj-2022-final" / "ningxia-sbj-2022-final.xlsx"),
             "--prior", str(SAMPLES / "ningxia-rst-2023-final" / "ningxia-rst-2023-final.xlsx"), "--no-docx")
    assert r.returncode == 2 and "应为 2021" in r.stderr and "Traceback" not in r.stderr


def test_budget_disclosure_fills_the_initial_budget_figures():
    """中卫 2024 budget (万元) as the budget of a 2024 决算: 年初预算数 per 功能分类 and 经济分类 in 元."""
    import copy

    from xltools.importer.compare import fill_budget

    budget = load_data(SAMPLES / "zhongwei-sbzx-2024-budget")
    final = copy.deepcopy(load_data(SAMPLES / "ningxia-sbj-2022-final"))
    final.year, final.notes = 2024, {}
    filled = fill_budget(final, budget)
    b02 = budget.tables["B02"]
    assert filled["budget.gpb"] == f"{b02.rows['total'].values['total'].amount * 10000:.2f}元"
    assert filled["budget.gpb.208"] == f"{b02.rows['208'].values['total'].amount * 10000:.2f}元"
    assert filled["budget.econ.301"] == f"{budget.tables['B03'].rows['301'].values['total'].amount * 10000:.2f}元"


# ---------------------------------------------------------------- corpus PDFs against their hand transcriptions

def transcribed_corpus_samples() -> list[tuple[Path, Path]]:
    """(sample folder, corpus PDF) for every sample transcribed by hand from a ../shared/corpus PDF."""
    import yaml

    out = []
    for p in sorted(SAMPLES.iterdir()):
        meta = p / "meta.yaml"
        if not meta.is_file():
            continue
        src = str((yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("source", ""))
        if src.startswith("corpus/") and src.endswith(".pdf"):
            out.append((p, CORPUS / src.removeprefix("corpus/")))
    return out


def agreement(sample: Path, pdf: Path) -> dict:
    """Cell for cell: the transcription's printed numbers, how many the import placed, and how many it
    placed right (same table, row, column and amount)."""
    truth = load_data(sample)
    res = import_source(pdf)
    got = {}
    for tid, td in res.report.tables.items():
        for key, rd in td.rows.items():
            for col, v in rd.values.items():
                if v.amount is not None:
                    got[(tid, key, col)] = v.amount
    want = {}
    for tid, td in truth.tables.items():
        for key, rd in td.rows.items():
            for col, v in rd.values.items():
                if v.amount is not None:
                    want[(tid, key, col)] = v.amount
    right = sum(1 for k, a in want.items() if got.get(k) == a)
    wrong = {k: (a, got.get(k)) for k, a in want.items() if got.get(k) != a}
    extra = {k: a for k, a in got.items() if k not in want}
    return {"printed": len(want), "placed": sum(1 for k in want if k in got), "right": right,
            "wrong": wrong, "extra": extra, "result": res, "truth": truth}


# the import does not yet place every number of these (the transcription is the truth; the gap is ours)
# samples whose PDF the import does not read whole yet (a strict xfail each); 江苏 2019 (jiangsu-swbgt-2019-budget)
# left it when the frame ruled around each page stopped covering the table's cells: 142 of 142 numbers
KNOWN_SHORT: dict[str, str] = {}


def _corpus_params():
    out = []
    for sample, pdf in transcribed_corpus_samples():
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_SHORT[sample.name])] if sample.name in KNOWN_SHORT else []
        out.append(pytest.param(sample, pdf, marks=marks, id=sample.name))
    return out or [pytest.param(None, None, marks=pytest.mark.skip(reason="还没有由 corpus PDF 手工转录的样例"))]


@pytest.mark.parametrize("sample,pdf", _corpus_params())
def test_corpus_pdf_import_agrees_with_its_hand_transcription(sample, pdf):
    if not pdf.is_file():
        pytest.skip(f"{pdf} 不在")
    a = agreement(sample, pdf)
    assert a["printed"] > 0
    assert a["wrong"] == {}, f"{sample.name}: {len(a['wrong'])} of {a['printed']} numbers differ"
    assert a["extra"] == {}, f"{sample.name}: numbers the transcription does not have"
    truth, rep = a["truth"], a["result"].report
    assert (rep.set_id, rep.variant, rep.year, rep.amount_unit) == \
        (truth.set_id, truth.variant, truth.year, truth.amount_unit)


@pytest.mark.libreoffice
def test_xls_workbook_imports_to_the_same_report(tmp_path):
    """An Excel 97–2003 .xls (what older reporting software exports), converted by LibreOffice."""
    import shutil

    if not shutil.which("soffice"):
        pytest.skip("LibreOffice 未安装")
    sample = SAMPLES / "ningxia-sbj-2022-final"
    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "导出.xlsx")
    r = subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                        "--convert-to", "xls", "--outdir", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=180)
    xls = tmp_path / "导出.xls"
    assert xls.is_file(), r.stderr
    res = import_source(xls)
    assert flat(res.report) == flat(load_data(sample))
    assert res.report.unit == "自治区社会保险事业管理局" and res.unplaced == []


def test_a_table_split_over_two_sheets_is_read_as_one(tmp_path):
    """公开06 (91 rows) cut in two: the second sheet starts with table rows, no title of its own."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    sample = SAMPLES / "ningxia-sbj-2022-final"
    wb = CalamineWorkbook.from_path(str(sample / f"{sample.name}.xlsx"))
    out = openpyxl.Workbook()
    out.remove(out.active)
    for name in wb.sheet_names:
        if name in ("说明事项", "科目目录", "_xltools"):
            continue
        grid = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        parts = [grid[:30], grid[30:]] if "基本支出" in name else [grid]
        for i, part in enumerate(parts):
            ws = out.create_sheet(f"{name[:25]}{'（续）' if i else ''}")
            for row in part:
                ws.append([None if v == "" else v for v in row])
    out.save(tmp_path / "分页.xlsx")
    res = import_source(tmp_path / "分页.xlsx")
    assert flat(res.report) == flat(load_data(sample))
    assert res.unplaced == []
    f06 = res.report.tables["F06"]
    assert any("（续）" in r.source for r in f06.rows.values())


PERF_SAMPLES = [SAMPLES / n for n in ("ningxia-sbj-2025-targets", "ningxia-sbj-2022-selfeval", "ningxia-rst-2023-selfeval")]


@pytest.mark.parametrize("sample", PERF_SAMPLES, ids=lambda p: p.name)
def test_performance_workbooks_of_another_layout_import_with_the_same_findings(sample, tmp_path):
    """A 绩效 workbook (目标表 / 自评表) values only and moved: the set recognised by its block titles,
    the projects read back, and the same 绩效 findings as the workbook itself gives."""
    from xltools.rules import check_report

    src = values_only_relaid(sample / f"{sample.name}.xlsx", tmp_path / "绩效.xlsx")
    res = import_source(src)
    rep = res.report
    ours, _, _ = read_any(sample / f"{sample.name}.xlsx")
    expected = sorted((f.rule, f.level, f.message.split("：")[0]) for f in check_report(ours))
    assert rep.set_id == "performance" and rep.year == ours.year and rep.unit == load_data(sample).unit
    assert blocks_summary(rep) == blocks_summary(ours)
    # a 得分 is checked at the decimals it shows (issue 13): the values-only copy shows each score as its value
    # (General), so a printed 9.40 shows as 9.4 — and 9.4 is 9.42 to one decimal. Only such scores may differ.
    shorter = {f"项目“{p.name}”" for bt in ours.blocks.values() if isinstance(bt, list) for p in bt
               if isinstance(s := (p.funds.get("total") or [None] * 6)[5], Decimal)
               and s.as_tuple().exponent < s.normalize().as_tuple().exponent}
    lost = [e for e in expected if e[0].endswith("-03") and e[2] in shorter]
    assert sorted((f.rule, f.level, f.message.split("：")[0]) for f in check_report(rep)) == \
        [e for e in expected if e not in lost]
    assert len(lost) <= 1
    folder = write_data_folder(res, tmp_path / "导出")
    assert blocks_summary(load_data(folder)) == blocks_summary(rep)


CORPUS_PDFS = sorted(CORPUS.rglob("*.pdf")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_every_corpus_pdf_imports_or_is_refused_in_chinese():
    """Every real publication of the corpus: recognised (its tables, most numbers placed) or refused with
    a Chinese message naming it — never an exception, nor in the import report `xltools import` prints. The
    上海 ones place all but a few numbers; 江苏 and 上海 together 99 % (5,057 of 5,076)."""
    from xltools.importer import report_lines

    placed = numbers = 0
    for pdf in CORPUS_PDFS:
        try:
            res = import_source(pdf)
        except ImportError_ as exc:
            assert pdf.name in str(exc)
            continue
        assert report_lines(res, pdf.name)[0].startswith(f"{pdf.name}：识别为")
        numbers += res.numbers
        placed += res.placed
        if pdf.parent.name == "shanghai" and res.numbers:
            assert res.placed >= 0.99 * res.numbers, (pdf.name, res.placed, res.numbers)
    assert placed >= 0.99 * numbers, (placed, numbers)


JC2018 = CORPUS / "jiangsu" / "江苏省人民检察院--2018年省检察院部门预算公开.pdf"


@pytest.mark.skipif(not JC2018.is_file(), reason="../shared/corpus 不在")
def test_headers_ruled_over_two_grid_columns_and_a_table_continued_in_a_narrower_grid():
    """江苏省人民检察院 2018: “科目编码 / 科目名称 / 金额” are each ruled over three grid columns with the text in
    the middle one, while the rows' cells are merged from the first (the codes under no header); 公开08 goes on at
    the top of p. 19 in a three-column grid of its own. The rows are read under their headers (公开07's 项 and
    公开11's 款 with their amounts), so the 情况说明's changes can be checked — its printed “增长 0.06 %” for
    21.8 ÷ 3644.2 = 0.60 % is found; the rows continued on p. 19 count as 公开08's (not as lines of no table), so
    公开05–08 are read whole and their sums hold as printed (no false error)."""
    from xltools.cli import check_file

    rep, _, _ = read_any(JC2018)
    amount = lambda tid, key: rep.tables[tid].rows[key].values["amount"].amount  # noqa: E731
    assert amount("J07", "2040401") == Decimal("10883.36") and amount("J11", "30201") == Decimal("130.00")
    # every row of 公开08 continued on p. 19 in the table's columns; its 款 add up to its 合计 as printed
    assert [amount("J08", k) for k in ("30299", "30211", "303", "30301", "30302", "30309")] == \
        [Decimal(x) for x in ("994.54", "45.00", "1052.83", "428.51", "623.28", "1.04")]
    j08 = rep.tables["J08"]
    assert sum(amount("J08", k) for k in j08.rows if k.isdigit() and len(k) == 5) == amount("J08", "total") == \
        Decimal("13979.92")
    findings, err = check_file(JC2018)
    assert err is None
    rules = {f.rule for f in findings}
    assert not [r for r in rules if r.startswith(("R-J08", "H-J08", "X-J08", "U-J08"))]
    # a 类 line's amount on a ruled sub-row of its own (“302 | 商品和服务支出 |” over “| | 2,722.57”), a 合计 over
    # its label (公开05) and the narrower grid's rows without an amount (“221 | 住房保障支出 | ”, 公开07 on p. 18)
    # are read: 公开05–08 whole, their sums and X-J08-01 (公开06's 302 against 公开08's) checked, none failing
    assert amount("J06", "302") == amount("J08", "302") == Decimal("2722.57")
    assert amount("J06", "301") == Decimal("10204.52") and amount("J06", "303") == Decimal("1052.83")
    assert amount("J05", "total") == Decimal("21940.96") and amount("J05", "204") == Decimal("16444.36")
    assert amount("J07", "221") == amount("J07", "2210201") + amount("J07", "2210202") == Decimal("3660.38")
    for tid in ("J05", "J06", "J07", "J08"):
        assert not [r for r in rules if r.startswith((f"R-{tid}", f"H-{tid}", f"X-{tid}", f"U-{tid}"))], tid
    # “1．未归口管理行政单位离退休费（项）支出 371.92 万元”: a 项, not the 经济分类 退休费 (623.28) its name ends with
    assert not [f for f in findings if f.rule == "N-01" and "离退休费" in f.cell]
    n04 = [f for f in findings if f.rule == "N-04" and "增长 0.06 %" in f.cell]
    assert len(n04) == 1 and n04[0].level == "error" and "0.60%" in n04[0].message


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
@pytest.mark.parametrize("name,tid,key,col,value", [
    ("江苏省委办公厅--江苏省委办公厅2019年度部门预算公开表格.pdf", "J11", "total", "amount", "2232.91"),
    ("江苏省委办公厅--江苏省委办公厅2019年度部门预算公开表格.pdf", "J02", "total", "amount", "27664.22"),
    ("江苏省委办公厅--江苏省委办公厅2017年预算公开表格.pdf", "J03", "amount", "reserve", "196.72"),
    ("江苏省人大办公厅--江苏省人大常委会办公厅2019年部门预算公开表.pdf", "J11", "total", "amount", "1642.08"),
])
def test_a_frame_around_the_whole_page_covers_no_cell_of_the_table(name, tid, key, col, value):
    """江苏 2017/2019 表格-only PDFs rule one frame around each page, its cell holding the whole page's text; its
    title lines are the table's title, and the rows inside are not covered by that cell (the 合计 line's label was
    read as the page's text). Every table is read whole: no number left unplaced but the 政府采购 table's (not
    expressed), nothing unread."""
    from xltools.importer.recognize import recognize
    from xltools.importer.sources import read_source

    path = CORPUS / "jiangsu" / name
    res = recognize(read_source(path))
    assert not [u for u in res.unplaced if "不在任何可识别的公开表内" not in u.why]
    rep, _, _ = read_any(path)
    assert rep.unread == {}
    assert rep.tables[tid].rows[key].values[col].amount == Decimal(value)


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_one_header_merged_over_several_grid_columns_takes_the_cell_below_it():
    """江苏省检察院 2019 公开05: “金额” is merged over four grid columns and each amount cell over five (from the
    column left of them); each code cell starts left of “功能科目代码” and covers its column without pdfplumber
    naming the cover. The amounts go under 金额 and the codes under 功能科目代码: 公开05 and 公开11 are read whole."""
    from xltools.cli import check_file

    path = CORPUS / "jiangsu" / "江苏省人民检察院--2019年度部门预算公开.pdf"
    rep, _, _ = read_any(path)
    j05 = rep.tables["J05"]
    assert j05.rows["total"].values["amount"].amount == Decimal("24169.74")
    assert j05.rows["204"].values["amount"].amount == Decimal("16593.12")
    assert sum(r.values["amount"].amount for k, r in j05.rows.items() if len(k) == 3) == Decimal("24169.74")
    assert "J05" not in rep.unread and "J11" not in rep.unread
    findings, err = check_file(path)
    assert err is None and not [f for f in findings if f.rule[2:5] in ("J05", "J11")]


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_a_table_the_set_does_not_express_ends_the_table_above_it():
    """江苏's 公开12 政府采购预算表 (purchases by item, not expressed) follows 公开09 on the same page: its title
    (tables.yaml ``unexpressed:``) ends 公开09, whose one row of nine amounts is read, and its own rows are lines
    of no table, not 公开09's."""
    from xltools.importer.recognize import recognize
    from xltools.importer.sources import read_source

    path = CORPUS / "jiangsu" / "江苏省人民检察院--2017年省检察院部门预算.pdf"
    res = recognize(read_source(path))
    j09 = res.report.tables["J09"].rows["amount"].values
    assert {k: str(v.amount) for k, v in j09.items()} == {
        "total": "1452.35", "sg_total": "584.35", "abroad": "110.00", "car": "317.80", "car_purchase": "50.00",
        "car_run": "267.80", "reception": "156.55", "meeting": "168.00", "training": "700.00"}
    assert "J09" not in res.report.unread
    assert [u.why for u in res.unplaced if "采购" in u.text][:1] == ["不在任何可识别的公开表内（11 行，10 个金额）"]


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_a_narrative_whose_tables_are_another_file_is_read_by_its_table_of_contents(tmp_path):
    """人大常委会 2019's 部门预算公开 prints its tables' titles in its 目录 only (the tables are another PDF): its
    variant is the one those titles are (江苏), and `xltools import` reports no table read — it crashed with an
    internal error (KeyError) when the 目录's last title ended the file."""
    from xltools.cli import main

    path = CORPUS / "jiangsu" / "江苏省人大办公厅--江苏省人大常委会2019年度部门预算公开.pdf"
    rep, text, res = read_any(path)
    assert rep.variant == "jiangsu" and rep.tables == {} and rep.tables_elsewhere and text
    report = tmp_path / "报告.txt"
    assert main(["import", str(path), "-o", str(tmp_path / "out"), "--report", str(report)]) == 0
    lines = report.read_text(encoding="utf-8").splitlines()
    assert "（版式 jiangsu）" in lines[0] and lines[1].startswith("  未找到：公开01表 收支预算总表")


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
@pytest.mark.parametrize("name,values", [
    # a rule through “267.80” (pdfplumber: “267.8 | 0”): read whole, in the cell it starts in
    ("江苏省人民检察院--2018年省检察院部门预算公开.pdf",
     {"total": "1384.74", "sg_total": "484.30", "abroad": "100.00", "car": "267.80", "car_run": "267.80",
      "reception": "116.50", "meeting": "200.44", "training": "700.00"}),
    # “三公”经费 merged over twelve grid columns: every column under it is its (the grid from the cells' edges)
    ("江苏省人民检察院--2019年度部门预算公开.pdf",
     {"total": "1276.70", "sg_total": "418.26", "abroad": "80.00", "car": "237.00", "car_run": "237.00",
      "reception": "101.26", "meeting": "158.44", "training": "700.00"}),
])
def test_three_public_expenses_tables_with_headers_wrapped_and_merged_over_many_columns(name, values):
    """江苏省检察院 2018/2019 公开09: headers wrapped over ruled sub-rows (“因公出国 / (境)费” read as one label),
    parents merged over many grid columns, a number split by a rule. The one row is read whole, nothing left."""
    from xltools.importer.recognize import recognize
    from xltools.importer.sources import read_source

    res = recognize(read_source(CORPUS / "jiangsu" / name))
    row = res.report.tables["J09"].rows["amount"].values
    assert {k: v.amount for k, v in row.items() if v.amount is not None} == {k: Decimal(v) for k, v in values.items()}
    assert "J09" not in res.report.unread
    assert not [u for u in res.unplaced if u.where.startswith(("第19页", "第20页")) and "不在任何" not in u.why]


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_a_table_printed_twice_is_read_from_the_printing_read_whole():
    """人大 2017 prints 公开06 twice; its first printing's grid breaks the rows (amounts on lines of their own), the
    second is read whole: that one is kept, the first's numbers are reported as a repeated table."""
    from xltools.importer.recognize import recognize
    from xltools.importer.sources import read_source

    res = recognize(read_source(CORPUS / "jiangsu" / "江苏省人大办公厅--江苏省人大办公厅2017年度预算公开.pdf"))
    j06 = res.report.tables["J06"]
    amount = lambda k: j06.rows[k].values["amount"].amount  # noqa: E731
    assert amount("total") == Decimal("7666.68") and amount("30312") == Decimal("1018.01")
    assert sum(amount(k) for k in ("301", "302", "303")) == amount("total")
    assert "J06" not in res.report.unread
    dup = [u for u in res.unplaced if "重复出现" in u.why]
    assert dup and all("财政拨款基本支出预算表" in u.why for u in dup)


@pytest.mark.skipif(not CORPUS_PDFS, reason="../shared/corpus 不在")
def test_labels_wrapped_over_ruled_sub_rows_of_a_three_panel_table():
    """江苏省检察院 2018 公开01: income, 功能分类 and 支出用途 side by side; a label wrapped over three ruled
    sub-rows (“1.一般公共预” / amounts and the other panels' rows / “算”) is one row with its amount. The table is read
    whole and adds up: income 21,940.96 + 14.39, 类 16,458.75 + 1,836.22 + 3,660.38, uses 13,994.31 + 5,573 +
    2,388.04, each 21,955.35."""
    rep, _, _ = read_any(JC2018)
    j01 = rep.tables["J01"]
    v = {k: next(iter(r.values.values())).amount for k, r in j01.rows.items() if r.values}
    assert v["gpb"] == v["fiscal"] == Decimal("21940.96") and v["reserve"] == Decimal("2388.04")
    assert v["fiscal"] + v["other"] == v["204"] + v["208"] + v["221"] == v["basic"] + v["project"] + v["reserve"] \
        == v["income_sub"] == v["expense_sub"] == Decimal("21955.35")
    assert "J01" not in rep.unread
