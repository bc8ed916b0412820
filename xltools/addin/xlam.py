"""Assemble the xltools Excel add-in (.xlam) — or the same content as an .xlsm.

The VBA project holds:

- ``ThisWorkbook`` and ``Sheet1`` document modules (Excel expects a code module
  behind the workbook and each sheet; ``codeName`` in the XML links them),
- every ``macros/*.bas`` / ``*.cls`` (our ribbon callbacks, ``xltools.bas``),
- ``xlwings``: the custom-add-in VBA module shipped by the *installed* xlwings
  package (``xlwings_custom_addin.bas``), with ``PROJECT_NAME`` set to ``xltools`` so
  its config is our own (sheet ``xltools.conf`` / file ``~/.xltools/xltools.conf``)
  and it acts on the *active* workbook, not on the add-in,
- ``Dictionary``: the class xlwings' VBA uses on macOS (``addin/Dictionary.cls``).

The ribbon is ``macros/ribbon.xml`` as ``customUI/customUI14.xml``. Output is
reproducible (fixed zip timestamps and order) and written atomically.

This module is only imported by the CLI (``xltools addin build``), never on the
button-click path.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Sequence
from xml.sax.saxutils import escape

from .vba import Module, build_vba_project, document_module, module_from_file, module_from_text

__all__ = [
    "build_xlam",
    "build_xlsm",
    "default_macros_dir",
    "collect_modules",
    "xlwings_modules",
    "package_parts",
    "PROJECT_NAME",
    "VBA_PROJECT_NAME",
]

#: Name of the VBA project inside the add-in (must differ from every module name).
VBA_PROJECT_NAME = "XltoolsAddin"
#: xlwings' PROJECT_NAME in our copy of its VBA: config sheet "xltools.conf", config
#: file ~/.xltools/xltools.conf (Windows) or …/Data/xltools.conf (macOS sandbox).
PROJECT_NAME = "xltools"

_CT_ADDIN = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
_CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_CT_VBA = "application/vnd.ms-office.vbaProject"
_CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
_CT_APP = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
_CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"

_R_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_R_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_R_APP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties"
_R_UI14 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
_R_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_R_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_R_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

SHEET_NAME = "说明"
SHEET_NOTE = "xltools 公开表工具加载项：功能在“公开表”选项卡中。本工作表不需要编辑。"


# --------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------


def default_macros_dir() -> Path:
    """``macros/`` of a repository checkout, else the copy a wheel installs.

    A wheel carries ``macros/`` as data files under ``<prefix>/share/xltools/macros``
    (pyproject ``[tool.setuptools.data-files]``); ``pip install --user`` puts them
    under the user base instead.
    """
    import site
    import sys

    here = Path(__file__).resolve().parent
    share = Path("share") / "xltools" / "macros"
    candidates = [
        here.parent.parent / "macros",  # repo checkout / editable install
        here / "macros",  # package data, if it is ever shipped that way
        Path(sys.prefix) / share,
        Path(site.getuserbase()) / share,
    ]
    for cand in candidates:
        if (cand / "ribbon.xml").is_file():
            return cand
    raise FileNotFoundError(
        "找不到加载项源文件目录 macros/（应含 ribbon.xml 与 *.bas）；"
        "请用 --macros 指定，或从源码仓库运行。"
    )


def xlwings_modules() -> list[Module]:
    """The VBA that ``RunPython`` needs, taken from the installed xlwings package."""
    try:
        import xlwings
    except ImportError as exc:  # pragma: no cover - xlwings is a dependency
        raise RuntimeError("构建加载项需要安装 xlwings（pip install xlwings）") from exc
    root = Path(xlwings.__file__).resolve().parent
    bas = root / "xlwings_custom_addin.bas"
    cls = root / "addin" / "Dictionary.cls"
    for p in (bas, cls):
        if not p.is_file():
            raise RuntimeError(f"已安装的 xlwings {xlwings.__version__} 中没有 {p.name}，无法构建加载项")
    text = bas.read_text(encoding="utf-8")
    marker = 'Public Const PROJECT_NAME As String = "myaddin"'
    if text.count(marker) != 1:
        raise RuntimeError(
            f"xlwings {xlwings.__version__} 的 {bas.name} 格式与预期不同（找不到 PROJECT_NAME），"
            "请检查 xltools 与 xlwings 的版本是否匹配"
        )
    text = text.replace(marker, f'Public Const PROJECT_NAME As String = "{PROJECT_NAME}"')
    return [module_from_text(text, "standard"), module_from_file(cls)]


def collect_modules(
    macros_dir: Path, extra_modules: Iterable[Module] = (), include_xlwings: bool = True
) -> list[Module]:
    """All modules of the add-in's VBA project, in project order.

    ``include_xlwings=False`` leaves out xlwings' modules: only for test workbooks
    (LibreOffice Basic cannot compile them, and then runs nothing from the project).
    """
    ours = [
        module_from_file(p)
        for p in sorted(macros_dir.iterdir())
        if p.suffix.lower() in (".bas", ".cls") and p.is_file()
    ]
    if not ours:
        raise FileNotFoundError(f"{macros_dir} 中没有 .bas/.cls 模块")
    docs = [document_module("ThisWorkbook", "workbook"), document_module("Sheet1", "worksheet")]
    xlw = xlwings_modules() if include_xlwings else []
    return docs + ours + xlw + list(extra_modules)


# --------------------------------------------------------------------------------------
# OOXML parts
# --------------------------------------------------------------------------------------


def _rels(rels: Sequence[tuple[str, str, str]]) -> str:
    body = "".join(
        f'<Relationship Id="{rid}" Type="{rtype}" Target="{target}"/>' for rid, rtype, target in rels
    )
    return (
        _XML_DECL
        + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + body
        + "</Relationships>"
    )


def _content_types(main_type: str) -> str:
    overrides = [
        ("/xl/workbook.xml", main_type),
        ("/xl/worksheets/sheet1.xml", _CT_SHEET),
        ("/xl/styles.xml", _CT_STYLES),
        ("/xl/vbaProject.bin", _CT_VBA),
        ("/docProps/core.xml", _CT_CORE),
        ("/docProps/app.xml", _CT_APP),
    ]
    return (
        _XML_DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        + f'<Default Extension="rels" ContentType="{_CT_RELS}"/>'
        + '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
        + "</Types>"
    )


def _workbook_xml(addin: bool) -> str:
    # An add-in's window is hidden; Excel does that itself for .xlam, the attribute
    # keeps the intent visible when the same XML is read elsewhere.
    view = '<workbookView visibility="hidden"/>' if addin else "<workbookView/>"
    return (
        _XML_DECL
        + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
        + '<workbookPr codeName="ThisWorkbook"/>'
        + f"<bookViews>{view}</bookViews>"
        + f'<sheets><sheet name="{escape(SHEET_NAME)}" sheetId="1" r:id="rId1"/></sheets>'
        + "</workbook>"
    )


def _sheet_xml() -> str:
    return (
        _XML_DECL
        + f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_R}">'
        + '<sheetPr codeName="Sheet1"/>'
        + '<dimension ref="A1"/>'
        + '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        + '<sheetFormatPr defaultRowHeight="15"/>'
        + '<cols><col min="1" max="1" width="90" customWidth="1"/></cols>'
        + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        + escape(SHEET_NOTE)
        + "</t></is></c></row></sheetData>"
        + "</worksheet>"
    )


_STYLES_XML = (
    _XML_DECL
    + f'<styleSheet xmlns="{_NS_MAIN}">'
    + '<fonts count="1"><font><sz val="11"/><name val="宋体"/><family val="2"/>'
    + '<charset val="134"/></font></fonts>'
    + '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    + '<fill><patternFill patternType="gray125"/></fill></fills>'
    + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    + '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    + "</styleSheet>"
)


def _core_xml() -> str:
    return (
        _XML_DECL
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        + ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        + "<dc:title>xltools 公开表工具</dc:title><dc:creator>xltools</dc:creator>"
        + "</cp:coreProperties>"
    )


def _app_xml() -> str:
    return (
        _XML_DECL
        + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        + "<Application>Microsoft Excel</Application></Properties>"
    )


def package_parts(
    addin: bool,
    macros_dir: Path | None = None,
    extra_modules: Iterable[Module] = (),
    include_xlwings: bool = True,
) -> dict[str, bytes]:
    """Every part of the package, by zip member name, in writing order."""
    mdir = Path(macros_dir) if macros_dir is not None else default_macros_dir()
    ribbon = (mdir / "ribbon.xml").read_bytes()
    modules = collect_modules(mdir, extra_modules, include_xlwings)
    vba = build_vba_project(modules, project_name=VBA_PROJECT_NAME)
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": _content_types(_CT_ADDIN if addin else _CT_XLSM),
        "_rels/.rels": _rels(
            [
                ("rId1", _R_DOC, "xl/workbook.xml"),
                ("rId2", _R_CORE, "docProps/core.xml"),
                ("rId3", _R_APP, "docProps/app.xml"),
                ("rId4", _R_UI14, "customUI/customUI14.xml"),
            ]
        ),
        "docProps/core.xml": _core_xml(),
        "docProps/app.xml": _app_xml(),
        "xl/workbook.xml": _workbook_xml(addin),
        "xl/_rels/workbook.xml.rels": _rels(
            [
                ("rId1", _R_SHEET, "worksheets/sheet1.xml"),
                ("rId2", _R_STYLES, "styles.xml"),
                ("rId3", _R_VBA, "vbaProject.bin"),
            ]
        ),
        "xl/worksheets/sheet1.xml": _sheet_xml(),
        "xl/styles.xml": _STYLES_XML,
        "xl/vbaProject.bin": vba,
        "customUI/customUI14.xml": ribbon,
    }
    return {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in parts.items()}


def _write_zip(out_path: Path, parts: dict[str, bytes]) -> Path:
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, data in parts.items():
                    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    info.create_system = 0
                    zf.writestr(info, data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return out_path


def build_xlam(out_path: Path, macros_dir: Path | None = None) -> Path:
    """Build the add-in ``out_path`` (.xlam) from ``macros_dir`` (default: ``macros/``)."""
    return _write_zip(Path(out_path), package_parts(True, macros_dir))


def build_xlsm(
    out_path: Path,
    macros_dir: Path | None = None,
    extra_modules: Iterable[Module] = (),
    *,
    include_xlwings: bool = True,
) -> Path:
    """The same content as a normal macro-enabled workbook (.xlsm), e.g. for LibreOffice."""
    parts = package_parts(False, macros_dir, extra_modules, include_xlwings)
    return _write_zip(Path(out_path), parts)
