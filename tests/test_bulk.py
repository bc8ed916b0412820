"""Bulk generation (a workbook per unit), the fast template renderer, safe file names and 汇总 (merge)."""
from __future__ import annotations

import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import assert_recalculation_matches, uno_python

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CLEAN_UNIT = ROOT / "tests" / "data" / "clean-unit"


def _data_folders() -> list[Path]:
    return [p for p in sorted(SAMPLES.iterdir()) if (p / "meta.yaml").is_file()
            and "set: final_accounts" in (p / "meta.yaml").read_text(encoding="utf-8")] + [CLEAN_UNIT]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _extra():
    from xltools.cli import _extra_sheets
    return _extra_sheets()


# ---------------------------------------------------------------- file names

@pytest.mark.parametrize("name", ["../x", "..\\..\\x", "CON", "con.txt", "a/b", "名称:*?", "<>|\"", "  . ", "",
                                  "LPT1", "x\x00y\x1fz", "\u202e逆序", "名" * 300, "/etc/passwd", "C:\\Windows"])
def test_hostile_unit_names_stay_inside_the_output_folder(tmp_path, name):
    from xltools.bulk.names import inside, unit_filename

    fn = unit_filename("101001", name)
    assert fn.endswith(".xlsx") and fn.startswith("101001")
    assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', fn)
    assert len(fn) <= 90 and len(fn.encode("utf-8")) <= 210
    stem = fn[:-5]
    assert stem == stem.rstrip(" .")
    target = inside(tmp_path, fn)
    assert target.parent == tmp_path.resolve()
    target.write_bytes(b"x")          # the name is usable on this file system too


def test_reserved_names_and_uniqueness():
    from xltools.bulk.names import unique_filenames, unit_filename

    assert unit_filename("", "CON") == "_CON.xlsx"
    assert unit_filename("NUL", "") == "_NUL.xlsx"
    assert unit_filename("", "com1.tar") == "_com1.tar.xlsx"
    assert unique_filenames(["a.xlsx", "A.xlsx", "a.xlsx"]) == ["a.xlsx", "A_2.xlsx", "a_3.xlsx"]
    with pytest.raises(ValueError):
        from xltools.bulk.names import inside
        inside(Path("/tmp"), "../x.xlsx")


# ---------------------------------------------------------------- unit lists

def _write_list(path: Path, rows: list[list], encoding="utf-8"):
    if path.suffix == ".xlsx":
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("单位清单")
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if v is not None:
                    ws.write(i, j, v)
        wb.close()
    else:
        path.write_text("\n".join(",".join(str(x) for x in r) for r in rows) + "\n", encoding=encoding)


HEAD = ["单位名称", "单位编码", "年度", "数据文件"]


@pytest.mark.parametrize("suffix,encoding", [(".csv", "utf-8"), (".csv", "gbk"), (".csv", "utf-8-sig"), (".xlsx", None)])
def test_unit_list_formats(tmp_path, suffix, encoding):
    from xltools.bulk.units import read_units

    p = tmp_path / f"单位清单{suffix}"
    _write_list(p, [HEAD + ["金额单位"], ["甲局", 101001, 2024, "", "万元"], ["乙局", "101002", "2024", str(CLEAN_UNIT), ""]],
                encoding or "utf-8")
    units = read_units(p)
    assert [(u.name, u.code, u.year, u.amount_unit) for u in units] == [
        ("甲局", "101001", 2024, "万元"), ("乙局", "101002", 2024, None)]
    assert units[0].data is None and Path(units[1].data) == CLEAN_UNIT


def test_unit_list_may_have_a_title_row(tmp_path):
    from xltools.bulk.units import read_units

    p = tmp_path / "清单.xlsx"
    _write_list(p, [["2024年度部门决算公开 单位清单"], [], HEAD, ["甲局", "101001", 2024, None]])
    [u] = read_units(p)
    assert (u.row, u.name, u.code, u.year, u.data) == (4, "甲局", "101001", 2024, None)


def test_unit_list_problems_name_file_and_row(tmp_path):
    from xltools.bulk.units import UnitListError, read_units

    p = tmp_path / "清单.csv"
    _write_list(p, [["单位名称", "年度"], ["甲局", 2024]])
    with pytest.raises(UnitListError, match=r"清单\.csv 第 1 行.*单位编码"):
        read_units(p)
    _write_list(p, [HEAD, ["甲局", "1", "2024", ""], ["", "2", "2024", ""], ["丙局", "1", "二〇二四", ""]])
    with pytest.raises(UnitListError) as exc:
        read_units(p)
    msg = str(exc.value)
    assert "第 3 行" in msg and "单位名称为空" in msg
    assert "第 4 行" in msg and "与第 2 行重复" in msg and "年度" in msg


# ---------------------------------------------------------------- the template renderer

def _reports():
    from xltools.build.writer import empty_report
    from xltools.read.datafile import load_data
    from xltools.spec import load_set

    out = [load_data(f) for f in _data_folders()]
    out += [empty_report("final_accounts", v, "某某局", 2024) for v in load_set("final_accounts").variants]
    return out


def test_rendered_workbooks_equal_the_builders_part_for_part(tmp_path):
    """The fast path writes exactly what build_workbook writes, for every sample and variant."""
    from xltools.build.writer import build_workbook
    from xltools.bulk.render import _Cache, render_workbook

    cache = _Cache(eager=True)
    for i, rep in enumerate(_reports()):
        for name in ("某某局 & <子>  ", "单位_x0041_\x07名"):
            rep.unit = name
            a = build_workbook(rep, tmp_path / f"a{i}.xlsx", keep_original=False, extra_sheets=_extra())
            render_workbook(rep, tmp_path / f"b{i}.xlsx", extra_sheets=_extra(), keep_original=False, cache=cache)
            pa, pb = _parts(a.path), _parts(tmp_path / f"b{i}.xlsx")
            assert list(pa) == list(pb)
            diff = [n for n in pa if pa[n] != pb[n]]
            assert diff == [], (rep.origin or rep.variant, diff)
    assert cache.fallbacks == 0


def test_every_set_and_sample_renders_as_the_builder_writes(tmp_path):
    """Budget and performance sets too, with a 单位编码; shapes the template cannot take (block tables)
    fall back to build_workbook, so the output is the same either way."""
    from xltools.build.writer import build_workbook, empty_report
    from xltools.bulk.render import _Cache, render_workbook
    from xltools.read.datafile import load_data
    from xltools.spec import available_sets, load_set

    reps = [load_data(m.parent) for m in sorted(SAMPLES.glob("*/meta.yaml"))]
    reps += [empty_report(sid, v, "某局", 2024) for sid in available_sets() for v in load_set(sid).variants]
    cache = _Cache(eager=True)
    for i, rep in enumerate(reps):
        rep.unit = "某某局 & <单位>"
        if hasattr(rep, "unit_code"):
            rep.unit_code = "101001"
        a = build_workbook(rep, tmp_path / f"a{i}.xlsx", keep_original=False, extra_sheets=_extra())
        render_workbook(rep, tmp_path / f"b{i}.xlsx", extra_sheets=_extra(), keep_original=False, cache=cache)
        pa, pb = _parts(a.path), _parts(tmp_path / f"b{i}.xlsx")
        assert [n for n in pa if pa[n] != pb.get(n)] == [], (rep.set_id, rep.variant, rep.origin)
    assert cache.built - cache.fallbacks >= len(load_set("final_accounts").variants)


def test_one_template_serves_units_with_other_values(tmp_path):
    """Units of one shape share a template; each workbook still equals the builder's for that unit."""
    from xltools.build.writer import build_workbook
    from xltools.bulk.render import _Cache, render_workbook
    from xltools.read.datafile import load_data

    cache = _Cache()
    for folder in _data_folders():
        for k, factor in enumerate((Decimal(1), Decimal(3), Decimal("0.5"))):
            rep = load_data(folder)
            rep.unit = f"单位{k}"
            for td in rep.tables.values():
                for row in td.rows.values():
                    for v in row.values.values():
                        if v.amount is not None:
                            v.amount = v.amount * factor
            a = build_workbook(rep, tmp_path / "a.xlsx", keep_original=False, extra_sheets=_extra())
            f, o = render_workbook(rep, tmp_path / "b.xlsx", extra_sheets=_extra(), keep_original=False, cache=cache)
            pa, pb = _parts(a.path), _parts(tmp_path / "b.xlsx")
            assert [n for n in pa if pa[n] != pb[n]] == [], (folder.name, factor)
            assert (f, o) == (a.formulas, len(a.overrides))
    assert cache.built == len(_data_folders())      # one template per shape (from its second unit on), reused


# ---------------------------------------------------------------- generate --units

def _units_csv(tmp_path: Path, n_good: int = 3) -> Path:
    rows = [HEAD]
    rows.append(["自治区社会保险事业管理局", "101001", "2022", str(SAMPLES / "ningxia-sbj-2022-final")])
    for i, name in enumerate(["../逃逸", "CON", "a/b", "名称:*?"][:n_good]):
        rows.append([name, f"10100{i + 2}", "2024", "../clean" if i % 2 == 0 else ""])
    rows.append(["年度不符", "109001", "2023", "../clean"])
    rows.append(["数据不存在", "109002", "2024", "nowhere"])
    shutil.copytree(CLEAN_UNIT, tmp_path / "clean")
    (tmp_path / "list").mkdir()
    p = tmp_path / "list" / "单位清单.csv"
    _write_list(p, rows, "gbk")
    return p


@pytest.mark.parametrize("jobs", [1, 2])
def test_generate_units_makes_each_unit_and_reports_the_bad_ones(tmp_path, capsys, jobs):
    from xltools.bulk import generate_units
    from xltools.read.workbook import read_workbook

    units = _units_csv(tmp_path, 4)
    out = tmp_path / "out"
    rc = generate_units(units, out, jobs=jobs, progress=False)
    assert rc == 2
    err = capsys.readouterr().err
    assert "年度不符" in err and "数据的年度为 2024，清单为 2023" in err
    assert "数据不存在" in err and "数据文件不存在" in err
    made = sorted(p.name for p in out.iterdir())
    assert made == sorted(["101001_自治区社会保险事业管理局.xlsx", "101002_逃逸.xlsx", "101003_CON.xlsx",
                           "101004_a_b.xlsx", "101005_名称.xlsx"])
    assert not (tmp_path / "逃逸.xlsx").exists() and not list(tmp_path.glob("*.xlsx"))
    rep = read_workbook(out / "101002_逃逸.xlsx")
    assert rep.unit == "../逃逸" and rep.year == 2024
    assert rep.amount("F02", "2080101", "fiscal") == Decimal("100")


def test_generate_units_exit_codes(tmp_path, capsys):
    from xltools.cli import main

    good = tmp_path / "ok.csv"
    _write_list(good, [HEAD, ["甲局", "1", "2024", ""], ["乙局", "2", "2024", ""]])
    assert main(["generate", "--units", str(good), "-o", str(tmp_path / "out"), "--jobs", "1"]) == 0
    assert len(list((tmp_path / "out").glob("*.xlsx"))) == 2
    bad = tmp_path / "bad.csv"
    _write_list(bad, [HEAD, ["甲局", "1", "20x4", ""]])
    assert main(["generate", "--units", str(bad), "-o", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv 第 2 行" in err and "年度" in err
    assert main(["generate", "--units", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o3")]) == 2


def test_bulk_output_checks_clean_and_carries_cached_values(tmp_path):
    from python_calamine import CalamineWorkbook

    from xltools.bulk import generate_units
    from xltools.cli import check_file
    from xltools.read.workbook import formula_cells

    p = tmp_path / "单位清单.csv"
    _write_list(p, [HEAD] + [[f"测试单位{i}", f"{200 + i}", "2024", str(CLEAN_UNIT)] for i in range(6)])
    assert generate_units(p, tmp_path / "out", jobs=2, progress=False) == 0
    files = sorted((tmp_path / "out").glob("*.xlsx"))
    assert len(files) == 6
    for f in files:
        findings, err = check_file(f)
        assert err is None and [x for x in findings if x.level == "error"] == []
        wb = CalamineWorkbook.from_path(str(f))
        n = 0
        for sheet, cells in formula_cells(f).items():
            grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            for ref in cells:
                m = re.match(r"([A-Z]+)(\d+)$", ref)
                c = 0
                for ch in m.group(1):
                    c = c * 26 + ord(ch) - 64
                r = int(m.group(2)) - 1
                assert grid[r][c - 1] is not None, (f.name, sheet, ref)
                n += 1
        assert n > 100


# ---------------------------------------------------------------- LibreOffice as the oracle



@pytest.mark.libreoffice
def test_libreoffice_recalculates_bulk_output_to_the_cached_values(tmp_path):
    if uno_python() is None:
        pytest.skip("LibreOffice (soffice + python3-uno) 未安装")
    from xltools.bulk import generate_units

    # two units of each shape: the first is built, the second rendered from the shape's template
    rows = [HEAD + ["版式"]]
    for i, folder in enumerate(_data_folders()):
        year = str(yaml.safe_load((folder / "meta.yaml").read_text(encoding="utf-8"))["year"])
        rows += [[f"单位{i}{k}", f"30{i}{k}", year, str(folder), ""] for k in "ab"]
    rows += [[f"空白上海{k}", f"39{k}", "2024", "", "shanghai"] for k in "ab"]
    rows += [[f"空白中央{k}", f"38{k}", "2024", "", "central"] for k in "ab"]
    p = tmp_path / "单位清单.csv"
    _write_list(p, rows)
    assert generate_units(p, tmp_path / "out", jobs=1, progress=False) == 0
    files = sorted((tmp_path / "out").glob("*.xlsx"))
    # and a department's 汇总 of units whose rows differ
    from xltools.bulk import merge
    clean = [f for f in files if f.name.startswith(f"30{len(_data_folders()) - 1}")]
    assert len(clean) == 2
    other = _build(_other_rows_unit(tmp_path / "other"), tmp_path / "other.xlsx")
    files.append(merge([*clean, other], tmp_path / "汇总.xlsx").path)
    compared = assert_recalculation_matches(files, tmp_path / "lo")
    assert compared > 1000


# ---------------------------------------------------------------- merge (汇总)

def _scaled_copy(src: Path, dst: Path, factor: Decimal, unit: str) -> Path:
    import csv

    shutil.copytree(src, dst)
    for f in dst.glob("*.csv"):
        rows = list(csv.reader(f.open(encoding="utf-8")))
        for r in rows[1:]:
            for j in range(2, len(r)):
                if r[j].strip():
                    r[j] = str(Decimal(r[j].replace(",", "")) * factor)
        with f.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    meta = dst / "meta.yaml"
    meta.write_text(re.sub(r"(?m)^unit: .*$", f"unit: {unit}", meta.read_text(encoding="utf-8")), encoding="utf-8")
    return dst


def _other_rows_unit(dst: Path) -> Path:
    """A consistent unit whose 功能分类 rows differ from the clean unit's (2210202 instead of 2210201, plus 2080501)."""
    shutil.copytree(CLEAN_UNIT, dst)
    for name in ("F02.csv", "F03.csv", "F05.csv"):
        p = dst / name
        p.write_text(p.read_text(encoding="utf-8").replace("2210201,住房公积金", "2210202,提租补贴"), encoding="utf-8")
    with (dst / "F02.csv").open("a", encoding="utf-8") as fh:
        fh.write("2080501,行政单位离退休,10.00,,,,,,\n")
    with (dst / "F03.csv").open("a", encoding="utf-8") as fh:
        fh.write("2080501,行政单位离退休,10.00,,,,\n")
    with (dst / "F05.csv").open("a", encoding="utf-8") as fh:
        fh.write("2080501,行政单位离退休,10.00,\n")
    for name, old, new in (("F06.csv", "30302,退休费,0.00", "30302,退休费,10.00"),
                           ("F04.csv", "gpb,一般公共预算财政拨款,120.00", "gpb,一般公共预算财政拨款,130.00")):
        p = dst / name
        p.write_text(p.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    meta = dst / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("unit: 测试局", "unit: 另一局"), encoding="utf-8")
    return dst


def _build(folder: Path, out: Path) -> Path:
    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data

    return build_workbook(load_data(folder), out, keep_original=False, extra_sheets=_extra()).path


def _inputs(path: Path) -> dict[tuple[str, str, str], Decimal]:
    """Input (non-formula) amounts of a workbook by (table, row, column)."""
    from xltools.read.workbook import read_workbook
    from xltools.rules import derived_cells

    rep = read_workbook(path)
    derived = derived_cells(rep)
    return {(tid, k, c): v.amount for tid, td in rep.tables.items() for k, r in td.rows.items()
            for c, v in r.values.items() if v.amount is not None and (tid, k, c) not in derived and r.kind != "spare"}


def test_merge_sums_every_input_cell_by_code_and_passes_check(tmp_path, capsys):
    from xltools.cli import check_file, main
    from xltools.read.workbook import read_workbook

    books = [_build(_scaled_copy(CLEAN_UNIT, tmp_path / f"u{i}", Decimal(f), f"测试局{i}"), tmp_path / f"u{i}.xlsx")
             for i, f in enumerate(("1", "2", "0.35"))]
    books.append(_build(_other_rows_unit(tmp_path / "other"), tmp_path / "other.xlsx"))
    for b in books:
        assert [f for f in check_file(b)[0] if f.level == "error"] == [], b.name
    out = tmp_path / "部门汇总.xlsx"
    assert main(["merge", *map(str, books), "-o", str(out), "--unit", "测试厅"]) == 0
    want: dict = {}
    for b in books:
        for k, v in _inputs(b).items():
            want[k] = want.get(k, Decimal(0)) + v
    got = _inputs(out)
    assert got == want
    assert got[("F02", "2210201", "fiscal")] == Decimal("20") * Decimal("3.35")
    assert got[("F02", "2210202", "fiscal")] == Decimal("20")            # only the other unit has it
    assert got[("F02", "2080501", "fiscal")] == Decimal("10")
    findings, err = check_file(out)
    assert err is None and [f for f in findings if f.level == "error"] == []
    rep = read_workbook(out)
    assert rep.unit == "测试厅"
    # totals are formulas with cached values equal to the sum of the units' totals
    assert rep.amount("F02", "total", "fiscal") == sum(read_workbook(b).amount("F02", "total", "fiscal") for b in books)
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(out))
    assert "汇总单位" in wb.sheet_names
    listed = wb.get_sheet_by_name("汇总单位").to_python()
    assert [r[1] for r in listed[1:5]] == ["测试局0", "测试局1", "测试局2", "另一局"]
    assert [r[4] for r in listed[1:5]] == [0, 0, 0, 0]


def test_merge_names_a_failing_unit_and_refuses_mixed_sets(tmp_path, capsys):
    from xltools.build.writer import build_workbook, empty_report
    from xltools.bulk import MergeError, merge
    from xltools.cli import main

    good = _build(CLEAN_UNIT, tmp_path / "good.xlsx")
    bad_dir = _scaled_copy(CLEAN_UNIT, tmp_path / "bad", Decimal(1), "出错局")
    p = bad_dir / "F04.csv"
    p.write_text(p.read_text(encoding="utf-8").replace("120.00", "999.00"), encoding="utf-8")
    bad = _build(bad_dir, tmp_path / "bad.xlsx")
    out = tmp_path / "汇总.xlsx"
    assert main(["merge", str(good), str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "出错局" in err and "bad.xlsx" in err
    res = merge([good, bad], tmp_path / "汇总2.xlsx")
    assert [u.errors > 0 for u in res.units] == [False, True]

    other = build_workbook(empty_report("final_accounts", "shanghai", "上海某局", 2024), tmp_path / "sh.xlsx",
                           keep_original=False).path
    with pytest.raises(MergeError, match="版式"):
        merge([good, other], tmp_path / "x.xlsx")
    assert main(["merge", str(good), str(other), "-o", str(tmp_path / "y.xlsx")]) == 2
    assert "版式" in capsys.readouterr().err


def test_generate_then_merge_copies_of_a_sample(tmp_path):
    """The bureau's round trip: a workbook per unit from the list, then the department's 汇总 of them."""
    from xltools.bulk import generate_units, merge

    sample = SAMPLES / "ningxia-sbj-2022-final"
    p = tmp_path / "单位清单.csv"
    _write_list(p, [HEAD] + [[f"分局{i}", f"50{i}", "2022", str(sample)] for i in range(3)])
    assert generate_units(p, tmp_path / "units", jobs=1, progress=False) == 0
    books = sorted((tmp_path / "units").glob("*.xlsx"))
    res = merge(books, tmp_path / "汇总.xlsx", unit="自治区某厅")
    one = _inputs(books[0])
    got = _inputs(res.path)
    assert got == {k: v * 3 for k, v in one.items()}
    # the published sample has errors: every unit is named with its count, and so is the merge's own check
    assert [u.name for u in res.units] == ["分局0", "分局1", "分局2"]
    assert all(u.errors > 0 for u in res.units)


def test_merge_reads_units_in_parallel_in_order(tmp_path):
    from xltools.bulk import generate_units, merge
    from xltools.cli import check_file

    p = tmp_path / "单位清单.csv"
    _write_list(p, [HEAD] + [[f"单位{i:02d}", f"8{i:02d}", "2024", str(CLEAN_UNIT)] for i in range(9)])
    assert generate_units(p, tmp_path / "units", jobs=2, progress=False) == 0
    books = sorted((tmp_path / "units").glob("*.xlsx"))
    res = merge(books, tmp_path / "汇总.xlsx", jobs=2)
    assert [u.name for u in res.units] == [f"单位{i:02d}" for i in range(9)]
    assert [u.code for u in res.units] == [f"8{i:02d}" for i in range(9)]
    assert _inputs(res.path) == {k: v * 9 for k, v in _inputs(books[0]).items()}
    assert [f for f in check_file(res.path)[0] if f.level == "error"] == []


def test_check_a_folder_of_returned_workbooks_on_all_cores(tmp_path, capsys):
    """`xltools check 文件夹/` over many units: the same results, in the same order, with one or two processes."""
    import json

    from xltools.bulk import generate_units
    from xltools.cli import main

    p = tmp_path / "单位清单.csv"
    rows = [[f"单位{i:02d}", f"9{i:02d}", "2022", str(SAMPLES / "ningxia-sbj-2022-final")] for i in range(10)]
    rows += [[f"干净{i:02d}", f"7{i:02d}", "2024", str(CLEAN_UNIT)] for i in range(10)]
    _write_list(p, [HEAD] + rows)
    assert generate_units(p, tmp_path / "units", jobs=2, progress=False) == 0
    capsys.readouterr()
    outs = []
    for jobs in ("1", "2"):
        assert main(["check", str(tmp_path / "units"), "--json", "--jobs", jobs]) == 1
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
    files = outs[0]["files"]
    assert len(files) == 20
    errors = {Path(f["file"]).name: sum(x["level"] == "error" for x in f["findings"]) for f in files}
    assert all(n > 0 for k, n in errors.items() if k.startswith("9")) and \
        all(n == 0 for k, n in errors.items() if k.startswith("7"))
    assert (tmp_path / "units" / "校验汇总.xlsx").is_file()
